"""The image reference grammar (github.com/distribution/reference), for form validation."""

import re

_DOMAIN_PART = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"(?:{_DOMAIN_PART}(?:\.{_DOMAIN_PART})*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?"
_PATH_PART = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_NAME = rf"(?:{_DOMAIN}/)?{_PATH_PART}(?:/{_PATH_PART})*"
# ASCII only: the grammar's \w is Go's, which (unlike Python's) matches no other letters.
_TAG = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"

REFERENCE_RE = re.compile(rf"^(?P<name>{_NAME})(?::(?P<tag>{_TAG}))?(?:@(?P<digest>{_DIGEST}))?$")
IMAGE_ID_RE = re.compile(r"^(?:sha256:)?[0-9a-f]{12,64}$")
NAME_MAX_LENGTH = 255


def reference_problem(value: str) -> str | None:
    """Why `value` is not an image reference or id, or None when it is one."""
    if IMAGE_ID_RE.match(value):
        return None
    if any(c.isspace() for c in value):
        return "An image reference can't contain spaces."
    match = REFERENCE_RE.match(value)
    if not match:
        if value.lower() != value and REFERENCE_RE.match(value.lower()):
            return "Repository names must be lowercase."
        return (
            "Not a valid image reference: use name, name:tag, registry:port/namespace/name:tag "
            "or name@sha256:digest."
        )
    first, _, rest = match.group("name").partition("/")
    looks_like_host = "." in first or ":" in first or first == "localhost"
    if rest and not looks_like_host and first != first.lower():
        # Without a dot or port it is a repository path, not a registry host.
        return "Repository names must be lowercase."
    if len(match.group("name")) > NAME_MAX_LENGTH:
        return f"The repository name is longer than {NAME_MAX_LENGTH} characters."
    return None
