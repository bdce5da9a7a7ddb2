"""/health, /ready and /metrics, as probes and Prometheus use them."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/health", "/health/", "/ready", "/ready/"])
def test_probes_answer_without_login_host_check_or_redirect(path):
    client = Client()
    # A kubelet sends the pod IP as Host, over plain HTTP, with no credentials.
    with override_settings(SECURE_SSL_REDIRECT=True, ALLOWED_HOSTS=["soc.example.com"]):
        response = client.get(path, HTTP_HOST="10.244.1.17:8000")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response["Cache-Control"] == "no-store"


@pytest.mark.django_db
def test_ready_names_each_dependency_it_checked():
    checks = Client().get("/ready").json()["checks"]
    assert checks == {"database": "ok", "redis": "ok", "broker": "ok"}


@pytest.mark.django_db
def test_ready_says_503_and_names_redis_when_it_is_unreachable(settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = Client().get("/ready")
    assert response.status_code == 503
    assert response.json()["down"] == ["redis"]
    assert "ConnectionError" in response.json()["checks"]["redis"]


@pytest.mark.django_db
def test_ready_names_the_broker_too(settings):
    settings.CELERY_BROKER_URL = "amqp://guest:guest@127.0.0.1:1//"
    response = Client().get("/ready")
    assert response.status_code == 503
    assert response.json()["down"] == ["broker"]


@pytest.mark.django_db
def test_other_pages_still_check_the_host():
    with override_settings(ALLOWED_HOSTS=["soc.example.com"]):
        assert Client().get("/accounts/login/", HTTP_HOST="evil.example").status_code == 400


@pytest.mark.django_db
def test_metrics_are_prometheus_text(reference_data):
    from tests.factories import AlertFactory

    AlertFactory()
    response = Client().get("/metrics", HTTP_HOST="10.244.1.17:8000")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    body = response.content.decode()
    assert 'socapp_event_partitions{table="events"}' in body
    assert 'socapp_alerts{severity="high",status="open"} 1.0' in body
    assert 'socapp_metric_source_up{source="events"} 1.0' in body


@pytest.mark.django_db
def test_metrics_token_when_configured(settings):
    settings.METRICS_TOKEN = "scrape-secret"
    client = Client()
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-secret").status_code == 200


@pytest.mark.django_db
def test_guessing_the_metrics_token_meets_the_token_throttle(settings):
    settings.METRICS_TOKEN = "scrape-secret-" + "x" * 32
    guesser, scraper = "203.0.113.50", "10.0.0.9"
    answers = [
        Client(REMOTE_ADDR=guesser).get("/metrics", HTTP_AUTHORIZATION=f"Bearer guess{n}")
        for n in range(settings.TOKEN_FAILURE_LIMIT + 10)
    ]
    limit = settings.TOKEN_FAILURE_LIMIT
    assert [a.status_code for a in answers] == [401] * limit + [429] * 10
    assert int(answers[-1]["Retry-After"]) > 0
    right = f"Bearer {settings.METRICS_TOKEN}"
    # The right token from the guessing address waits too; Prometheus elsewhere does not.
    assert Client(REMOTE_ADDR=guesser).get("/metrics", HTTP_AUTHORIZATION=right).status_code == 429
    assert Client(REMOTE_ADDR=scraper).get("/metrics", HTTP_AUTHORIZATION=right).status_code == 200


@pytest.mark.django_db
def test_pages_need_a_login_and_lead_to_it():
    response = Client().get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    docs = Client().get("/api/docs/")
    assert docs.status_code == 302 and docs["Location"].startswith("/accounts/login/")


@pytest.mark.django_db
def test_home_shows_the_queue_to_a_role_and_a_hint_without_one(analyst_a, nobody, team_a):
    from tests.factories import AlertFactory

    AlertFactory(team=team_a, title="<script>alert(1)</script> brute force")
    client = Client()
    client.force_login(analyst_a)
    page = client.get("/").content.decode()
    assert "Newest open alerts" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; brute force" in page
    assert "<script>alert(1)" not in page
    client.force_login(nobody)
    assert "No role yet" in client.get("/").content.decode()


@pytest.mark.django_db
def test_ingestion_figures_are_in_the_metrics():
    from events.ingest import events_ingest
    from events.parsers import RawRecord
    from tests.factories import SourceFactory

    source = SourceFactory(name="metrics-fw", format="syslog")
    events_ingest(
        source=source,
        transport="api",
        records=[RawRecord(1, "<13>Nov 28 04:03:59 h app: one"), RawRecord(2, "not syslog")],
    )
    body = Client().get("/metrics").content.decode()
    assert 'socapp_source_records_total{outcome="accepted",source="metrics-fw"} 1.0' in body
    assert 'socapp_source_records_total{outcome="quarantined",source="metrics-fw"} 1.0' in body
    assert "socapp_uncorrelated_batches" in body
    assert 'socapp_metric_source_up{source="ingestion"} 1.0' in body
