from django.urls import path

from .dashboard import DashboardView
from .views import AuditEntryViewSet, MeView, TeamViewSet, UserViewSet

routes = [
    ("teams", TeamViewSet, "team"),
    ("users", UserViewSet, "user"),
    ("audit", AuditEntryViewSet, "auditentry"),
]

urlpatterns = [
    path("me/", MeView.as_view(), name="me"),
    path("dashboard/", DashboardView.as_view(), name="dashboard"),
]
