from django.urls import path

from .auth_views import TokenObtainView, TokenRefreshView, TokenRevokeView
from .views import AuditEntryViewSet, MeView, SavedViewViewSet, TeamViewSet, UserViewSet

routes = [
    ("teams", TeamViewSet, "team"),
    ("users", UserViewSet, "user"),
    ("audit", AuditEntryViewSet, "auditentry"),
    ("saved-views", SavedViewViewSet, "savedview"),
]

urlpatterns = [
    path("me/", MeView.as_view(), name="me"),
    # JWTs for integrations (404 unless JWT_ENABLED).
    path("auth/token/", TokenObtainView.as_view(), name="token-obtain"),
    path("auth/token/refresh/", TokenRefreshView.as_view(), name="token-refresh"),
    path("auth/token/revoke/", TokenRevokeView.as_view(), name="token-revoke"),
]
