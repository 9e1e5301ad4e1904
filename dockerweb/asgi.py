"""ASGI entry point: Django for HTTP, Channels consumers for websockets.

Websockets pass the Origin check (AllowedHostsOriginValidator: only pages served from our
own allowed hosts may open them) and the session login before any consumer sees them.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dockerweb.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402 - needs Django set up first
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from dockerweb.main_loop import RememberLoop  # noqa: E402
from dockerweb.routing import websocket_urlpatterns  # noqa: E402

application = RememberLoop(
    ProtocolTypeRouter(
        {
            "http": django_asgi_app,
            "websocket": AllowedHostsOriginValidator(
                AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
            ),
        }
    )
)
