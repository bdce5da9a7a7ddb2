from django.urls import path

from .consumers import LiveConsumer

# Channels routes consumers with Django's path(), whose stubs know only views (and the
# channels stubs want a pattern of their own): the ignores are for that gap.
websocket_urlpatterns = [
    path("ws/live/", LiveConsumer.as_asgi()),  # type: ignore[arg-type]
    path("ws/alerts/", LiveConsumer.as_asgi()),  # type: ignore[arg-type]  # its first name
]
