"""What terminal sockets share in a process: each user's count (the cap) and the logout
that ends them.

- `TERMINALS.take(user_id)` / `give_back(user_id)`: at most TERMINALS_PER_USER open at once
  per user in this process (the 5th is refused, saying so).
- Logging out ends the terminals opened from that login: each terminal socket joins
  `session_group(its session key)`, and Django's `user_logged_out` signal (connected in
  ContainersConfig.ready) tells that group. The session key is hashed: group names travel
  through the channel layer (Redis), the key itself is a credential.
"""

import hashlib
import threading
from collections import Counter

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib.auth.signals import user_logged_out
from django.dispatch import receiver

LOGOUT_MESSAGE = "terminal.logout"  # handled by TerminalConsumer.terminal_logout


class TerminalCount:
    def __init__(self):
        self._lock = threading.Lock()
        self._open: Counter = Counter()

    def take(self, user_id) -> str:
        """ "" when granted, otherwise the reason to show."""
        limit = settings.TERMINALS_PER_USER
        with self._lock:
            if self._open[user_id] >= limit:
                return (
                    f"You already have {limit} terminal{'s' if limit != 1 else ''} open, the "
                    "most one person may have. Close one of them (its tab, or its terminal), "
                    "then press Connect again."
                )
            self._open[user_id] += 1
            return ""

    def give_back(self, user_id) -> None:
        with self._lock:
            self._open[user_id] -= 1
            if self._open[user_id] <= 0:
                del self._open[user_id]

    def held(self, user_id) -> int:
        with self._lock:
            return self._open[user_id]


TERMINALS = TerminalCount()


def session_group(session_key: str) -> str:
    return "terminal-session." + hashlib.sha256(session_key.encode()).hexdigest()[:40]


@receiver(user_logged_out, dispatch_uid="containers.terminal_sessions.end_on_logout")
def end_terminals_of_the_session(sender, request, user, **kwargs):
    key = getattr(getattr(request, "session", None), "session_key", None)
    layer = get_channel_layer()
    if key and layer is not None:
        async_to_sync(layer.group_send)(session_group(key), {"type": LOGOUT_MESSAGE})
