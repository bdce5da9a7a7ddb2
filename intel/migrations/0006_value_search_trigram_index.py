# The indicator search's trigram index (docs/INTEL.md, "Searching indicators"): icontains
# compiles to UPPER(value) LIKE UPPER('%text%'), so the index is on UPPER(value). Written
# in SQL: OpClass over an expression in Meta.indexes needs django.contrib.postgres in
# INSTALLED_APPS. pg_trgm ships with PostgreSQL and is a trusted extension (13+), so the
# database owner may create it. Built CONCURRENTLY: a million indicators take a while,
# and feeds keep importing meanwhile.

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("intel", "0005_matching_retro_hunt"),
    ]

    operations = [
        TrigramExtension(),
        migrations.RunSQL(
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS iocs_value_upper_trgm_idx"
            " ON iocs USING gin (UPPER(value) gin_trgm_ops)",
            reverse_sql="DROP INDEX CONCURRENTLY IF EXISTS iocs_value_upper_trgm_idx",
        ),
    ]
