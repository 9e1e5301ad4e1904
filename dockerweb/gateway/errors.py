"""The small family of errors the gateway raises instead of docker-py/requests errors.

Every error keeps the engine's own explanation as its message, so views can show it as is.
"""


class GatewayError(Exception):
    """Base class: the engine refused or failed a request."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class EngineUnavailable(GatewayError):
    """The engine could not be reached (socket missing, refused, timed out)."""

    def __init__(self, address: str, reason: str):
        super().__init__(f"Docker engine at {address} is unavailable: {reason}")
        self.address = address
        self.reason = reason


class NotFound(GatewayError):
    """The container, image, volume… does not exist (HTTP 404)."""


class Conflict(GatewayError):
    """The request clashes with the engine's state: name in use, container running (HTTP 409)."""


class InvalidRequest(GatewayError):
    """The engine rejected the parameters (HTTP 400)."""


class EngineError(GatewayError):
    """Anything else the engine reported (HTTP 500 and friends): port taken, driver failure."""
