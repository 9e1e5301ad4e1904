"""ASGI entry point: Django for HTTP, Channels consumers for websockets.

Websockets pass the Origin check (dockerweb/origins.py: only the portal's own pages, by exact
scheme + host + port, may open them), the session login and the engine in their path
(dockerweb/engine_scope.py: `/engines/<name>/ws/…`) before any consumer sees them.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dockerweb.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402 - needs Django set up first
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from dockerweb.engine_scope import EngineScopeASGI  # noqa: E402
from dockerweb.main_loop import RememberLoop  # noqa: E402
from dockerweb.origins import PortalOriginValidator  # noqa: E402
from dockerweb.routing import websocket_urlpatterns  # noqa: E402
from dockerweb.ws_closing import DropSendsToClosingSockets  # noqa: E402

application = RememberLoop(
    ProtocolTypeRouter(
        {
            "http": django_asgi_app,
            "websocket": DropSendsToClosingSockets(
                PortalOriginValidator(
                    AuthMiddlewareStack(EngineScopeASGI(URLRouter(websocket_urlpatterns)))
                )
            ),
        }
    )
)
