"""socapp: settings, the Celery app and the shared helpers every app may use (the floor:
teams, audit log, field encryption, tokens, permission bases). The roof, which assembles
the apps into one site (URLs, ASGI routing, bootstrap), is the package socapp.roof.
"""

from .celery import app as celery_app

__all__ = ["celery_app"]
