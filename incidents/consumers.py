"""The live stream of the console: ``/ws/live/`` (also answered at ``/ws/alerts/``).

A connection joins, for each kind of thing its user may see:
- alerts: the group of each of the user's teams, or the all-teams group for users who
  may see every team's alerts;
- incidents: the same, by ``view_incident`` / ``view_all_incidents``;
- its own user group, which carries notifications ("INC-2026-0042 was assigned to you")
  and the changes of incidents shared with the user one by one (guardian grants).

A change goes to every group that should hear it, so a connection may be in several of
them (an assignee in the incident's team); it passes each change on once.

Messages are nudges (ids and a kind); pages fetch what changed over HTTP, through the
same selectors as every other read, so a push can never show what a fetch would not.
Users without a role are refused (close code 4403), as are admins whose session has not
passed the second factor OTP_REQUIRED_FOR_ADMINS asks of them; a signed-in user's refusal
is audited (``access.denied``, bounded like a 403's).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django_otp import DEVICE_ID_SESSION_KEY

from socapp.audit_access import audit_websocket_refusal
from socapp.permissions import user_has_role
from socapp.realtime import first_copy
from socapp.second_factor import second_factor_required
from socapp.users import RequestUser

ALL_ALERTS_GROUP = "alerts.all"
ALL_INCIDENTS_GROUP = "incidents.all"


def team_group(team_id: Any) -> str:
    return f"alerts.team.{team_id}"


def incident_team_group(team_id: Any) -> str:
    return f"incidents.team.{team_id}"


def user_group(user_id: Any) -> str:
    return f"user.{user_id}"


@database_sync_to_async
def _groups_for(
    user: RequestUser, session: Any = None, scope: Mapping[str, Any] | None = None
) -> list[str] | None:
    """The groups ``user`` joins, or None (audited as a refusal) when refused."""
    if not user_has_role(user):
        audit_websocket_refusal(scope or {}, user, "the user has no role")
        return None
    if second_factor_required(user) and not (session or {}).get(DEVICE_ID_SESSION_KEY):
        # an admin who must have a second factor and has not used one
        audit_websocket_refusal(scope or {}, user, "a second factor is required")
        return None
    teams = list(user.teams.values_list("pk", flat=True))
    groups = [user_group(user.pk)]
    if user.has_perm("incidents.view_alert"):
        if user.is_superuser or user.has_perm("incidents.view_all_alerts"):
            groups.append(ALL_ALERTS_GROUP)
        else:
            groups += [team_group(pk) for pk in teams]
    if user.has_perm("incidents.view_incident"):
        if user.is_superuser or user.has_perm("incidents.view_all_incidents"):
            groups.append(ALL_INCIDENTS_GROUP)
        else:
            groups += [incident_team_group(pk) for pk in teams]
    return groups


class LiveConsumer(AsyncJsonWebsocketConsumer):
    groups_joined: list[str]

    async def connect(self) -> None:
        # Channels' AuthMiddleware puts a lazy stand-in for the User or AnonymousUser here.
        user = cast(RequestUser | None, self.scope.get("user"))
        session = self.scope.get("session")
        groups = None
        if user and user.is_authenticated:
            groups = await _groups_for(user, session, self.scope)
        if groups is None:
            await self.close(code=4403)
            return
        self.groups_joined = groups
        for group in groups:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def _relay(self, message: dict[str, Any]) -> None:
        # A message sent to the team and to the assignee reaches an assignee in the team
        # twice; the page hears it once (socapp/realtime.py).
        if first_copy(message, self.groups_joined):
            await self.send_json(message["payload"])

    async def alert_event(self, message: dict[str, Any]) -> None:
        await self._relay(message)

    async def incident_event(self, message: dict[str, Any]) -> None:
        await self._relay(message)

    async def notification(self, message: dict[str, Any]) -> None:
        await self._relay(message)
