"""The Celery application. Tasks take ids (JSON), call a service and are idempotent."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "socapp.settings.base")

app = Celery("socapp")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
