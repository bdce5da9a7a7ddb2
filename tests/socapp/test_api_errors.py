"""Odd input the API fuzz run found (issue 11): each is a 4xx with a JSON message naming
what is wrong, never a 500 or an HTML page."""

from __future__ import annotations

from datetime import timedelta, timezone
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from incidents.models import ResponseAction
from socapp.api.exceptions import exception_handler
from socapp.roof.urls import router
from tests.conftest import client_for
from tests.factories import AlertFactory, AssetFactory, IncidentFactory

pytestmark = pytest.mark.django_db

NUL_REFUSED = ["Null characters are not allowed."]


def _action_routes() -> list[tuple[str, str, bool]]:
    """(basename, url name, detail?) of every @action route of the API."""
    routes = []
    for _, viewset, basename in router.registry:
        actions: list[Any] = viewset.get_extra_actions()  # functions @action gave a url_name
        for action in actions:
            routes.append((basename, f"api:{basename}-{action.url_name}", action.detail))
    return routes


ACTION_ROUTES = _action_routes()


def test_there_are_action_routes_to_check():
    assert len(ACTION_ROUTES) >= 20
    assert ("alert", "api:alert-comments", True) in ACTION_ROUTES


@pytest.mark.parametrize(("basename", "name", "detail"), ACTION_ROUTES)
def test_a_format_suffix_on_an_action_route_is_a_json_404(soc_admin, basename, name, detail):
    """`.json` on an @action route passed a `format` argument the action does not take:
    a 500 for GET and POST alike. The API renders JSON only; suffixes are not routes."""
    args = ["3fa85f64-5717-4562-b3fc-2c963f66afa6"] if detail else []
    if basename == "incident" and name.endswith("evidence-download"):
        args.append("3fa85f64-5717-4562-b3fc-2c963f66afa6")
    url = reverse(name, args=args).rstrip("/") + ".json"
    api = client_for(soc_admin)
    for response in (api.get(url), api.post(url, {}, format="json")):
        assert response.status_code == 404, (url, response.status_code)
        assert response.json() == {"detail": "Not found."}


def test_suffixes_are_gone_from_lists_too_and_unknown_api_urls_answer_json(analyst_a):
    api = client_for(analyst_a)
    assert api.get("/api/v1/alerts.json").json() == {"detail": "Not found."}
    missing = api.get("/api/v1/no-such-thing/")
    assert missing.status_code == 404 and missing["Content-Type"] == "application/json"
    # Pages keep their HTML 404.
    page = Client().get("/no-such-page/")
    assert page.status_code in (302, 404) and "json" not in page.get("Content-Type", "")


def test_nul_in_a_query_string_is_a_400_naming_the_parameter(analyst_a):
    api = client_for(analyst_a)
    response = api.get("/api/v1/alerts/?q=ssh%00brute")
    assert response.status_code == 400 and response.json() == {"q": NUL_REFUSED}
    assert api.get("/api/v1/assets/?na%00me=x").json() == {"na\\x00me": NUL_REFUSED}
    assert api.get("/api/v1/users/a%00b/").json() == {"path": NUL_REFUSED}


def test_nul_in_a_page_query_string_is_a_plain_400(analyst_a):
    browser = Client()
    browser.force_login(analyst_a)
    response = browser.get("/alerts/?q=ssh%00brute")
    assert response.status_code == 400
    assert response.content.decode() == "q: Null characters are not allowed."


def test_nul_anywhere_in_a_json_body_is_a_400_naming_the_field(analyst_a, team_a):
    """jsonb refuses \\u0000: a NUL inside a JSON field's document used to be a 500."""
    incident = IncidentFactory(team=team_a)
    api = client_for(analyst_a)
    response = api.post(
        f"/api/v1/incidents/{incident.pk}/actions/",
        {"action_type": "block_ip", "parameters": {"ip": "192.0.2.1", "also": ["a", "b\u0000"]}},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {"parameters.also.1": NUL_REFUSED}
    assert not ResponseAction.objects.exists()
    rule_test = api.post(
        "/api/v1/rules/test/",
        {"definition": "title: x", "event": {"us\u0000er": "root"}},
        format="json",
    )
    assert rule_test.json() == {"event.(name)": NUL_REFUSED}


def test_nul_in_a_form_or_multipart_body_is_a_400_too(analyst_a, team_a):
    incident = IncidentFactory(team=team_a)
    api = client_for(analyst_a)
    form = api.post(
        f"/api/v1/incidents/{incident.pk}/comments/",
        "body=a%00b",
        content_type="application/x-www-form-urlencoded",
    )
    assert form.status_code == 400 and form.json() == {"body": NUL_REFUSED}
    multipart = api.post(f"/api/v1/incidents/{incident.pk}/tasks/", {"title": "x\u0000"})
    assert multipart.status_code == 400 and multipart.json() == {"title": NUL_REFUSED}
    assert not incident.comments.exists() and not incident.tasks.exists()


def test_an_address_filter_takes_addresses_only(analyst_a):
    """`?ip_address=garbage` reached the inet column: a database error, a 500."""
    asset = AssetFactory(ip_addresses=["10.9.0.7"])
    AssetFactory(ip_addresses=["10.9.0.8"])
    api = client_for(analyst_a)
    refused = api.get("/api/v1/assets/", {"ip_address": "garbage"})
    assert refused.status_code == 400
    assert refused.json() == {"ip_address": ["Enter a valid IPv4 or IPv6 address."]}
    found = api.get("/api/v1/assets/", {"ip_address": "10.9.0.7"}).json()["results"]
    assert [a["id"] for a in found] == [str(asset.pk)]


def test_a_time_filter_takes_any_offset_and_refuses_what_does_not_exist(analyst_a, team_a):
    alert = AlertFactory(team=team_a)
    seen = alert.last_seen_at
    api = client_for(analyst_a)
    east = timezone(timedelta(hours=20))
    before, after = (seen - timedelta(seconds=1)).astimezone(east), seen.astimezone(east)
    assert before.isoformat().endswith("+20:00")

    def ids(since: str) -> list[str]:
        return [a["id"] for a in api.get("/api/v1/alerts/", {"since": since}).json()["results"]]

    assert ids(before.isoformat()) == [str(alert.pk)]
    assert ids((after + timedelta(seconds=1)).isoformat()) == []
    refused = api.get("/api/v1/alerts/", {"until": "0001-01-01T00:00:00+01:00"})
    assert refused.status_code == 400
    assert refused.json() == {"until": ["This moment is out of range."]}


def test_the_safety_net_answers_json_for_what_nobody_expected(caplog):
    """Not a fix for anything: an exception no branch knows is logged with its
    traceback and answered as JSON, never as Django's HTML error page."""
    try:
        raise RuntimeError("boom")
    except RuntimeError as exc:
        response = exception_handler(exc, {"view": None})
    assert response.status_code == 500
    assert response.data == {"detail": "Internal server error; it has been logged."}
    assert "boom" in caplog.text and "Traceback" in caplog.text


def test_a_bare_validation_message_is_answered_as_an_object(analyst_a, team_a):
    """Every 400 is an object (the documented shape): a bare message sits under
    `non_field_errors`."""
    from rest_framework.exceptions import ValidationError

    response = exception_handler(ValidationError("Bad."), {"view": None})
    assert response.status_code == 400
    assert response.data == {"non_field_errors": ["Bad."]}


def test_json_nested_beyond_any_api_body_is_a_400(auditor):
    """The decoder recursed until a RecursionError (a 500) on 100,000 brackets; 65 levels
    are already more than any API body holds."""
    api = client_for(auditor)
    for body in ("[" * 100_000 + "]" * 100_000, '{"a":' * 65 + "1" + "}" * 65):
        response = api.post("/api/v1/rules/test/", data=body, content_type="application/json")
        assert response.status_code == 400, response.content[:200]
        assert "nested deeper than 64 levels" in response.json()["detail"]
    fine = '{"event": ' + '{"a":' * 60 + "1" + "}" * 60 + ', "definition": "x"}'
    answer = api.post("/api/v1/rules/test/", data=fine, content_type="application/json")
    assert answer.status_code == 400 and "definition" in answer.json()  # judged on its merits


def test_a_body_over_the_upload_limit_is_a_413_with_the_setting(auditor, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = '{"definition": "' + "a" * 2000 + '", "event": {}}'
    response = client_for(auditor).post(
        "/api/v1/rules/test/", data=body, content_type="application/json"
    )
    assert response.status_code == 413
    assert "DATA_UPLOAD_MAX_MEMORY_SIZE" in response.json()["detail"]
