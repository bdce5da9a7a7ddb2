"""Suppression moved to the correlation app (issue 12): each correlation now carries the
key its rule groups alerts by and when its alert was raised, which the engine's
suppression query reads instead of alerts. Filled here from the alerts (this app sits
above correlation, so the migration that reads both lives here)."""

from django.db import migrations

FILL = """
UPDATE correlations AS c
   SET group_key = a.group_key, raised_at = a.triggered_at
  FROM alerts AS a
 WHERE a.correlation_id = c.id
"""


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0006_alert_time_indexes"),
        ("correlation", "0004_suppression_key_on_correlations"),
    ]

    operations = [migrations.RunSQL(FILL, reverse_sql=migrations.RunSQL.noop)]
