"""manage.py backtest RULE --since T --until T [--json]"""

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from correlation.selectors import rule_by_reference
from correlation.services import BacktestError, parse_moment, rule_backtest


class Command(BaseCommand):
    help = (
        "Run a rule over stored events and show what it would have raised (counts, first "
        "matches, which alerts the live engine already raised) without raising anything. "
        "RULE: the rule's Sigma id, id or Sigma name. T: ISO 8601, or relative (7d, 24h, 30m)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("rule", metavar="RULE")
        parser.add_argument("--since", required=True, metavar="T")
        parser.add_argument("--until", default="0s", metavar="T", help="default: now")
        parser.add_argument("--json", action="store_true", help="print the result as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        rule = rule_by_reference(options["rule"])
        if rule is None:
            raise CommandError(f"no rule {options['rule']!r} (give its Sigma id, id or name)")
        try:
            result = rule_backtest(
                actor=None,
                rule=rule,
                since=parse_moment(options["since"]),
                until=parse_moment(options["until"]),
            )
        except BacktestError as exc:
            raise CommandError(str(exc)) from None
        if options["json"]:
            self.stdout.write(json.dumps(result.as_dict(), indent=2))
            return
        self.stdout.write(f"Backtest of {result.title!r} ({result.sigma_id or result.rule_id})")
        self.stdout.write(f"  from {result.since} to {result.until}")
        self.stdout.write(
            f"  events read {result.events_read} of {result.events_in_range} in range; "
            f"hits: {', '.join(f'{k} {v}' for k, v in result.hits.items()) or 'none'}"
        )
        self.stdout.write(
            f"  would raise {result.alerts_total} alerts: {result.alerts_existing} already "
            f"raised by the live engine, {result.alerts_new} new"
        )
        for alert in result.first_matches:
            state = "existing" if alert.existing else "new"
            self.stdout.write(
                f"  {alert.triggered_at}  {alert.id}  {alert.severity:<8} count {alert.count:<5}"
                f" {state:<8} {alert.group_key}"
            )
