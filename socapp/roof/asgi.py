"""ASGI entry point: HTTP through Django, websockets through Channels."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "socapp.settings.base")
django_asgi_app = get_asgi_application()

# Imported after Django is set up: consumers import models.
from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from incidents.routing import websocket_urlpatterns as incident_ws  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        # Consumers routed by Django's path(): see incidents/routing.py for the ignore.
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter([*incident_ws]))  # type: ignore[list-item]
        ),
    }
)
