from django.db import migrations, models

# Entries written before this migration carry MAC format 1 (no user agent, no result:
# they are "allowed" changes); new ones get format 2 (socapp/audit_canonical.py).
# Adding a column with a constant default rewrites no row, so the append-only trigger
# is not in the way.

# TRUNCATE skips row triggers: a statement trigger refuses it, on the log and on its
# anchors, whoever asks. (Only a superuser can step around it, with
# session_replication_role = replica; the test suite's flush does exactly that.)
GUARDS = """
CREATE TRIGGER socapp_auditentry_no_truncate BEFORE TRUNCATE ON socapp_auditentry
    FOR EACH STATEMENT EXECUTE FUNCTION socapp_audit_append_only();
CREATE TRIGGER socapp_auditanchor_append_only BEFORE UPDATE OR DELETE ON socapp_auditanchor
    FOR EACH ROW EXECUTE FUNCTION socapp_audit_append_only();
CREATE TRIGGER socapp_auditanchor_no_truncate BEFORE TRUNCATE ON socapp_auditanchor
    FOR EACH STATEMENT EXECUTE FUNCTION socapp_audit_append_only();
"""

REMOVE_GUARDS = """
DROP TRIGGER IF EXISTS socapp_auditanchor_no_truncate ON socapp_auditanchor;
DROP TRIGGER IF EXISTS socapp_auditanchor_append_only ON socapp_auditanchor;
DROP TRIGGER IF EXISTS socapp_auditentry_no_truncate ON socapp_auditentry;
"""


class Migration(migrations.Migration):
    dependencies = [("socapp", "0004_auditentry_actor_name_index")]

    operations = [
        migrations.CreateModel(
            name="AuditAnchor",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("at", models.DateTimeField(db_index=True)),
                ("head_seq", models.BigIntegerField()),
                ("head_mac", models.CharField(max_length=64)),
                ("entry_count", models.BigIntegerField()),
                ("signature", models.CharField(max_length=64)),
            ],
            options={"verbose_name": "audit anchor", "ordering": ["-at"]},
        ),
        migrations.AddField(
            model_name="auditentry",
            name="mac_version",
            field=models.PositiveSmallIntegerField(default=1),
        ),
        migrations.AlterField(
            model_name="auditentry",
            name="mac_version",
            field=models.PositiveSmallIntegerField(default=2),
        ),
        migrations.AddField(
            model_name="auditentry",
            name="result",
            field=models.CharField(
                choices=[("allowed", "allowed"), ("denied", "denied"), ("failed", "failed")],
                db_index=True,
                default="allowed",
                max_length=10,
            ),
        ),
        migrations.AddField(
            model_name="auditentry",
            name="user_agent",
            field=models.CharField(blank=True, max_length=512),
        ),
        migrations.RunSQL(GUARDS, reverse_sql=REMOVE_GUARDS),
    ]
