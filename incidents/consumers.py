"""The live alert stream: ``/ws/alerts/``.

A connection joins the group of each team its user belongs to, or the all-teams group
when the user may see every team's alerts; the alert service sends to those groups
after commit. Users without a role are refused.
"""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from socapp.permissions import user_has_role

ALL_ALERTS_GROUP = "alerts.all"


def team_group(team_id: Any) -> str:
    return f"alerts.team.{team_id}"


@database_sync_to_async
def _groups_for(user: Any) -> list[str] | None:
    if not user_has_role(user) or not user.has_perm("incidents.view_alert"):
        return None
    if user.is_superuser or user.has_perm("incidents.view_all_alerts"):
        return [ALL_ALERTS_GROUP]
    return [team_group(pk) for pk in user.teams.values_list("pk", flat=True)]


class AlertStreamConsumer(AsyncJsonWebsocketConsumer):
    groups_joined: list[str]

    async def connect(self) -> None:
        user = self.scope.get("user")
        groups = await _groups_for(user) if user and user.is_authenticated else None
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

    async def alert_event(self, message: dict[str, Any]) -> None:
        await self.send_json(message["payload"])
