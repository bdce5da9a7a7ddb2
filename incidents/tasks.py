"""Celery tasks of the console: thin wrappers around services."""

from __future__ import annotations

from celery import shared_task

from .services import actions, notifications


@shared_task(name="incidents.tasks.run_response_action")
def run_response_action(action_id: str) -> str | None:
    action = actions.action_run(action_id)
    return None if action is None else action.status


@shared_task(name="incidents.tasks.send_notifications")
def send_notifications(topic: str, subject_key: str) -> int:
    return len(notifications.send_notifications(topic, subject_key))


@shared_task(name="incidents.tasks.resume_response_actions")
def resume_response_actions() -> int:
    return actions.actions_resume()
