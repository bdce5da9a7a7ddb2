"""manage.py token_revoke PREFIX | --user USERNAME"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from socapp.models import ApiToken
from socapp.services import api_token_revoke


class Command(BaseCommand):
    help = "Revoke personal API tokens: one by its shown prefix, or all tokens of a user."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("prefix", nargs="?", help="the token's prefix, e.g. socapp_pat_Ab12Cd")
        parser.add_argument("--user", help="revoke every token of this user")

    def handle(self, *args: Any, **options: Any) -> None:
        tokens = ApiToken.objects.filter(revoked_at__isnull=True).select_related("user")
        if options["user"]:
            tokens = tokens.filter(user__username=options["user"])
        elif options["prefix"]:
            tokens = tokens.filter(lookup_prefix=options["prefix"])
        else:
            raise CommandError("name a token prefix or --user USERNAME")
        found = list(tokens)
        if not found:
            raise CommandError("no active token matches")
        for token in found:
            api_token_revoke(token=token, actor=None)
            self.stdout.write(f"revoked {token.lookup_prefix}… of {token.user.username}")
