"""The roof's own paths under /api/v1/: views that read from several apps."""

from django.urls import path

from .dashboard import DashboardView

urlpatterns = [
    path("dashboard/", DashboardView.as_view(), name="dashboard"),
]
