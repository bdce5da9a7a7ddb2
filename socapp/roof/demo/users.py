"""The demo's logins: an admin, an analyst and an incident manager, with random passwords
kept in var/ (mode 600) so that every later run prints the same, still valid, ones."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from socapp import roles
from socapp.models import DEFAULT_TEAM, Team

User = get_user_model()

# username, role, superuser
DEMO_USERS = (
    ("admin", roles.SOC_ADMIN, True),
    ("analyst", roles.ANALYST, False),
    ("manager", roles.INCIDENT_MANAGER, False),
)


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    role: str


def credentials_path() -> Path:
    return Path(settings.BASE_DIR) / "var" / "demo-credentials.json"


def _load_credentials(path: Path) -> dict[str, str]:
    try:
        loaded = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _save_credentials(path: Path, creds: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(creds, indent=2))
    tmp.chmod(0o600)
    tmp.replace(path)


def ensure_demo_users(path: Path | None = None) -> list[DemoLogin]:
    """The demo users, members of the default team, each with their role."""
    path = path or credentials_path()
    creds = _load_credentials(path)
    team = Team.objects.get(name=DEFAULT_TEAM)
    logins = []
    for username, role, superuser in DEMO_USERS:
        password = creds.get(username) or secrets.token_urlsafe(12)
        creds[username] = password
        user, _ = User.objects.get_or_create(username=username)
        user.is_staff = superuser
        user.is_superuser = superuser
        user.is_active = True
        if not user.check_password(password):
            user.set_password(password)
        user.save()
        user.groups.add(Group.objects.get(name=role))
        team.members.add(user)
        logins.append(DemoLogin(username, password, role))
    _save_credentials(path, creds)
    return logins
