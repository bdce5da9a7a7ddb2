"""The event search page as a hunter uses it beyond the result list: the hit count and
the histogram of hits over time (whose bars narrow the search to their time)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape
from typing import Any

import pytest

from events.services import events_store
from tests.factories import SourceFactory, event_record
from tests.incidents.conftest import browser_for


def _now() -> datetime:
    """This minute, read when a test stores its events (not at collection: under the whole
    suite a module is collected many minutes before its tests run)."""
    return datetime.now(tz=UTC).replace(second=0, microsecond=0)


@pytest.fixture
def hunted(reference_data, team_a, team_b):
    """Failed logins 5, 5, 20 and 50 minutes ago; one accepted login 5 minutes ago on
    team B's source; one failed login two days ago (outside the default range)."""
    ours, theirs = SourceFactory(name="fw-a", team=team_a), SourceFactory(name="fw-b", team=team_b)
    now = _now()
    ago = lambda minutes: now - timedelta(minutes=minutes, seconds=-30)  # noqa: E731 - mid-minute
    events_store(
        source=ours,
        records=[event_record(ago(m), raw_data=f"Failed password {m}") for m in (5, 5, 20, 50)]
        + [event_record(now - timedelta(days=2), raw_data="Failed password long ago")],
    )
    events_store(
        source=theirs,
        records=[
            event_record(
                ago(5),
                event_type="authentication_success",
                raw_data="Accepted password <b>x</b>",
                normalized_data={"event": {"outcome": "success"}},
            )
        ],
    )


def _page(user, **params) -> str:
    response = browser_for(user).get("/events/search/", params)
    assert response.status_code == 200, response.content
    return response.content.decode()


def _hit_count(html: str) -> str:
    match = re.search(r'<p id="hit-count">\s*(.*?)</p>', html, re.S)
    assert match, html
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", match.group(1))).strip()


def _bars(html: str) -> list[tuple[str, int]]:
    """(link, count) of every bar, oldest first."""
    return [
        (unescape(href), int(count))
        for href, count in re.findall(
            r'<a href="([^"]+)" data-start=.*?<title>.*?: (\d+)</title>', html, re.S
        )
    ]


@pytest.mark.django_db
def test_the_hit_count_is_exact_for_the_query_and_range(analyst_a, hunted):
    assert _hit_count(_page(analyst_a, q="")).startswith("5 hits from")
    assert _hit_count(_page(analyst_a, q="event.outcome:failure")).startswith("4 hits")
    assert _hit_count(_page(analyst_a, q="event.outcome:failure", range="7d")).startswith("5 hits")
    assert _hit_count(_page(analyst_a, q='"Accepted password"')).startswith("1 hit from")
    assert _hit_count(_page(analyst_a, q="user.name:nobody")).startswith("0 hits")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("preset", "bars", "width", "hits"),
    [("1h", 60, "minute", 4), ("24h", 96, "15 minutes", 4), ("30d", 120, "6 hours", 5)],
)
def test_the_histogram_buckets_follow_the_range(analyst_a, hunted, preset, bars, width, hits):
    html = _page(analyst_a, q="event.outcome:failure", range=preset)
    counts = [count for _, count in _bars(html)]
    assert len(counts) == bars and sum(counts) == hits and f"one bar per {width}" in html


@pytest.mark.django_db
def test_a_bar_narrows_the_search_to_its_time(analyst_a, hunted):
    html = _page(analyst_a, q="event.outcome:failure", range="1h")
    busiest_link, busiest = max(_bars(html), key=lambda bar: bar[1])
    assert busiest == 2  # the two failures five minutes ago share their minute
    narrowed = browser_for(analyst_a).get("/events/search/" + busiest_link).content.decode()
    assert _hit_count(narrowed).startswith("2 hits")
    assert narrowed.count("<tr data-id=") == 2 and "Failed password 20" not in narrowed
    assert 'name="q" value="event.outcome:failure"' in narrowed  # the query is kept


@pytest.mark.django_db
def test_a_slow_count_says_it_is_an_estimate(analyst_a, reference_data, settings):
    _many_events(3000)
    settings.SEARCH_COUNT_TIMEOUT_MS = 1
    html = _page(analyst_a, q='"no such words" OR "nor these"', range="24h")
    assert "the planner&#x27;s estimate" in html or "the planner's estimate" in html
    assert not _bars(html)
    settings.SEARCH_COUNT_TIMEOUT_MS = 10_000
    assert _hit_count(_page(analyst_a, q='"no such words" OR "nor these"')).startswith("0 hits")


def _many_events(count: int) -> None:
    from django.db import connection

    source: Any = SourceFactory()
    events_store(
        source=source, records=[event_record(_now() - timedelta(seconds=i)) for i in range(count)]
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE events")  # the planner's row counts choose the path


@pytest.mark.django_db
def test_a_whole_sample_estimates_the_exact_count_and_says_so(analyst_a, reference_data, settings):
    _many_events(2000)
    exact = _page(analyst_a, q="", range="24h")
    assert _hit_count(exact).startswith("2000 hits") and "sample" not in _hit_count(exact)
    settings.SEARCH_EXACT_COUNT_MAX_ROWS = 0  # more hits expected than are counted exactly
    settings.SEARCH_SAMPLE_ROWS = 10**9  # ... and a sample as big as the range: all of it
    html = _page(analyst_a, q="", range="24h")
    assert _hit_count(html).startswith("about 2000 hits (estimated from a 100 % sample")
    assert sum(count for _, count in _bars(html)) == 2000
    assert len(_bars(html)) == len(_bars(exact))  # (the bars' edges move with "now")


@pytest.mark.django_db
def test_a_big_count_is_estimated_from_a_sample_of_about_the_size_asked(
    analyst_a, reference_data, settings
):
    _many_events(3000)
    settings.SEARCH_EXACT_COUNT_MAX_ROWS = 0
    settings.SEARCH_SAMPLE_ROWS = 600  # a fifth of the range's events
    html = _page(analyst_a, q="", range="24h")
    shown = _hit_count(html)
    percent = float(re.search(r"from a ([\d.]+) % sample", shown).group(1))
    estimate = int(re.search(r"about (\d+) hits", shown).group(1))
    assert 15 <= percent <= 25  # about 600 of about 3000
    # Whole pages are sampled, so the estimate is rough; the bars are the same sample.
    assert 1000 <= estimate <= 5000
    assert sum(count for _, count in _bars(html)) == estimate


@pytest.mark.django_db
def test_results_that_ran_out_of_time_are_counted_from_a_sample(
    analyst_a, reference_data, settings
):
    _many_events(500)
    settings.SEARCH_TIME_BUDGET_MS = 0  # the free-text search reads one slice and stops
    html = _page(analyst_a, q='"no such words"', range="24h")
    assert 'id="searched-back-to"' in html  # the results ran out of their time
    # so no exact count is tried ("0 hits"): the sample (here all of the range) counts
    assert _hit_count(html).startswith("about 0 hits (estimated from a 100 % sample")
    settings.SEARCH_TIME_BUDGET_MS = 10_000
    assert _hit_count(_page(analyst_a, q='"no such words"', range="24h")).startswith("0 hits")


@pytest.mark.django_db
def test_the_count_and_histogram_need_the_right_to_see_events(nobody, hunted):
    response = browser_for(nobody).get("/events/search/", {"q": ""})
    assert response.status_code == 403 and b"hit-count" not in response.content


@pytest.mark.django_db
def test_attacker_controlled_queries_stay_escaped_in_the_bars(analyst_a, hunted):
    query = '"<script>alert(1)</script>" OR event.outcome:success'
    html = _page(analyst_a, q=query, range="1h")
    assert "<script>alert" not in html
    links = [link for link, _ in _bars(html)]
    assert links and all("%3Cscript%3E" in link for link in links)


# ---- the field sidebar ------------------------------------------------------------------


def _facet_links(html: str, field: str) -> dict[str, tuple[str, str]]:
    """value -> (filter-for link, filter-out link) of one sidebar field."""
    section = re.search(rf"<code>{re.escape(field)}</code>(.*?)</section>", html, re.S)
    assert section, f"no {field} in the sidebar"
    found = re.findall(
        r'<span class="facet-value" title="[^"]*">(.*?)</span>.*?'
        r'class="facet-for" href="([^"]+)".*?class="facet-out" href="([^"]+)"',
        section.group(1),
        re.S,
    )
    return {unescape(value): (unescape(plus), unescape(minus)) for value, plus, minus in found}


def _raws(user, link: str) -> list[str]:
    html = browser_for(user).get("/events/search/" + link).content.decode()
    return [unescape(raw) for raw in re.findall(r'<pre class="raw">([^<{]*)</pre>', html)]


@pytest.mark.django_db
def test_the_sidebar_counts_the_values_on_the_page_and_filters_for_and_out(analyst_a, hunted):
    html = _page(analyst_a, q="")
    assert "Top values among the 5 events on this page" in html
    outcomes = _facet_links(html, "event.outcome")
    assert set(outcomes) == {"failure", "success"}
    assert re.search(r'title="failure">failure</span> <span class="muted small">4<', html)
    keep, drop = outcomes["success"]
    assert _raws(analyst_a, keep) == ["Accepted password <b>x</b>"]
    assert sorted(_raws(analyst_a, drop)) == [f"Failed password {m}" for m in (20, 5, 5, 50)]
    sources = _facet_links(html, "source")
    assert len(_raws(analyst_a, sources["fw-b"][1])) == 4


@pytest.mark.django_db
def test_a_filter_keeps_an_or_query_together(analyst_a, hunted):
    html = _page(analyst_a, q='"password 20" OR "Accepted"')
    keep, _ = _facet_links(html, "source")["fw-a"]
    assert "q=%28%22password+20%22+OR+%22Accepted%22%29+AND+source%3Afw-a" in keep
    assert _raws(analyst_a, keep) == ["Failed password 20"]


# Five (the sidebar shows a field's top five values), each a way to break out of a term.
HOSTILE = ['"><script>alert(1)</script>', "svc backup", "a*b (nested)", "OR", 'x\\" OR user.name:*']


@pytest.mark.parametrize("value", HOSTILE)
def test_a_filter_term_means_exactly_its_value(value):
    from events.search import Comparison, Op, parse
    from events.search.facets import term

    parsed = parse(term("user.name", value))
    assert isinstance(parsed, Comparison)
    assert (parsed.field, parsed.op, parsed.value, parsed.has_wildcard) == (
        "user.name",
        Op.EQ,
        value,
        False,
    )


@pytest.mark.django_db
def test_attacker_controlled_values_are_escaped_and_filter_exactly(analyst_a, reference_data):
    source = SourceFactory(name="web")
    at = _now() - timedelta(minutes=1)
    events_store(
        source=source,
        records=[
            event_record(at, raw_data=f"login {i}", normalized_data={"user": {"name": name}})
            for i, name in enumerate(HOSTILE)
        ],
    )
    html = _page(analyst_a, q="")
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    users = _facet_links(html, "user.name")
    assert set(users) == set(HOSTILE)
    for i, name in enumerate(HOSTILE):
        keep, drop = users[name]
        assert _raws(analyst_a, keep) == [f"login {i}"], name
        assert (
            f"login {i}" not in _raws(analyst_a, drop)
            and len(_raws(analyst_a, drop)) == len(HOSTILE) - 1
        )


# ---- an event's fields ------------------------------------------------------------------


def _event_rows(html: str) -> dict[str, tuple[str, ...]]:
    """field -> (value, filter-for link, filter-out link) of the first event's table."""
    table = re.search(r'<table class="event-fields.*?</table>', html, re.S)
    assert table
    rows: dict[str, tuple[str, ...]] = {}
    for row in re.findall(r"<tr><td><code>(.*?)</tr>", table.group(), re.S):
        field = unescape(row.split("</code>")[0])
        cell = re.search(r'<td class="field-value">(.*?)</td>', row, re.S)
        assert cell
        value = unescape(cell.group(1))
        links = [unescape(h) for h in re.findall(r'class="filter-\w+" href="([^"]+)"', row)]
        rows[field] = (value, *(links or ["", ""]))
    return rows


@pytest.mark.django_db
def test_an_event_is_a_table_of_its_fields_each_to_filter_for_or_out(analyst_a, reference_data):
    source = SourceFactory(name="edr")
    document = {
        "user": {"name": "svc backup"},
        "related": {"user": ["svc backup"]},
        "process": {"args": [{"a": 1}], "pid": 4242},
    }
    events_store(
        source=source,
        records=[
            event_record(_now() - timedelta(minutes=1), dest_port=8443, normalized_data=document),
            event_record(_now() - timedelta(minutes=2), dest_port=22, raw_data="other"),
        ],
    )
    html = _page(analyst_a, q="NOT source.ip:10.0.0.0/8")
    rows = _event_rows(html)
    assert rows["source"][0] == "edr" and rows["destination.port"][0] == "8443"
    assert "(dest_port)" in html  # the column's own name beside the ECS one
    assert rows["user.name"][0] == "svc backup" and rows["process.pid"][0] == "4242"
    assert rows["process.args"] == ('[{"a": 1}]', "", "")  # no filter the language can say
    assert "sshd[1]: Failed password for root" in html  # the raw record beside it
    _, keep, drop = rows["destination.port"]
    assert "q=NOT+source.ip%3A10.0.0.0%2F8+AND+destination.port%3A8443" in keep
    assert len(_raws(analyst_a, keep)) == 1 and _raws(analyst_a, drop) == ["other"]
    _, keep, _ = rows["user.name"]
    assert len(_raws(analyst_a, keep)) == 1


# ---- CSV export -------------------------------------------------------------------------


def _export(user, **params):
    return browser_for(user).get("/events/search/export.csv", params)


def _csv_rows(response) -> list[list[str]]:
    import csv
    import io

    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(text)))


@pytest.mark.django_db
def test_the_export_is_the_search_as_csv_newest_first_and_audited(analyst_a, hunted):
    from socapp.models import AuditEntry

    response = _export(analyst_a, q="event.outcome:failure", range="24h")
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="events-')
    header, *rows = _csv_rows(response)
    assert header[:4] == ["event_time", "event_id", "source", "event.type"] and header[-1] == "raw"
    assert [row[-1] for row in rows] == [f"Failed password {m}" for m in (5, 5, 20, 50)]
    entry = AuditEntry.objects.get(action="events.search_export")
    assert entry.actor == analyst_a and entry.changes["query"] == "event.outcome:failure"


@pytest.mark.django_db
def test_the_export_is_capped(analyst_a, hunted, settings):
    settings.SEARCH_EXPORT_MAX_ROWS = 2
    _, *rows = _csv_rows(_export(analyst_a, q=""))
    assert len(rows) == 2 and rows[0][-1] in ("Failed password 5", "Accepted password <b>x</b>")


@pytest.mark.django_db
def test_export_cells_never_start_a_formula(analyst_a, reference_data):
    source = SourceFactory(name="=cmd|' /C calc'!A0")
    events_store(
        source=source,
        records=[
            event_record(
                _now() - timedelta(minutes=1),
                raw_data="@SUM(1+1)*cmd",
                dest_port=22,
                normalized_data={"user": {"name": "-2+3"}, "host": {"name": "+x"}},
            )
        ],
    )
    header, row = _csv_rows(_export(analyst_a, q=""))
    cells = dict(zip(header, row, strict=True))
    assert cells["source"] == "'=cmd|' /C calc'!A0" and cells["raw"] == "'@SUM(1+1)*cmd"
    assert cells["user.name"] == "'-2+3" and cells["host.name"] == "'+x"
    assert cells["destination.port"] == "22"


@pytest.mark.django_db
def test_a_bad_export_is_a_400_with_the_reason_and_not_audited(analyst_a, nobody, hunted):
    from socapp.models import AuditEntry

    response = _export(analyst_a, q="source.ip:<b>nope")
    assert response.status_code == 400 and response["Content-Type"].startswith("text/plain")
    assert b"needs an IP address" in response.content
    assert _export(nobody, q="").status_code == 403
    assert not AuditEntry.objects.filter(action="events.search_export").exists()


# ---- chosen columns ---------------------------------------------------------------------


@pytest.mark.django_db
def test_chosen_columns_live_in_the_url_and_every_link_keeps_them(analyst_a, reference_data):
    source = SourceFactory(name="edr")
    events_store(
        source=source,
        records=[
            event_record(
                _now() - timedelta(minutes=1),
                normalized_data={"user": {"name": "<i>eve</i>"}, "related": {"user": ["a", "b"]}},
            )
        ],
    )
    html = _page(analyst_a, q="")
    add = {
        name: href
        for href, name in re.findall(
            r'class="add-column[^"]*" href="([^"]+)"[^>]*aria-label="Show (\S+) as', html
        )
    }
    assert "user.name" in add and "related.user" in add
    with_user = browser_for(analyst_a).get("/events/search/" + unescape(add["user.name"]))
    html = with_user.content.decode()
    assert '<th class="chosen"><code>user.name</code>' in html
    assert '<td class="small chosen">&lt;i&gt;eve&lt;/i&gt;</td>' in html
    assert '<input type="hidden" name="col" value="user.name">' in html  # the form keeps it
    for link in re.findall(r'class="facet-for" href="([^"]+)"', html):
        assert "col=user.name" in unescape(link)
    # Both columns, then the one removed again; the CSV has the chosen columns too.
    html = _page(analyst_a, q="", col=["user.name", "related.user", "no such(field", "user.name"])
    assert re.findall(r'<th class="chosen"><code>(.*?)</code>', html) == [
        "user.name",
        "related.user",
    ]
    assert '<td class="small chosen">a, b</td>' in html
    remove = re.search(r'class="remove-column" href="([^"]+)"[^>]*the column user.name"', html)
    assert remove
    html = (
        browser_for(analyst_a).get("/events/search/" + unescape(remove.group(1))).content.decode()
    )
    assert re.findall(r'<th class="chosen"><code>(.*?)</code>', html) == ["related.user"]
    header, row = _csv_rows(_export(analyst_a, q="", col=["user.name", "related.user"]))
    assert header[-3:] == ["user.name", "related.user", "raw"] and row[-2] == "a, b"


@pytest.mark.django_db
def test_count_sidebar_and_export_see_exactly_what_the_results_see(analyst_a, analyst_b, hunted):
    """Events are readable by every role holding events.view_event, whatever team owns
    their source (events/selectors.py): the count, bars, sidebar and CSV of team B's
    analyst are those of the same results, from the same permission-filtered queryset."""
    for user in (analyst_a, analyst_b):
        html = _page(user, q="")
        shown = html.count("<tr data-id=")
        assert _hit_count(html).startswith(f"{shown} hits")
        assert sum(count for _, count in _bars(html)) == shown
        assert f"Top values among the {shown} events" in html
        assert len(_csv_rows(_export(user, q=""))) == shown + 1
