"""manage.py token_create USERNAME [--expires-days N] [--name NAME]"""

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from socapp.services import api_token_create


class Command(BaseCommand):
    help = (
        "Create a personal API token for USERNAME and print it once. Send it as "
        "'Authorization: Bearer <token>'. It acts with the user's permissions."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument(
            "--expires-days",
            type=int,
            default=settings.API_TOKEN_DEFAULT_EXPIRY_DAYS,
            help="days until the token expires (default %(default)s)",
        )
        parser.add_argument("--name", default="", help="what the token is for")

    def handle(self, *args: Any, **options: Any) -> None:
        User = get_user_model()
        try:
            user = User.objects.get(username=options["username"])
        except User.DoesNotExist as exc:
            raise CommandError(f"no user named {options['username']!r}") from exc
        try:
            token, plaintext = api_token_create(
                user=user, actor=None, expires_days=options["expires_days"], name=options["name"]
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        # The token alone on stdout, so scripts can capture it; the rest on stderr.
        self.stdout.write(plaintext)
        self.stderr.write(
            f"token {token.lookup_prefix}… for {user.username}, expires "
            f"{token.expires_at:%Y-%m-%d %H:%M} UTC. It is not shown again."
        )
