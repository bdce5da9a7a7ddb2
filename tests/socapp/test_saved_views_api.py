"""Saved views over the API (/api/v1/saved-views/): the same views, rules and checks as
the alert queue's and the event search's "Save view" (socapp.saved_views)."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from socapp.models import AuditEntry, SavedView
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

URL = "/api/v1/saved-views/"


def _browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _names(response) -> set[str]:
    assert response.status_code == 200, response.content
    return {v["name"] for v in response.json()["results"]}


def _view(owner, name: str, *, page: str = "alerts", query: str = "status=open", shared=False):
    return SavedView.objects.create(owner=owner, page=page, name=name, query=query, shared=shared)


def test_an_analyst_creates_lists_renames_and_deletes_a_view(analyst_a):
    api = client_for(analyst_a)
    made = api.post(
        URL,
        {"page": "alerts", "name": "criticals", "query": "status=open&severity=critical"},
        format="json",
    )
    assert made.status_code == 201, made.content
    body = made.json()
    assert body["owner"] == analyst_a.username and body["shared"] is False
    assert _names(api.get(URL)) == {"criticals"}

    renamed = api.patch(f"{URL}{body['id']}/", {"name": "critical ones"}, format="json")
    assert renamed.status_code == 200 and renamed.json()["name"] == "critical ones"
    assert renamed.json()["query"] == "status=open&severity=critical"
    assert api.get(f"{URL}{body['id']}/").json()["name"] == "critical ones"

    assert api.delete(f"{URL}{body['id']}/").status_code == 204
    assert _names(api.get(URL)) == set()
    audited = AuditEntry.objects.filter(object_id=body["id"]).order_by("seq")
    assert [(e.action, e.actor_name) for e in audited] == [
        ("saved_view.create", analyst_a.username),
        ("saved_view.update", analyst_a.username),
        ("saved_view.delete", analyst_a.username),
    ]
    assert audited[1].changes == {"name": ["criticals", "critical ones"]}


def test_another_analysts_private_view_does_not_exist_for_them(analyst_a, analyst_b):
    mine = _view(analyst_a, "mine")
    theirs = client_for(analyst_b)
    assert _names(theirs.get(URL)) == set()
    detail = f"{URL}{mine.pk}/"
    assert theirs.get(detail).status_code == 404
    assert theirs.patch(detail, {"name": "taken"}, format="json").status_code == 404
    assert theirs.put(detail, {"name": "taken", "query": ""}, format="json").status_code == 404
    assert theirs.delete(detail).status_code == 404
    mine.refresh_from_db()
    assert mine.name == "mine"


def test_a_shared_view_is_seen_by_others_but_changed_only_by_its_owner(analyst_a, analyst_b):
    shared = _view(analyst_a, "team view", shared=True)
    theirs = client_for(analyst_b)
    assert _names(theirs.get(URL)) == {"team view"}
    detail = f"{URL}{shared.pk}/"
    assert theirs.get(detail).json()["owner"] == analyst_a.username
    refused = theirs.patch(detail, {"name": "hijacked"}, format="json")
    assert refused.status_code == 403
    assert "owner" in refused.json()["detail"]
    assert theirs.delete(detail).status_code == 403
    shared.refresh_from_db()
    assert shared.name == "team view"
    assert not AuditEntry.objects.filter(action__startswith="saved_view.").exists()


@pytest.mark.parametrize(
    ("page", "query", "field", "reason"),
    [
        ("events", "q=source.ip%3A10.0.0.1+AND+%28user.name%3Aroot", "query", "q: "),
        ("events", "q=destination.port%3Aabc", "query", "whole number"),
        ("events", "q=%00", "query", "Null characters"),
        ("events", "range=5y", "query", "range: "),
        ("alerts", "status=bogus", "query", "status: Select a valid choice"),
        ("alerts", "since=yesterday-ish", "query", "since: "),
        ("incidents", "status=open", "page", "is not a valid choice"),
    ],
)
def test_a_query_the_page_would_refuse_is_a_400_with_the_reason(
    analyst_a, page, query, field, reason
):
    response = client_for(analyst_a).post(
        URL, {"page": page, "name": "bad", "query": query}, format="json"
    )
    assert response.status_code == 400, response.content
    assert reason in " ".join(response.json()[field])
    assert not SavedView.objects.exists()


def test_a_change_to_a_bad_query_is_refused_and_keeps_the_view(analyst_a):
    view = _view(analyst_a, "mine", page="events", query="q=user.name%3Aroot")
    response = client_for(analyst_a).patch(f"{URL}{view.pk}/", {"query": "q=%28%28"}, format="json")
    assert response.status_code == 400 and response.json()["query"]
    view.refresh_from_db()
    assert view.query == "q=user.name%3Aroot"


def test_lengths_are_bounded(analyst_a):
    api = client_for(analyst_a)

    def post(name: str, query: str) -> int:
        return api.post(
            URL, {"page": "alerts", "name": name, "query": query}, format="json"
        ).status_code

    longest = "team=" + "x" * 7995  # 8,000 characters, a filter the queue reads
    assert post("n" * 100, longest) == 201
    assert post("other", longest + "x") == 400
    assert post("n" * 101, "status=open") == 400
    assert SavedView.objects.count() == 1


def test_names_are_unique_per_page_and_owner(analyst_a):
    api = client_for(analyst_a)
    first = api.post(URL, {"page": "alerts", "name": "a", "query": ""}, format="json")
    again = api.post(URL, {"page": "alerts", "name": "a", "query": ""}, format="json")
    assert first.status_code == 201 and again.status_code == 400
    assert "already have a view" in again.json()["name"][0]
    other = api.post(URL, {"page": "alerts", "name": "b", "query": ""}, format="json")
    clash = api.patch(f"{URL}{other.json()['id']}/", {"name": "a"}, format="json")
    assert clash.status_code == 400
    assert (
        api.post(URL, {"page": "events", "name": "a", "query": ""}, format="json").status_code
        == 201
    )


def _page_views(html: str, path: str) -> set[str]:
    return set(re.findall(rf'<a href="{re.escape(path)}\?[^"]*">([^<]*)</a>', html))


def test_the_pages_and_the_api_see_the_same_views(analyst_a, analyst_b, manager):
    _view(analyst_a, "a private")
    _view(analyst_a, "a shared", shared=True)
    _view(analyst_a, "a search", page="events", query="q=user.name%3Aroot", shared=True)
    _view(manager, "m private", page="events", query="")
    # One saved on the page, one over the API: both are the same kind of thing.
    _browser(analyst_b).post("/alerts/views/", {"name": "b page", "query": "severity=high"})
    client_for(analyst_b).post(
        URL, {"page": "events", "name": "b api", "query": "q=host.name%3Aweb1"}, format="json"
    )
    for user in (analyst_a, analyst_b, manager):
        browser = _browser(user)
        queue = _page_views(browser.get("/alerts/").content.decode(), "/alerts/")
        search = _page_views(browser.get("/events/search/").content.decode(), "/events/search/")
        api = client_for(user)
        assert _names(api.get(URL, {"view_of": "alerts"})) == queue
        assert _names(api.get(URL, {"view_of": "events"})) == search
    assert queue == {"a shared"} and search == {"a search", "m private"}  # the manager's


def test_a_view_made_over_the_api_opens_on_its_page(analyst_a):
    made = client_for(analyst_a).post(
        URL, {"page": "alerts", "name": "highs", "query": "severity=high"}, format="json"
    )
    page = _browser(analyst_a).get("/alerts/").content.decode()
    assert '<a href="/alerts/?severity=high">highs</a>' in page
    assert _browser(analyst_a).get(f"/alerts/?{made.json()['query']}").status_code == 200


def test_the_page_refuses_a_query_it_would_not_read(analyst_a):
    response = _browser(analyst_a).post(
        "/events/search/save/", {"name": "broken", "query": "q=%28user.name"}, follow=True
    )
    assert response.status_code in (200, 400)
    assert not SavedView.objects.exists()
    notes = [str(m) for m in response.context["messages"]]
    assert any("q: " in n for n in notes), notes


def test_the_page_refuses_a_nul_in_a_name_without_an_error(analyst_a):
    response = _browser(analyst_a).post("/alerts/views/", {"name": "a\x00b", "query": ""})
    assert response.status_code == 302
    assert not SavedView.objects.exists()


def test_the_api_offers_the_pages_that_keep_views():
    from socapp.api.serializers import SAVED_VIEW_PAGES
    from socapp.saved_views import saved_view_pages

    assert (
        {value for value, _ in SAVED_VIEW_PAGES}
        == set(saved_view_pages())
        == {
            "alerts",
            "events",
        }
    )
