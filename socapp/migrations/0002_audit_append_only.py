from django.db import migrations

# The audit log is append-only in the database too: UPDATE and DELETE raise, whoever
# asks. (TRUNCATE is left to database privileges: the application role should not
# hold it in production; the test suite needs it to reset tables.)
APPEND_ONLY = """
CREATE OR REPLACE FUNCTION socapp_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER socapp_auditentry_append_only BEFORE UPDATE OR DELETE ON socapp_auditentry
    FOR EACH ROW EXECUTE FUNCTION socapp_audit_append_only();
"""

REMOVE = """
DROP TRIGGER IF EXISTS socapp_auditentry_append_only ON socapp_auditentry;
DROP FUNCTION IF EXISTS socapp_audit_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("socapp", "0001_initial")]

    operations = [migrations.RunSQL(APPEND_ONLY, reverse_sql=REMOVE)]
