from django.apps import AppConfig


class DbFlushConfig(AppConfig):
    """Test-only: ``flush`` (how transactional tests reset the database) as a superuser
    who steps around the audit log's TRUNCATE guard. See the command's doc."""

    name = "tests.dbflush"
    label = "tests_dbflush"
