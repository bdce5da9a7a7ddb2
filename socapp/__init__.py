"""socapp: settings, Celery app, ASGI routing and URLs (the roof), and the shared helpers
every app may use (the floor): audit log, field encryption, tokens, permission bases.
"""

from .celery import app as celery_app

__all__ = ["celery_app"]
