from django.urls import path

from .views import MeView, TeamViewSet, UserViewSet

routes = [
    ("teams", TeamViewSet, "team"),
    ("users", UserViewSet, "user"),
]

urlpatterns = [
    path("me/", MeView.as_view(), name="me"),
]
