"""manage.py source_create NAME --format FORMAT [--team T] [--sender ADDR ...]"""

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from events.choices import LogFormat, SourceType
from events.services import source_create
from socapp.models import DEFAULT_TEAM, Team


class Command(BaseCommand):
    help = (
        "Create a log source and print its ingest token once (on stdout alone, for "
        "scripts). Send events with 'Authorization: Bearer <token>' to /api/v1/ingest/."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("--format", required=True, choices=LogFormat.values)
        parser.add_argument(
            "--team", default=DEFAULT_TEAM, help="owning team (default %(default)s)"
        )
        parser.add_argument(
            "--type", default=SourceType.OTHER, choices=SourceType.values, dest="source_type"
        )
        parser.add_argument(
            "--sender",
            action="append",
            default=[],
            help="syslog sender address, network (CIDR) or host name; repeatable",
        )
        parser.add_argument(
            "--timezone", default="UTC", help="zone of timestamps without an offset (default UTC)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            team = Team.objects.get(name=options["team"])
        except Team.DoesNotExist as exc:
            raise CommandError(f"no team named {options['team']!r} (run bootstrap?)") from exc
        try:
            source, token = source_create(
                name=options["name"],
                log_format=options["format"],
                team=team,
                actor=None,
                source_type=options["source_type"],
                senders=options["sender"],
                time_zone=options["timezone"],
            )
        except ValidationError as exc:
            raise CommandError(
                "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
            ) from exc
        self.stdout.write(token)
        self.stderr.write(
            f"source {source.name} ({source.format}) created for team "
            f"{team.name}; its token is not shown again."
        )
