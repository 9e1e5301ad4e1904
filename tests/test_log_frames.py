"""Cutting, dating and un-dating Docker log bytes read with timestamps (pure, no engine)."""

import struct

from containers.log_frames import Aligner, logged_after, parse_time, without_times

T1 = b"2026-11-29T17:08:24.000000001Z"
T2 = b"2026-11-29T17:08:24.000000002Z"
T3 = b"2026-11-29T17:08:25.5Z"  # not the engine's fixed width: still read


def frame(stream: int, payload: bytes) -> bytes:
    return struct.pack(">BxxxI", stream, len(payload)) + payload


def test_parse_time_reads_nanoseconds_and_refuses_other_text():
    assert parse_time(T1) == 1795972104_000000001
    assert parse_time(T3) == 1795972105_500000000
    assert parse_time(b"hello world") is None


def test_the_aligner_passes_on_whole_frames_only_and_notes_each_streams_last_time():
    aligner = Aligner(multiplexed=True)
    data = frame(1, T1 + b" one\n") + frame(2, T2 + b" two\n") + frame(1, T3 + b" three\n")
    cut = len(data) - 5
    assert aligner.feed(data[:cut]) == data[: len(data) - len(frame(1, T3 + b" three\n"))]
    assert aligner.last_times == {1: T1, 2: T2}
    assert aligner.feed(data[cut:]) == frame(1, T3 + b" three\n")
    assert aligner.last_times == {1: T3, 2: T2}
    # A frame cut short when the stream ends is not passed on: the next stream reads it again.
    assert aligner.feed(frame(1, T3 + b" four\n")[:10]) == b""
    assert aligner.flush() == b""


def test_the_aligner_cuts_a_tty_log_at_line_ends_and_keeps_a_last_unfinished_line():
    aligner = Aligner(multiplexed=False)
    assert aligner.feed(T1 + b" one\r\n" + T2 + b" tw") == T1 + b" one\r\n"
    assert aligner.last_times == {1: T1}
    assert aligner.feed(b"o\r\n") == T2 + b" two\r\n"
    assert aligner.feed(T3 + b" prompt> ") == b""
    assert aligner.flush() == T3 + b" prompt> "
    assert aligner.last_times == {1: T3}


def test_without_times_removes_the_engines_time_from_every_frame():
    data = frame(1, T1 + b" one\n") + frame(2, T3 + b" two\n") + frame(1, b"no-time-here\n")
    assert without_times(data, multiplexed=True) == (
        frame(1, b"one\n") + frame(2, b"two\n") + frame(1, b"no-time-here\n")
    )


def test_without_times_removes_the_time_at_the_start_of_each_tty_line_only():
    data = T1 + b" one " + T2 + b"\r\n" + T3 + b" two\r\n"
    assert without_times(data, multiplexed=False) == b"one " + T2 + b"\r\ntwo\r\n"


def test_logged_after_starts_at_the_first_message_later_than_the_seam():
    first, second, third = frame(1, T1 + b" a\n"), frame(2, T2 + b" b\n"), frame(1, T1 + b" c\n")
    seam = parse_time(T1)
    # Like the engine's `until`: from the first later one on, even an earlier one after it.
    assert logged_after(first + second + third, True, seam) == (second + third, True)
    assert logged_after(first, True, seam) == (b"", False)
    assert logged_after(frame(1, b"undated\n"), True, seam) == (frame(1, b"undated\n"), True)
    lines = T1 + b" a\n" + T2 + b" b\n"
    assert logged_after(lines, False, seam) == (T2 + b" b\n", True)
