"""What a JWT costs next to a personal API token, against the real PostgreSQL and Redis.

    .venv/bin/python bench/jwt_bench.py [--repeats 40]

In-process requests (Django's test client: middleware, authentication, view, queries;
no network), alternating request by request so that both kinds see the same machine:

1. GET /api/v1/me/ with a personal API token and with a JWT access token.
2. POST /api/v1/auth/token/refresh/ (each time with the refresh token the last one
   returned: rotation, one row lock and update).
3. POST /api/v1/auth/token/ (the password exchange; Argon2 as in production).
4. A forged JWT (wrong signature; refused before any lookup) and an unknown personal
   token, both answered 401 (audit entries only counted, beyond the burst).

Prints medians and p95 as Markdown. Uses a database of its own (socapp_jwt_bench),
dropped at the end; Redis from REDIS_URL.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import audit_bench  # noqa: E402
from ingest_bench import machine  # noqa: E402

audit_bench.DB_NAME = "socapp_jwt_bench"
PASSWORD = "bench password of the integration"  # noqa: S105  a throwaway bench user


def ms(value: float) -> str:
    return f"{value * 1000:.1f} ms"


def setup():
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from socapp import roles
    from socapp.services import api_token_create

    settings.JWT_ENABLED = True
    settings.JWT_SIGNING_KEY = "bench-only-jwt-signing-key-" + "b" * 32
    settings.TOKEN_FAILURE_LIMIT = 10**9  # the bench counts time, not the throttle
    settings.LOGIN_FAILURE_LIMIT = 10**9
    user = get_user_model().objects.create_user("bench_integration", password=PASSWORD)
    user.groups.add(Group.objects.get(name=roles.INTEGRATION))
    _, personal = api_token_create(user=user, actor=user, expires_days=1)
    return user, personal


def timed(call) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def _refresh(client, pair: dict):
    """Spend the pair's refresh token; the pair takes the new tokens."""
    response = client.post("/api/v1/auth/token/refresh/", {"refresh": pair["refresh"]})
    if response.status_code == 200:
        pair.update(response.json())
    return response


def run(repeats: int) -> dict[str, list[float]]:
    from django.test import Client

    _, personal = setup()
    client = Client(HTTP_HOST="127.0.0.1")
    credentials = {"username": "bench_integration", "password": PASSWORD}
    pair = client.post("/api/v1/auth/token/", credentials).json()
    samples: dict[str, list[float]] = {}

    def sample(name: str, call, status: int) -> None:
        def checked() -> None:
            answer = call()
            assert answer.status_code == status, (name, answer.status_code, answer.content)

        samples.setdefault(name, []).append(timed(checked))

    forged = pair["access"][:-4] + "AAAA"
    for _ in range(repeats):
        for name, token in (
            ("GET /api/v1/me/, personal token", personal),
            ("GET /api/v1/me/, JWT", pair["access"]),
        ):
            sample(
                name,
                lambda t=token: client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {t}"),
                200,
            )
        sample("POST refresh (rotation)", lambda: _refresh(client, pair), 200)
        sample(
            "a forged JWT (401)",
            lambda: client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {forged}"),
            401,
        )
        sample(
            "an unknown personal token (401)",
            lambda: client.get("/api/v1/me/", HTTP_AUTHORIZATION="Bearer socapp_pat_" + "q" * 43),
            401,
        )
    for _ in range(max(5, repeats // 4)):
        sample(
            "POST /api/v1/auth/token/ (password, Argon2)",
            lambda: client.post("/api/v1/auth/token/", credentials),
            200,
        )
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=40)
    args = parser.parse_args()
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/socapp")
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key")
    audit_bench.prepare(base)
    try:
        samples = run(args.repeats)
    finally:
        audit_bench.drop(base)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(f"\n## JWT costs ({stamp}; {machine()})\n")
    print("| request | median | p95 | n |\n|---|---|---|---|")
    for name, values in samples.items():
        print(
            f"| {name} | {ms(statistics.median(values))} | "
            f"{ms(audit_bench.p95(values))} | {len(values)} |"
        )


if __name__ == "__main__":
    main()
