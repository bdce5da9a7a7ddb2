"""The URL roof: every app's pages and API under one tree.

/health, /ready and /metrics are answered by socapp.middleware.ProbeMiddleware before
URL resolution (see there for why).
"""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularSwaggerSplitView,
)

from events.api.urls import hec_urlpatterns
from events.api.urls import urlpatterns as events_api_urlpatterns
from incidents.urls import (
    alert_urlpatterns,
    asset_urlpatterns,
    entity_urlpatterns,
    incident_urlpatterns,
    intel_urlpatterns,
    report_urlpatterns,
)
from incidents.views.styles import severity_stylesheet
from intel.api.urls import urlpatterns as intel_api_urlpatterns
from socapp import account_views
from socapp.api.urls import urlpatterns as socapp_api_urlpatterns
from socapp.views import audit_log_page

from . import views
from .api.routers import build_router
from .api.urls import urlpatterns as roof_api_urlpatterns

router = build_router()

api_v1 = [
    *socapp_api_urlpatterns,
    *roof_api_urlpatterns,
    *events_api_urlpatterns,
    *intel_api_urlpatterns,
    *router.urls,
]

urlpatterns = [
    path("", views.home, name="home"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("severities.css", severity_stylesheet, name="severity-css"),
    # Pages link the icon (base.html); this answers tools and pages that ask the old way.
    path("favicon.ico", views.favicon, name="favicon"),
    path("audit/", include(([path("", audit_log_page, name="log")], "audit"))),
    path("accounts/login/", account_views.LoginView.as_view(), name="login"),
    path("accounts/login/code/", account_views.login_code, name="login_code"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/two-factor/", account_views.two_factor, name="two_factor"),
    path("accounts/preferences/", account_views.preferences, name="preferences"),
    path("accounts/two-factor/qr.svg", account_views.two_factor_qr, name="two_factor_qr"),
    # Before the admin's own: its login takes the same two steps as the console's.
    path("admin/login/", account_views.admin_login),
    path("admin/", admin.site.urls),
    path("events/", include("events.urls")),
    path("rules/", include("correlation.urls")),
    path("alerts/", include(alert_urlpatterns)),
    path("incidents/", include(incident_urlpatterns)),
    path("reports/", include(report_urlpatterns)),
    path("entities/", include(entity_urlpatterns)),
    path("assets/", include(asset_urlpatterns)),
    path("intel/", include(intel_urlpatterns)),
    path("api/v1/", include((api_v1, "api"), namespace="api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The documentation pages are for people: they send a browser to the login page.
    # Swagger UI's init script is served from ?script= rather than inline (CSP).
    path(
        "api/docs/",
        login_required(
            SpectacularSwaggerSplitView.as_view(
                url_name="schema", template_name="socapp/swagger_ui.html"
            )
        ),
        name="api-docs",
    ),
    # Redoc was here: it needs inline styles, a blob: worker and a logo from its CDN on
    # every page, so it cannot keep the CSP (docs/SECURITY.md); old links land on Swagger.
    path("api/redoc/", RedirectView.as_view(pattern_name="api-docs"), name="api-redoc"),
    # Splunk HEC-compatible intake, where existing shippers expect it.
    *hec_urlpatterns,
]

# An /api/ client gets JSON errors even from outside DRF (an unknown URL, a refused request).
handler400 = "socapp.api.exceptions.bad_request"
handler404 = "socapp.api.exceptions.not_found"
handler500 = "socapp.api.exceptions.server_error"
