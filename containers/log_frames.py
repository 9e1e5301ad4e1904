"""Docker log bytes read with timestamps: cut at whole lines, dated, and shown without them.

The shared log stream (log_fanout.py) asks the engine for timestamps on every line, whatever
its followers asked for: the times are what lets each follower join it exactly where its own
tail read ended. Without a TTY the engine sends one frame per log message, `[stream, 0, 0, 0,
size (4 bytes, big-endian)]` + `<time> <text>`; with a TTY it sends `<time> <text>` lines
as one raw stream. `<time>` is RFC 3339 in UTC with nanoseconds, e.g.
`2026-11-29T17:08:24.964806070Z`.

Everything here walks the bytes once per frame (or finds lines with C-speed searches): the
shared stream pays it once per container, however many follow it.
"""

import calendar
import re
import struct

STDOUT = 1
_HEADER = 8
_SIZE = struct.Struct(">I").unpack_from
_FRAME = struct.Struct(">BxxxI")  # stream, three zero bytes, payload size
_FIXED_TIME = len(b"2026-11-29T17:08:24.964806070Z")
_SPACE = ord(" ")
_TIME_WIDTH = 40  # room enough for the engine's time and the space after it
# A TTY log's bytes after its last newline are held back until the line ends, unless longer.
MAX_PENDING_LINE = 64 * 1024
_TIME = re.compile(rb"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?Z")
_LINE_TIME = re.compile(rb"(?m)^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?Z ")


def parse_time(raw: bytes) -> int | None:
    """The engine's RFC 3339 time (UTC) → nanoseconds since the epoch; None if it is not one."""
    found = _TIME.match(raw)
    if not found:
        return None
    year, month, day, hour, minute, second = (int(part) for part in found.groups()[:6])
    seconds = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))
    fraction = found.group(7) or b""
    return seconds * 1_000_000_000 + int(fraction.ljust(9, b"0") or b"0")


class Aligner:
    """Cuts pieces of a timestamped log stream at message boundaries, noting the newest times.

    Followers skip or join the shared stream only at the boundaries this leaves between
    chunks, so each chunk must hold whole frames (whole lines with a TTY). `last_times` keeps,
    per output stream, the time of its last message: within one stream the engine's times
    only grow (stdout's and stderr's may interleave out of order), so the newest time seen
    overall is the largest of these.
    """

    def __init__(self, multiplexed: bool):
        self.multiplexed = multiplexed
        self.pending = b""
        self.last_times: dict[int, bytes] = {}

    def feed(self, piece: bytes) -> bytes:
        """What of `pending + piece` ends at a boundary; the rest waits for the next piece."""
        data = self.pending + piece if self.pending else piece
        cut = self._frames_end(data) if self.multiplexed else self._lines_end(data)
        self.pending = data[cut:]
        return data[:cut]

    def flush(self) -> bytes:
        """At the end of the stream: a TTY's last line without a newline is still a line; a
        frame cut short (the engine went away mid-frame) is dropped, and read again whole by
        the next stream, which starts after the last whole one."""
        rest, self.pending = self.pending, b""
        if self.multiplexed or not rest:
            return b""
        self.last_times[STDOUT] = rest[:_TIME_WIDTH].split(b" ", 1)[0]
        return rest

    def _frames_end(self, data: bytes) -> int:
        pos, size, last = 0, len(data), {}
        while size - pos >= _HEADER:
            end = pos + _HEADER + _SIZE(data, pos + 4)[0]
            if end > size:
                break
            last[data[pos]] = pos
            pos = end
        for stream, start in last.items():
            self.last_times[stream] = data[start + _HEADER : start + _HEADER + _TIME_WIDTH].split(
                b" ", 1
            )[0]
        return pos

    def _lines_end(self, data: bytes) -> int:
        cut = data.rfind(b"\n") + 1
        if not cut:
            return len(data) if len(data) > MAX_PENDING_LINE else 0
        start = data.rfind(b"\n", 0, cut - 1) + 1
        self.last_times[STDOUT] = data[start : start + _TIME_WIDTH].split(b" ", 1)[0]
        return cut


def without_times(data: bytes, multiplexed: bool) -> bytes:
    """The same messages without the engine's time in front of each."""
    if not multiplexed:
        return _LINE_TIME.sub(b"", data)
    out, pos, size = bytearray(), 0, len(data)
    while size - pos >= _HEADER:
        stream, length = _FRAME.unpack_from(data, pos)
        end = pos + _HEADER + length
        if length > _FIXED_TIME and data[pos + _HEADER + _FIXED_TIME] == _SPACE:
            # The engine's usual fixed-width time (nanoseconds): no search needed.
            out += _FRAME.pack(stream, length - _FIXED_TIME - 1)
            out += data[pos + _HEADER + _FIXED_TIME + 1 : end]
        else:
            space = data.find(b" ", pos + _HEADER, min(end, pos + _HEADER + _TIME_WIDTH))
            if space < 0:  # no time in front (not the engine's format): leave it whole
                out += data[pos:end]
            else:
                out += _FRAME.pack(stream, end - space - 1)
                out += data[space + 1 : end]
        pos = end
    return bytes(out)


def logged_after(data: bytes, multiplexed: bool, seam: int) -> tuple[bytes, bool]:
    """`data` from its first message logged after `seam` (ns) on; whether there was one.

    The engine ends a read with `until` at its first message logged later, so a follower
    whose tail was read with `until=seam` continues exactly at the message this finds.
    A message whose time can't be read counts as later: shown, never lost.
    """
    pos, size = 0, len(data)
    while pos < size:
        if multiplexed:
            if size - pos < _HEADER:
                break
            end = pos + _HEADER + _SIZE(data, pos + 4)[0]
            start = pos + _HEADER
        else:
            newline = data.find(b"\n", pos)
            end = size if newline < 0 else newline + 1
            start = pos
        logged = parse_time(data[start : start + _TIME_WIDTH])
        if logged is None or logged > seam:
            return data[pos:], True
        pos = end
    return b"", False
