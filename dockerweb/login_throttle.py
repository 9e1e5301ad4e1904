"""Log-in throttling with django-axes: which address a client has, and what a locked-out
client is shown.

axes counts failures per username and per client address, each on its own
(AXES_LOCKOUT_PARAMETERS in settings); this module only plugs the portal's answers into it.
"""

import ipaddress
import math
from datetime import datetime, timedelta

from axes.helpers import get_client_username, get_cool_off
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.shortcuts import render
from django.utils import timezone


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def client_address(request) -> str | None:
    """The address the login came from.

    REMOTE_ADDR unless DOCKERWEB_PROXY_COUNT says that many reverse proxies stand in front of
    the portal, each appending the address it saw to X-Forwarded-For. Then the client is the
    entry that many places from the right: that one was written by the outermost proxy, while
    anything further left came from the client itself and would let an attacker pick a fresh
    address for every guess.
    """
    remote = request.META.get("REMOTE_ADDR") or None
    count = settings.PROXY_COUNT
    if count:
        header = request.META.get("HTTP_X_FORWARDED_FOR", "")
        forwarded = [entry.strip() for entry in header.split(",") if entry.strip()]
        # Fewer entries than proxies: the request didn't come through them; keep the peer.
        if len(forwarded) >= count and _is_ip(forwarded[-count]):
            return forwarded[-count]
    return remote


def _lock_ends(rows: list[AccessAttempt], limit: int, cool_off: timedelta) -> datetime | None:
    """When failures in these rows (newest first) drop below the limit within the cool-off.

    Each row holds its latest failure time; the lock lasts until the row that brought the
    count to the limit leaves the cool-off window.
    """
    failures = 0
    for row in rows:
        failures += row.failures_since_start
        if failures >= limit:
            return row.attempt_time + cool_off
    return None


def locked_until(request, credentials) -> datetime | None:
    """The moment this client may try again, or None when only an admin can unlock it."""
    cool_off = get_cool_off(request)
    if cool_off is None:
        return None
    now = timezone.now()
    candidates = {
        "username": get_client_username(request, credentials),
        "ip_address": getattr(request, "axes_ip_address", None),
    }
    ends = []
    for field, value in candidates.items():
        if value is None:
            continue
        rows = AccessAttempt.objects.filter(
            **{field: value}, attempt_time__gte=now - cool_off
        ).order_by("-attempt_time")
        end = _lock_ends(list(rows), settings.AXES_FAILURE_LIMIT, cool_off)
        if end:
            ends.append(end)
    # Nothing recorded (e.g. reset meanwhile): say the whole cool-off rather than nothing.
    return max(ends, default=now + cool_off)


def lockout_message(until: datetime | None) -> str:
    reason = "Too many failed log-ins for this username or from this address."
    if until is None:
        return f"{reason} An administrator must unlock it (Users & roles → Access attempts)."
    local = timezone.localtime(until)
    # Rounded up to the minute, so "after 14:32" is never too early.
    if local.second or local.microsecond:
        local = local.replace(second=0, microsecond=0) + timedelta(minutes=1)
    minutes = math.ceil((until - timezone.now()).total_seconds() / 60)
    wait = "in less than a minute" if minutes <= 1 else f"in about {minutes} minutes"
    return (
        f"{reason} Try again after {local:%H:%M} {local.tzname()} ({wait}), "
        "or ask an administrator to unlock it."
    )


def lockout_response(request, *args):
    """The login page again, status 429, saying when to try again (AXES_LOCKOUT_CALLABLE).

    axes 8.3.1 calls this with (request, response, credentials) from its sync middleware and
    (request, credentials) from its async one, so the credentials are taken from the request,
    where axes put them in both cases.
    """
    credentials = getattr(request, "axes_credentials", None)
    context = {
        "form": AuthenticationForm(request),
        "lockout_message": lockout_message(locked_until(request, credentials)),
        "next": request.POST.get("next") or request.GET.get("next", ""),
    }
    return render(request, "registration/login.html", context, status=429)
