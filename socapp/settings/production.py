"""Production: everything of ``base`` plus HTTPS-only cookies, HSTS and redirects.

`manage.py check --deploy --settings=socapp.settings.production` must stay clean; CI
runs it. Run behind a TLS-terminating proxy that sets X-Forwarded-Proto (and overwrites
whatever a client sent in it): docker-compose's nginx does, as does the k8s Ingress.

Every process refuses to start without the secrets production needs, with the reason:
a deployment that forgot one fails at once rather than running open.
"""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import env

DEBUG = False
if env.bool("DEBUG", default=False):
    raise ImproperlyConfigured("DEBUG must not be on with production settings")
if not env.list("FIELD_ENCRYPTION_KEYS", default=[]):
    raise ImproperlyConfigured(
        "FIELD_ENCRYPTION_KEYS must be set in production (comma-separated Fernet keys, "
        "newest first); generate one with `python manage.py generate_fernet_key`"
    )

# /metrics tells whoever reads it the sources, volumes, rule health and queue depths of
# the installation: never open in production. Prometheus sends the same token.
METRICS_TOKEN_MIN_LENGTH = 32
if len(env.str("METRICS_TOKEN", default="")) < METRICS_TOKEN_MIN_LENGTH:
    raise ImproperlyConfigured(
        f"METRICS_TOKEN must be set in production, at least {METRICS_TOKEN_MIN_LENGTH} "
        "characters: /metrics answers only `Authorization: Bearer <METRICS_TOKEN>`. "
        "Generate one with `python -c 'import secrets; print(secrets.token_urlsafe(32))'` "
        "and give Prometheus the same token (docs/OPERATIONS.md)."
    )

SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
# Probes and metrics are scraped over plain HTTP inside the cluster.
SECURE_REDIRECT_EXEMPT = [r"^health/?$", r"^ready/?$", r"^metrics/?$"]
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SERVESTATIC_USE_FINDERS = False
