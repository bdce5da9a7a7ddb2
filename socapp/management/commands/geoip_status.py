"""manage.py geoip_status [ADDRESS ...]: is geolocation on, from which files; and what it
says of the addresses given. Exits 1 when a configured database cannot be read."""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from socapp.geoip import geoip, is_public


class Command(BaseCommand):
    help = "Say whether geolocation is on (GEOIP_DATABASE) and look up addresses."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("addresses", nargs="*", help="addresses to look up")

    def handle(self, *args: Any, **options: Any) -> None:
        healthy, said = geoip.status()
        for setting in ("GEOIP_DATABASE", "GEOIP_ASN_DATABASE"):
            if getattr(settings, setting):
                self.stdout.write(f"{setting}={getattr(settings, setting)}")
        self.stdout.write(said)
        for address in options["addresses"][:100]:
            place = geoip.lookup(address)
            if place is not None:
                found = {"geo": place.geo(), "as": place.autonomous_system()}
                self.stdout.write(f"{address}: {found}")
            else:
                why = "not in the database" if is_public(address) else "not a public address"
                self.stdout.write(f"{address}: {why if geoip.on else 'geolocation is off'}")
        if not healthy:
            raise CommandError("a geolocation database cannot be read")
