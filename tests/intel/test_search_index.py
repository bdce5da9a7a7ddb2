"""The indicator search ("value contains", case-insensitive, on the /intel/ page and the
API's ``value_contains``) is served by the trigram index on UPPER(value), not a scan of
every indicator: the queries the page and the API really send are explained on a table
of 20,000 indicators."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from intel.models import IOC
from tests.conftest import client_for
from tests.factories import ThreatIntelFactory

pytestmark = pytest.mark.django_db
INDEX = "iocs_value_upper_trgm_idx"


@pytest.fixture
def many_indicators() -> None:
    feed = ThreatIntelFactory.create()
    IOC.objects.bulk_create(
        [IOC(intel=feed, ioc_type="domain", value=f"host-{n}.example.net") for n in range(20_000)]
        + [IOC(intel=feed, ioc_type="domain", value="Evil-Needle.example.org")],
        batch_size=5000,
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE iocs")  # what autovacuum does after a feed's import


def _search_queries(run) -> list[str]:
    """The SQL of the iocs queries with a LIKE that ``run`` sends."""
    with CaptureQueriesContext(connection) as captured:
        run()
    return [q["sql"] for q in captured if '"iocs"' in q["sql"] and " LIKE " in q["sql"]]


def _plan(sql: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {sql}")
        return "\n".join(row[0] for row in cursor.fetchall())


def test_the_page_search_uses_the_trigram_index(analyst_a, many_indicators):
    browser = Client()
    browser.force_login(analyst_a)
    answers = []
    queries = _search_queries(lambda: answers.append(browser.get("/intel/?q=evil-needle")))
    assert "Evil-Needle.example.org" in answers[0].content.decode()
    assert queries
    for sql in queries:
        assert INDEX in _plan(sql), sql


def test_the_api_filter_uses_the_trigram_index(analyst_a, many_indicators):
    api = client_for(analyst_a)
    answers = []
    queries = _search_queries(
        lambda: answers.append(api.get("/api/v1/iocs/?value_contains=NEEDLE"))
    )
    assert [i["value"] for i in answers[0].json()["results"]] == ["Evil-Needle.example.org"]
    assert queries
    for sql in queries:
        assert INDEX in _plan(sql), sql
