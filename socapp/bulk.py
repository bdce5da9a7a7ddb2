"""Writing many new rows at once with PostgreSQL's ``COPY``.

``bulk_create`` builds one ``INSERT`` with a placeholder per value and, with Django's
client-side binding, quotes every value in Python: for an alert storm's thousands of alerts,
correlations and audit entries that was over half of the engine's time (issue 13). ``COPY``
streams the rows in psycopg's C dumpers instead. It takes instances whose primary keys are
already set (no ``RETURNING``) and does not skip conflicts: callers know their rows are new.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from django.db import connection, models
from django.utils import timezone

__all__ = ["copy_insert"]


def copy_insert(instances: Sequence[models.Model]) -> None:
    """Insert ``instances`` (all of one model, primary keys set) with one ``COPY``; they
    are saved instances afterwards, as after ``bulk_create``."""
    if not instances:
        return
    meta = type(instances[0])._meta
    fields = [f for f in meta.concrete_fields if not getattr(f, "generated", False)]
    assert all(obj.pk is not None for obj in instances), "copy_insert needs primary keys"
    columns = ", ".join(connection.ops.quote_name(_column(f)) for f in fields)
    statement = f"COPY {connection.ops.quote_name(meta.db_table)} ({columns}) FROM STDIN"
    readers = [_reader(field) for field in fields]
    started = time.monotonic()
    with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        for obj in instances:
            copy.write_row([read(obj) for read in readers])
    for obj in instances:
        obj._state.adding = False
        obj._state.db = connection.alias
    if connection.queries_logged:  # tests and the debug toolbar see it like any statement
        connection.queries_log.append(
            {
                "sql": f"{statement} -- {len(instances)} rows",
                "time": f"{time.monotonic() - started:.3f}",
            }
        )


def _column(field: models.Field) -> str:
    column = field.column
    assert column is not None  # a concrete field always has one
    return column


def _reader(field: models.Field) -> Callable[[models.Model], Any]:
    """How to read ``field``'s database value from an instance: the attribute itself
    except where Django transforms it on save (JSON documents, automatic timestamps)."""
    name = field.attname
    if isinstance(field, models.DateTimeField) and (field.auto_now or field.auto_now_add):

        def stamped(obj: models.Model) -> Any:
            value = timezone.now()  # what pre_save sets when adding, as bulk_create does
            setattr(obj, name, value)
            return value

        return stamped
    if isinstance(field, models.JSONField):
        return lambda obj: field.get_db_prep_save(getattr(obj, name), connection)
    return lambda obj: getattr(obj, name)
