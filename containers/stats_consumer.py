"""Live stats of one container over a websocket (send-only: it takes no commands).

Wire format, text frames of JSON:
  {"type": "history", "samples": [sample, ...]}  first: the last five minutes kept
  {"type": "sample", "t": s, "cpu": %, "mem": B, "mem_limit": B, "net_rx": B/s,
   "net_tx": B/s, "blk_read": B/s, "blk_write": B/s, "pids": n}   about one a second
  {"type": "state", "state": "running" | "stopped" | "removed" | "engine-down" |
   "too-many-streams", "reason": str}
Numbers the engine can't give yet (CPU % and rates of a stream's first sample) are null.

Every socket on one container shares one engine stream (containers/stats_fanout.py).
Permission, slot, the container's and the engine's groups (so that a container started
again, or an engine back, is streamed again), an engine down at the start: as every socket
following a container (containers/container_socket.py).
"""

import contextlib

from . import stats_fanout
from .container_socket import ContainerStreamConsumer


class ContainerStatsConsumer(ContainerStreamConsumer):
    task_name = "stats"

    def follow(self, container) -> stats_fanout.Viewer:
        return stats_fanout.watch(container.id)

    async def relay(self):
        async with contextlib.aclosing(self.follower.messages()) as messages:
            async for text in messages:
                await self.send(text_data=text)
