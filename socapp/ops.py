"""Operations endpoints: liveness, readiness and what readiness checks.

``/health`` says only that this process answers. ``/ready`` says whether it can do its
job: PostgreSQL, Redis and the Celery broker all reachable. Both are served by
``ProbeMiddleware`` ahead of host validation, HTTPS redirects and login, because a
Kubernetes probe sends the pod IP as Host and speaks plain HTTP.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

import redis
from django.conf import settings
from django.db import connections
from django.http import HttpRequest, HttpResponse
from kombu import Connection

from .geoip import geoip

logger = logging.getLogger(__name__)


def check_database() -> None:
    connection = connections["default"]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    finally:
        # Probes run in a worker thread; never leave a connection behind in it.
        connection.close()


def check_redis() -> None:
    client = redis.Redis.from_url(
        settings.REDIS_URL,
        socket_connect_timeout=settings.READY_CHECK_TIMEOUT,
        socket_timeout=settings.READY_CHECK_TIMEOUT,
    )
    try:
        client.ping()
    finally:
        client.close()


def check_broker() -> None:
    with Connection(
        settings.CELERY_BROKER_URL, connect_timeout=settings.READY_CHECK_TIMEOUT
    ) as conn:
        conn.ensure_connection(max_retries=1, timeout=settings.READY_CHECK_TIMEOUT)


READINESS_CHECKS: dict[str, Callable[[], None]] = {
    "database": check_database,
    "redis": check_redis,
    "broker": check_broker,
}


def run_readiness_checks() -> dict[str, str]:
    """``{dependency: "ok" | "down: <reason>"}``, each check bounded by a timeout."""
    results: dict[str, str] = {}
    timeout = settings.READY_CHECK_TIMEOUT + 1
    pool = ThreadPoolExecutor(max_workers=len(READINESS_CHECKS), thread_name_prefix="ready")
    try:
        futures = {name: pool.submit(check) for name, check in READINESS_CHECKS.items()}
        for name, future in futures.items():
            try:
                future.result(timeout=timeout)
                results[name] = "ok"
            except FutureTimeout:
                results[name] = f"down: no answer within {timeout:g}s"
            except Exception as exc:  # any failure means "not ready"; say which and why
                results[name] = f"down: {type(exc).__name__}: {str(exc).strip()[:200]}"
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    return results


def _json(payload: dict, status: int) -> HttpResponse:
    response = HttpResponse(json.dumps(payload), status=status, content_type="application/json")
    response["Cache-Control"] = "no-store"
    return response


def health_response() -> HttpResponse:
    return _json({"status": "ok"}, 200)


def optional_checks() -> dict[str, str]:
    """What works without it and is reported, never failing readiness: geolocation
    (off, on with each database's type and build date, or why a file cannot be read)."""
    return {"geoip": geoip.status()[1]}


def ready_response() -> HttpResponse:
    checks = run_readiness_checks()
    down = [name for name, result in checks.items() if result != "ok"]
    optional = optional_checks()
    if down:
        logger.warning("not ready: %s", ", ".join(f"{n} ({checks[n]})" for n in down))
        payload = {"status": "unavailable", "down": down, "checks": checks, "optional": optional}
        return _json(payload, 503)
    return _json({"status": "ok", "checks": checks, "optional": optional}, 200)


def metrics_response(request: HttpRequest) -> HttpResponse:
    """Prometheus text exposition; guarded by METRICS_TOKEN when one is configured. Wrong
    tokens count in the bearer-token throttle of the client's address, like API tokens."""
    from prometheus_client import CONTENT_TYPE_LATEST

    from .metrics import render_metrics

    if settings.METRICS_TOKEN:
        refused = _metrics_token_refused(request)
        if refused is not None:
            return refused
    return HttpResponse(render_metrics(), content_type=CONTENT_TYPE_LATEST)


def _metrics_token_refused(request: HttpRequest) -> HttpResponse | None:
    import hmac

    from .client_address import client_address
    from .throttling import token_failure_record, token_failures_wait
    from .tokens import bearer_token_from_header

    address = client_address(request.META)
    wait = token_failures_wait(address)
    if wait is not None:
        response = HttpResponse("too many refused tokens from your address\n", status=429)
        response["Retry-After"] = str(wait)
        return response
    presented = bearer_token_from_header(request.META.get("HTTP_AUTHORIZATION")) or ""
    if hmac.compare_digest(presented.encode(), settings.METRICS_TOKEN.encode()):
        return None
    token_failure_record(address)
    response = HttpResponse("metrics need the bearer token\n", status=401)
    response["WWW-Authenticate"] = 'Bearer realm="metrics"'
    return response
