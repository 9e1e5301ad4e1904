"""What the Terminal tab asks for, read from the socket's `open` message (pure, fuzzable).

`{"open": {"command": "", "user": ""}, "size": [cols, rows]}`:
- command: "" (automatic: bash if the container has it, else sh) or a command line, split as
  a POSIX shell would (`bash -l`, `/bin/ash`, `python3 -i`);
- user: "" (the container's own), or a name or id, optionally `:group` (as `docker exec -u`);
- size: the terminal's columns and rows, when the page knows them.
"""

import re
import shlex
from dataclasses import dataclass

MAX_COMMAND = 1000
_USER_PART = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}"
_USER = re.compile(rf"{_USER_PART}(?::{_USER_PART})?")
MAX_COLS, MAX_ROWS = 1000, 500


class BadRequest(ValueError):
    """The message can't be read; the text says why, for the page."""


@dataclass(frozen=True)
class TerminalRequest:
    command: tuple[str, ...]  # () = automatic
    user: str
    size: tuple[int, int] | None  # (cols, rows)


def parse_size(value) -> tuple[int, int] | None:
    """[cols, rows] → (cols, rows) within bounds; None when it isn't one."""
    if not isinstance(value, list | tuple) or len(value) != 2:
        return None
    cols, rows = value
    if not all(type(n) is int for n in (cols, rows)):
        return None
    if not (1 <= cols <= MAX_COLS and 1 <= rows <= MAX_ROWS):
        return None
    return cols, rows


def parse_open(message) -> TerminalRequest:
    """The request in a decoded `open` message. Raises BadRequest."""
    if not isinstance(message, dict) or not isinstance(message.get("open"), dict):
        raise BadRequest("The page sent no terminal request.")
    asked = message["open"]
    command_text = asked.get("command", "")
    user = asked.get("user", "")
    if not isinstance(command_text, str) or not isinstance(user, str):
        raise BadRequest("The shell and the user must be text.")
    command_text, user = command_text.strip(), user.strip()
    if len(command_text) > MAX_COMMAND:
        raise BadRequest(f"The command is longer than {MAX_COMMAND} characters.")
    if "\x00" in command_text:
        raise BadRequest("The command can't hold a NUL character.")
    try:
        command = tuple(shlex.split(command_text)) if command_text else ()
    except ValueError as exc:
        raise BadRequest(f"The command can't be read: {exc}.") from None
    if user and not _USER.fullmatch(user):
        raise BadRequest(
            "The user must be a name or number, optionally with :group (as docker exec -u)."
        )
    return TerminalRequest(command=command, user=user, size=parse_size(message.get("size")))
