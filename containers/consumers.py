"""Live logs of one container over a websocket.

Wire format — binary frames carry the engine's log bytes (with Docker's 8-byte stream
headers when the container has no TTY; the browser splits them), text frames carry JSON
control messages:
  {"type": "stream", "multiplexed": bool, "timestamps": bool, "tail": int, "capped": bool}
      before the tail and whenever the log goes on after a stop or an engine outage;
      `capped`: more lines were asked for than a tab keeps
  {"type": "state", "state": "stopped" | "removed" | "engine-down" | "too-many-streams",
   "reason": str}
  {"type": "skipped", "bytes": int}
      this socket fell too far behind the others following the same container: that many
      bytes of log were not sent here, the binary frames go on after them
A socket first gets its own tail (the last `tail` lines, read for it alone), then the live
bytes of the one engine stream all sockets following that container share
(containers/log_fanout.py: how the two meet without a line twice or missing, and what a slow
socket loses). Bytes are forwarded as the engine sent them (their times cut off when the
socket did not ask for timestamps), so a container printing thousands of lines a second
can't make a socket fall behind the engine. What a user's log sockets send together is
bounded by their byte budget (dockerweb/stream_limits.py): past it a socket waits; alone on
its container, its engine stream waits with it.

Permission, slot, the container's and the engine's groups, an engine down at the start:
as every socket following a container (containers/container_socket.py).
"""

import asyncio
import contextlib
import re
from urllib.parse import parse_qs

from django.conf import settings

from . import log_fanout
from .container_socket import ContainerStreamConsumer

# At most ~40 frames a second: bytes that arrive meanwhile go out together in the next one.
FRAME_INTERVAL = 0.025
_DIGITS = re.compile(r"[0-9]{1,9}")
_MANY_DIGITS = re.compile(r"[0-9]{10,}")  # more than any bound; int() refuses 4,300 digits


def parse_tail(value: str | None) -> tuple[int, bool]:
    """`tail` query value → (lines to ask the engine for, whether more were asked for).

    A tab keeps at most LOG_LINES_KEPT lines: more would be read from the engine, sent and
    thrown away in the browser, so `all` and bigger numbers are cut to that bound (the
    Download link serves the whole log).
    """
    bound = settings.LOG_LINES_KEPT
    if value == "all" or (value and _MANY_DIGITS.fullmatch(value)):
        return bound, True
    asked = int(value) if value and _DIGITS.fullmatch(value) else settings.LOG_TAIL_DEFAULT
    return min(asked, bound), asked > bound


class ContainerLogsConsumer(ContainerStreamConsumer):
    task_name = "logs"

    async def connect(self):
        query = parse_qs(self.scope.get("query_string", b"").decode())
        self.tail, self.tail_capped = parse_tail(query.get("tail", [None])[0])
        self.timestamps = query.get("timestamps", ["0"])[0] == "1"
        await super().connect()

    def follow(self, container) -> log_fanout.Follower:
        return log_fanout.follow(
            container, tail=self.tail, timestamps=self.timestamps, capped=self.tail_capped
        )

    async def relay(self):
        async with contextlib.aclosing(self.follower.items()) as items:
            async for item in items:
                if isinstance(item, dict):
                    await self.send_json(item)
                    continue
                await self.send(bytes_data=item)
                # The user's streams share a byte budget: past it, this one waits its turn.
                wait = self.stream_budget.charge(len(item))
                await asyncio.sleep(max(FRAME_INTERVAL, wait))
