"""Reading a Dockerfile the way the classic builder does, to judge what a build would fetch.

Only what matters for that: instructions with their arguments (comments, blank lines and
line continuations handled, the `# escape=` directive honoured), the sources of ADD/COPY,
the images FROM and `COPY --from` name, with build arguments substituted where they can be.
"""

import json
import re
import shlex
from dataclasses import dataclass

_DIRECTIVE_RE = re.compile(r"^#\s*([A-Za-z]+)\s*=\s*(.*?)\s*$")
_VARIABLE_RE = re.compile(
    r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?:[:][-+][^}]*)?\}|([A-Za-z_][A-Za-z0-9_]*))"
)


@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper case: FROM, ADD, ONBUILD…
    arguments: str
    line: int  # where it starts, from 1


def instructions(text: str) -> list[Instruction]:
    """The instructions of a Dockerfile, continuation lines joined."""
    lines = text.replace("\r\n", "\n").split("\n")
    escape = "\\"
    start = 0
    # Parser directives: `# name=value` lines at the very top, before anything else.
    for start, raw in enumerate(lines):  # noqa: B007 - `start` is used after the loop
        match = _DIRECTIVE_RE.match(raw.strip())
        if not match:
            break
        if match.group(1).lower() == "escape" and match.group(2) in ("\\", "`"):
            escape = match.group(2)
    found: list[Instruction] = []
    pending: list[str] = []
    first_line = 0
    for number, raw in enumerate(lines[start:], start=start + 1):
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue  # comment lines inside a continued instruction are dropped
        if not pending:
            first_line = number
        body = raw.rstrip()
        if body.endswith(escape):
            pending.append(body[: -len(escape)])
            continue
        pending.append(body)
        found.append(_instruction(" ".join(part.strip() for part in pending), first_line))
        pending = []
    if pending:
        found.append(_instruction(" ".join(part.strip() for part in pending), first_line))
    return found


def _instruction(text: str, line: int) -> Instruction:
    keyword, _, arguments = text.strip().partition(" ")
    return Instruction(keyword.upper(), arguments.strip(), line)


def split_arguments(arguments: str) -> tuple[dict[str, str], list[str]]:
    """(`--flag=value` options, the other words) of an ADD/COPY/FROM, JSON or shell form."""
    flags: dict[str, str] = {}
    words = arguments.split()
    while words and words[0].startswith("--"):
        name, _, value = words.pop(0)[2:].partition("=")
        flags[name.lower()] = value
    rest = " ".join(words)
    if rest.startswith("["):
        try:
            parsed = json.loads(rest)
        except ValueError:
            parsed = None
        if isinstance(parsed, list) and all(isinstance(p, str) for p in parsed):
            return flags, parsed
    try:
        return flags, shlex.split(rest, posix=False)
    except ValueError:
        return flags, rest.split()


def substitute(value: str, variables: dict[str, str]) -> str | None:
    """`value` with $VAR / ${VAR} replaced from `variables`; None when one is unknown."""
    missing = False

    def replace(match: re.Match) -> str:
        nonlocal missing
        name = match.group(1) or match.group(2)
        if name not in variables:
            missing = True
            return ""
        return variables[name]

    result = _VARIABLE_RE.sub(replace, value)
    return None if missing or "$" in result else result
