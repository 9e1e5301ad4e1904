"""The live model of one engine: the informer pattern of Kubernetes clients.

One listing of containers, images, volumes and networks at start and after every reconnect,
then the engine's events applied in order, one targeted call per changed object
(`sync.py`). Pages and sockets read the model (`store.py`, `queries.py`), so a page view
costs no engine listing however many people look; changes are published to the groups
of the objects they concern (`publisher.py`).
"""

from .queries import ContainerQuery, Page
from .store import Change, LiveModel

__all__ = ["Change", "ContainerQuery", "LiveModel", "Page"]
