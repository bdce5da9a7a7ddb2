"""Event search: the language (parse errors name the column), its meaning on stored
events through the REST API and the page, cursor pages, and rules made from a search."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from events.search import QueryError, parse
from events.search.query import BoolOp, Comparison
from events.services import events_store
from tests.conftest import client_for
from tests.factories import SourceFactory, event_record


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ('user.name:"root', "An unclosed quote (at column 11)"),
        ("(a:1 OR b:2", "A parenthesis is not closed (at column 1)"),
        ("a:1 OR", "The query ends where a term was expected"),
        ("a:1 )", "Unexpected ) (at column 5)"),
        ("OR a:1", "Unexpected OR (at column 1)"),
        ("destination.port:", "Expected a value after the field (at column 1)"),
    ],
)
def test_malformed_queries_say_what_and_where(query: str, message: str) -> None:
    with pytest.raises(QueryError) as caught:
        parse(query)
    assert message in str(caught.value)


def test_and_binds_tighter_than_or_and_not_binds_tightest() -> None:
    tree = parse("a:1 OR b:2 c:3 AND NOT d:4")
    assert isinstance(tree, BoolOp) and tree.op == "OR"
    left, right = tree.nodes
    assert isinstance(left, Comparison) and left.field == "a"
    assert (
        isinstance(right, BoolOp)
        and right.op == "AND"
        and [type(n).__name__ for n in right.nodes]
        == [
            "Comparison",
            "Comparison",
            "Not",
        ]
    )


@pytest.fixture
def now() -> datetime:
    """When the test runs (not when the module was collected: the search's default range
    ends at the real now), the same moment for the events stored and the ranges asked."""
    return datetime.now(tz=UTC).replace(microsecond=0)


@pytest.fixture
def stored(reference_data, now):
    """Six events a hunter might look through."""
    source = SourceFactory(name="fw-1")
    other = SourceFactory(name="proxy-7")

    def at(minutes: int) -> datetime:
        return now - timedelta(minutes=minutes)

    rows = {
        "root_fail": event_record(
            at(1),
            source_ip="10.1.2.3",
            dest_port=22,
            raw_data="Failed password for root from 10.1.2.3",
        ),
        "svc_ok": event_record(
            at(2),
            source_ip="10.9.9.9",
            dest_port=22,
            event_type="authentication_success",
            raw_data="Accepted password for svc backup",
            normalized_data={
                "event": {"outcome": "success"},
                "user": {"name": "svc backup"},
                "related": {"user": ["svc backup", "admin"]},
            },
        ),
        "web": event_record(
            at(3),
            source_ip="192.0.2.44",
            dest_ip="198.51.100.1",
            dest_port=8443,
            event_type="http_request",
            raw_data="GET /<script>x</script> 200",
            normalized_data={
                "http": {"response": {"status_code": 200}},
                "url": {"path": "/admin/login.php"},
            },
        ),
        "low_port": event_record(
            at(4),
            source_ip="192.0.2.45",
            dest_port=443,
            event_type="http_request",
            raw_data="GET / 500",
            normalized_data={"http": {"response": {"status_code": 500}}},
        ),
        "v6": event_record(at(5), source_ip="2001:db8::7", dest_port=53, raw_data="dns query"),
        "old": event_record(at(60 * 30), source_ip="10.1.2.3", raw_data="Failed password for root"),
    }
    events_store(
        source=source, records=[rows[k] for k in ("root_fail", "svc_ok", "web", "v6", "old")]
    )
    events_store(source=other, records=[rows["low_port"]])
    return {name: rec.raw_data for name, rec in rows.items()}


def _search(user, q: str, **params):
    return client_for(user).get("/api/v1/events/search/", {"q": q, **params})


def _found(user, q: str, stored: dict, **params) -> set[str]:
    response = _search(user, q, **params)
    assert response.status_code == 200, response.content
    raws = {e["raw_data"] for e in response.json()["results"]}
    return {name for name, raw in stored.items() if raw in raws}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("source.ip:10.0.0.0/8", {"root_fail", "svc_ok"}),
        ("source.ip:2001:db8::/32", {"v6"}),
        ("source.ip:192.0.2.*", {"web", "low_port"}),
        ("destination.port>=1024", {"web"}),
        ("destination.port<100 AND NOT source.ip:10.0.0.0/8", {"v6"}),
        ('user.name:"svc backup"', {"svc_ok"}),
        ("related.user:admin", {"svc_ok"}),  # a value inside a list
        ("user.name:ro*", {"root_fail", "v6"}),
        ("http.response.status_code>=500", {"low_port"}),
        ("http.response.status_code:200", {"web"}),
        ("url.path:*", {"web"}),
        ('"failed PASSWORD"', {"root_fail"}),  # free text, any case, on the raw log
        (
            "event.outcome:success OR (event.type:http_request AND source:proxy-7)",
            {"svc_ok", "low_port"},
        ),
        ("NOT event.outcome:failure", {"svc_ok", "web", "low_port"}),  # no outcome: kept
        ("", {"root_fail", "svc_ok", "web", "low_port", "v6"}),  # the old one is out of range
    ],
)
def test_queries_find_exactly_the_matching_events_in_the_range(analyst_a, stored, query, expected):
    assert _found(analyst_a, query, stored) == expected


@pytest.mark.django_db
def test_the_range_and_cursor_pages_cover_everything_once(analyst_a, stored, now):
    since = (now - timedelta(days=2)).isoformat()
    seen, cursor = [], ""
    while True:
        page = _search(analyst_a, "", since=since, limit=2, cursor=cursor).json()
        seen += [e["raw_data"] for e in page["results"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [stored[k] for k in ("root_fail", "svc_ok", "web", "low_port", "v6", "old")]


@pytest.mark.django_db
def test_bad_queries_are_400s_with_the_reason(analyst_a, stored):
    response = _search(analyst_a, "source.ip:not-an-ip")
    assert response.status_code == 400
    assert "needs an IP address" in response.json()["q"][0]
    assert _search(analyst_a, "(a:1").status_code == 400
    assert _search(analyst_a, "x", limit=0).status_code == 400


@pytest.mark.django_db
def test_the_search_page_renders_results_escaped_and_explains_errors(analyst_a, stored):
    from tests.incidents.conftest import browser_for

    client = browser_for(analyst_a)
    page = client.get("/events/search/", {"q": "event.type:http_request"}).content.decode()
    assert "GET /&lt;script&gt;x&lt;/script&gt; 200" in page and "<script>x" not in page
    assert "/entities/ip/198.51.100.1/" in page
    wrong = client.get("/events/search/", {"q": 'user.name:"x'})
    assert wrong.status_code == 400 and "An unclosed quote" in wrong.content.decode()


@pytest.mark.django_db
def test_a_search_becomes_an_inactive_rule_that_matches_what_it_found(soc_admin, analyst_a, stored):
    from django.test import Client

    from correlation.services import rule_try

    query = "source.ip:10.0.0.0/8 AND NOT user.name:root"
    client = Client()
    client.force_login(soc_admin)
    editor = client.get("/rules/new/", {"from_search": query}).content.decode()
    assert "term1:" in editor and "source.ip|cidr: 10.0.0.0/8" in editor
    assert "backtest" in editor
    from correlation.sigma.from_search import rule_from_search

    definition = rule_from_search(query)
    assert rule_try(
        definition=definition, event={"source": {"ip": "10.9.9.9"}, "user": {"name": "svc"}}
    ).matched
    assert not rule_try(
        definition=definition, event={"source": {"ip": "10.9.9.9"}, "user": {"name": "root"}}
    ).matched
    assert not rule_try(definition=definition, event={"source": {"ip": "192.0.2.1"}}).matched


@pytest.mark.django_db
def test_saved_searches(analyst_a, manager, stored):
    from socapp.models import SavedView
    from tests.incidents.conftest import browser_for

    browser_for(analyst_a).post(
        "/events/search/save/", {"name": "ssh", "query": "q=destination.port%3A22"}
    )
    assert SavedView.objects.get().page == "events"
    assert (
        "ssh"
        not in browser_for(manager)
        .get("/events/search/")
        .content.decode()
        .split("Saved searches")[1][:300]
    )


@pytest.mark.django_db
def test_an_unindexed_search_answers_within_its_budget_and_continues_where_it_stopped(
    analyst_a, stored, settings, now
):
    """Free text reads the range in slices; with no time to spare each answer covers one
    slice, says how far back it searched, and following the cursors finds every match
    once, in order."""
    settings.SEARCH_TIME_BUDGET_MS = 0
    since = (now - timedelta(days=2)).isoformat()
    seen, cursor, partial_pages = [], "", 0
    for _ in range(20):
        page = _search(analyst_a, '"Failed password"', since=since, cursor=cursor).json()
        seen += [e["raw_data"] for e in page["results"]]
        partial_pages += page["searched_back_to"] is not None
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [stored["root_fail"], stored["old"]]
    assert partial_pages >= 2  # stopped early, more than once, and lost nothing

    # An indexed query is answered whole, whatever the budget.
    whole = _search(analyst_a, "source.ip:10.1.2.3", since=since).json()
    assert len(whole["results"]) == 2 and whole["searched_back_to"] is None


@pytest.mark.django_db
def test_the_search_page_says_how_far_back_it_searched(analyst_a, stored, settings):
    from tests.incidents.conftest import browser_for

    settings.SEARCH_TIME_BUDGET_MS = 0
    page = browser_for(analyst_a).get("/events/search/", {"q": '"dns query"', "range": "7d"})
    html = page.content.decode()
    assert "Searched back to" in html and "Search further back" in html


def test_a_slice_that_outlasts_the_budget_is_cut_off_and_retried_in_quarters(
    analyst_a, reference_data, settings, monkeypatch
):
    """A dense range can make one slice slower than the whole budget: its read is
    cancelled, the answer says how far back it got, and the cursor goes on from the same
    place with a quarter of the slice."""
    from events import selectors

    now = datetime.now(UTC)
    source = SourceFactory()
    events_store(
        source=source,
        records=[event_record(now - timedelta(milliseconds=30 * i)) for i in range(20_000)],
    )
    settings.SEARCH_TIME_BUDGET_MS = 0
    monkeypatch.setattr(selectors, "MIN_SLICE_MS", 1)  # 20,000 rows of free text: > 1 ms
    page = _search(analyst_a, '"no such words"').json()
    assert page["results"] == [] and page["searched_back_to"] is not None
    at, _, seconds = page["next_cursor"].split("|")
    assert datetime.fromisoformat(at) == datetime.fromisoformat(page["searched_back_to"])
    assert int(seconds) == 15 * 60 // 4  # the first slice (15 min), quartered


# ---- odd input the API fuzz run found (issue 11): 400s with the reason, never 500s --------


def test_deep_nesting_is_refused_before_it_can_exhaust_the_stack() -> None:
    deepest = "(" * 32 + "a:1" + ")" * 32
    assert parse(deepest) == parse("a:1")
    for query in ("(" * 300 + "a:1" + ")" * 300, "NOT " * 40 + "a:1"):
        with pytest.raises(QueryError) as caught:
            parse(query)
        assert "at most 32 deep" in str(caught.value)


@pytest.mark.django_db
def test_a_deeply_nested_search_is_a_400_naming_the_limit(analyst_a, stored):
    response = _search(analyst_a, "(" * 300 + "a:1" + ")" * 300)
    assert response.status_code == 400
    assert "at most 32 deep (at column 33)" in response.json()["q"][0]


@pytest.mark.django_db
def test_a_range_back_to_year_11_searches_it_all(analyst_a, stored):
    """Slices doubling back from now used to reach before year 1 (an OverflowError)."""
    found = _found(analyst_a, '"Failed password"', stored, since="0011-01-01T00:00:00+22:12")
    assert found == {"root_fail", "old"}
    # An `until` in year 1: its default `since` (a day before) does not exist.
    empty = _search(analyst_a, "", until="0001-01-01T00:30:00Z")
    assert empty.status_code == 200 and empty.json()["results"] == []


@pytest.mark.django_db
def test_offsets_beyond_sixteen_hours_mean_the_same_moment(analyst_a, stored, now):
    """PostgreSQL takes offsets up to 15:59; the moment is turned into UTC first."""
    since = (now - timedelta(minutes=3, seconds=30)).astimezone(
        timezone(timedelta(hours=23, minutes=30))
    )
    assert since.isoformat().endswith("+23:30")
    assert _found(analyst_a, "", stored, since=since.isoformat()) == {
        "root_fail",
        "svc_ok",
        "web",
    }


@pytest.mark.django_db
@pytest.mark.parametrize(
    "cursor",
    [
        "garbage",
        "2026-01-01T00:00:00|||",  # naive moment
        "2026-01-01T00:00:00+00:00|not-a-uuid|",
        "2026-01-01T00:00:00+00:00||-900",
        "2026-01-01T00:00:00+00:00||\N{SUPERSCRIPT TWO}",
        "2026-01-01T00:00:00+00:00||99999999999999999999",
        "2026-13-01T00:00:00+00:00||900",
    ],
)
def test_a_forged_cursor_is_a_400_under_q(analyst_a, stored, cursor):
    response = _search(analyst_a, '"Failed password"', cursor=cursor)
    assert response.status_code == 400, response.content
    assert response.json()["q"] == ["The cursor is not one this page gave out"]


@pytest.mark.django_db
def test_event_filters_check_addresses_and_take_any_offset(analyst_a, stored, now):
    api = client_for(analyst_a)
    refused = api.get("/api/v1/events/", {"source_ip": "garbage"})
    assert refused.status_code == 400 and "source_ip" in refused.json()
    far_east = (now - timedelta(minutes=1, seconds=30)).astimezone(timezone(timedelta(hours=20)))
    newest = api.get("/api/v1/events/", {"since": far_east.isoformat()})
    assert newest.status_code == 200
    assert [e["raw_data"] for e in newest.json()["results"]] == [stored["root_fail"]]
    out_of_range = api.get("/api/v1/events/", {"until": "0001-01-01T01:00:00+05:00"})
    assert out_of_range.status_code == 400
    assert out_of_range.json() == {"until": ["This moment is out of range."]}
