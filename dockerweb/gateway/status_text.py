"""The engine's container status text ("Up 3 minutes (healthy)", "Exited (0) 2 hours ago"),
read back into a start time, and written again for any later moment.

The listing says how long ago a state began only as text relative to when it was listed.
The live model keeps a container for hours after listing it, so it keeps when the state
began instead, and pages write the text anew with the engine's own wording (go-units'
HumanDuration) — "Up Less than a second" never lingers on a page an hour later.
"""

import re
from datetime import datetime, timedelta

_MINUTE, _HOUR, _DAY = 60, 3600, 86400

_UNITS = {
    "second": 1,
    "minute": _MINUTE,
    "hour": _HOUR,
    "day": _DAY,
    "week": 7 * _DAY,
    "month": 30 * _DAY,
    "year": 365 * _DAY,
}
_DURATION = re.compile(
    r"(?P<text>Less than a second|About a minute|About an hour|(?P<n>\d+) (?P<unit>second|minute|hour|day|week|month|year)s?)"
)
_UP = re.compile(rf"^Up {_DURATION.pattern}(?P<rest>.*)$")
_AGO = re.compile(
    rf"^(?P<head>(?:Exited|Restarting) \((?P<code>-?\d+)\)) {_DURATION.pattern} ago(?P<rest>.*)$"
)


def _seconds(match: re.Match) -> float:
    text = match["text"]
    if text == "Less than a second":
        return 0
    if text == "About a minute":
        return _MINUTE
    if text == "About an hour":
        return _HOUR
    return int(match["n"]) * _UNITS[match["unit"]]


def state_since(status: str, listed_at: datetime) -> datetime | None:
    """When the state described by `status` began, or None if the text says no duration."""
    match = _UP.match(status) or _AGO.match(status)
    if match is None:
        return None
    return listed_at - timedelta(seconds=_seconds(match))


def human_duration(seconds: float) -> str:
    """go-units HumanDuration, which the engine uses in status texts."""
    whole = int(seconds)
    if whole < 1:
        return "Less than a second"
    if whole == 1:
        return "1 second"
    if whole < _MINUTE:
        return f"{whole} seconds"
    minutes = whole // _MINUTE
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = int(seconds / _HOUR + 0.5)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{hours // 24 // 365} years"


def status_at(status: str, since: datetime | None, now: datetime) -> str:
    """The status text as the engine would write it at `now`."""
    if since is None:
        return status
    elapsed = human_duration(max(0.0, (now - since).total_seconds()))
    if match := _UP.match(status):
        return f"Up {elapsed}{match['rest']}"
    if match := _AGO.match(status):
        return f"{match['head']} {elapsed} ago{match['rest']}"
    return status
