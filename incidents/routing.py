from django.urls import path

from .consumers import LiveConsumer

websocket_urlpatterns = [
    path("ws/live/", LiveConsumer.as_asgi()),
    path("ws/alerts/", LiveConsumer.as_asgi()),  # the first name of the stream
]
