"""The authorization matrix's size, for docs/SECURITY.md (counts only; nothing is sent):

    DJANGO_SETTINGS_MODULE=socapp.settings.test SECRET_KEY=x \\
        .venv/bin/python -m tests.authz.figures
"""

from __future__ import annotations

from collections import Counter


def _kind(route) -> str:
    if route.kind != "http":
        return route.kind
    if route.path.startswith("/admin/"):
        return "admin"
    return "api" if route.path.startswith(("/api/", "/services/")) else "pages"


def main() -> None:
    import django

    django.setup()
    from .policy import Policy
    from .routes import all_routes
    from .world import PERSONAS

    policy = Policy.load()
    routes = all_routes()
    kinds: Counter[str] = Counter()
    rows, allowed = 0, 0
    for route in routes:
        found, missing = policy.rows(route)
        assert not missing, missing
        kind = _kind(route)
        kinds[kind] += 1
        rows += len(found)
        allowed += sum(len(row.allowed) for row in found)
    cases = rows * len(PERSONAS)
    print(f"routes: {len(routes)} ({', '.join(f'{k} {n}' for k, n in sorted(kinds.items()))})")
    print(f"rows (route x variant x method): {rows}")
    print(f"personas: {len(PERSONAS)}")
    print(f"cases: {cases} ({allowed} allowed, {cases - allowed} denied by the policy)")
    print(f"policy entries: {len(policy.routes)}; known gaps: {len(policy.gaps)}")


if __name__ == "__main__":
    main()
