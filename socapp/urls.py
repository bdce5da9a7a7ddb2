"""The URL roof: every app's pages and API under one tree.

/health, /ready and /metrics are answered by socapp.middleware.ProbeMiddleware before
URL resolution (see there for why).
"""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from events.api.urls import hec_urlpatterns
from events.api.urls import urlpatterns as events_api_urlpatterns
from incidents.urls import (
    alert_urlpatterns,
    entity_urlpatterns,
    incident_urlpatterns,
    report_urlpatterns,
)

from . import views
from .api.routers import build_router
from .api.urls import urlpatterns as socapp_api_urlpatterns

router = build_router()

api_v1 = [
    *socapp_api_urlpatterns,
    *events_api_urlpatterns,
    *router.urls,
]

urlpatterns = [
    path("", views.home, name="home"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("events/", include("events.urls")),
    path("rules/", include("correlation.urls")),
    path("alerts/", include(alert_urlpatterns)),
    path("incidents/", include(incident_urlpatterns)),
    path("reports/", include(report_urlpatterns)),
    path("entities/", include(entity_urlpatterns)),
    path("api/v1/", include((api_v1, "api"), namespace="api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The documentation pages are for people: they send a browser to the login page.
    path(
        "api/docs/",
        login_required(SpectacularSwaggerView.as_view(url_name="schema")),
        name="api-docs",
    ),
    path(
        "api/redoc/",
        login_required(SpectacularRedocView.as_view(url_name="schema")),
        name="api-redoc",
    ),
    # Splunk HEC-compatible intake, where existing shippers expect it.
    *hec_urlpatterns,
]

# An /api/ client gets JSON errors even from outside DRF (an unknown URL, a refused request).
handler400 = "socapp.api.exceptions.bad_request"
handler404 = "socapp.api.exceptions.not_found"
handler500 = "socapp.api.exceptions.server_error"
