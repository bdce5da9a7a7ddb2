#!/usr/bin/env bash
# `make test`: install, make the services available, run every check and the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install.sh --dev
if [[ -f .env ]]; then set -a; . ./.env; set +a; fi
# Tests create their own databases (test_<name>) on the configured server.
.venv/bin/python scripts/services.py --no-create-db

# Real syslog clients for the listener's tests: util-linux logger and Debian's rsyslog.
if ! command -v rsyslogd >/dev/null || ! command -v logger >/dev/null; then
    if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
        echo "==> installing rsyslog and logger (apt-get) for the syslog listener tests"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q rsyslog bsdutils >/dev/null
    else
        echo "!! rsyslog/logger missing: the tests that use them will be skipped." >&2
        echo "   Install them with: sudo apt-get install -y rsyslog bsdutils" >&2
    fi
fi

# A real browser for the console's browser tests: Debian's chromium, driven by Playwright
# (which cannot download its own browsers here).
if ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null; then
    if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
        echo "==> installing chromium (apt-get) for the browser tests"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null
    else
        echo "!! chromium missing: the browser tests will fail." >&2
        echo "   Install it with: sudo apt-get install -y chromium" >&2
    fi
fi

# nginx for the docker-compose front-door test (tests/test_nginx_tls.py): Debian's binary
# unpacked into var/tools/ rather than installed, so no nginx service starts on port 80.
NGINX_DIR=var/tools/nginx
if ! command -v nginx >/dev/null && [[ ! -x $NGINX_DIR/usr/sbin/nginx ]] && command -v apt-get >/dev/null; then
    echo "==> unpacking Debian's nginx into $NGINX_DIR for the front-door test"
    scratch=$(mktemp -d)
    if (cd "$scratch" && apt-get download -q nginx >/dev/null 2>&1) \
        && mkdir -p "$NGINX_DIR" && dpkg-deb -x "$scratch"/nginx_*.deb "$NGINX_DIR"; then :; else
        echo "!! could not fetch Debian's nginx: the front-door test will be skipped." >&2
    fi
    rm -rf "$scratch"
fi

PY=.venv/bin/python
export SECRET_KEY=${SECRET_KEY:-check-only-$(date +%s)}

echo "==> ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "==> mypy"
make --no-print-directory typecheck
echo "==> layer contracts (import-linter)"
make --no-print-directory layers
echo "==> manage.py check"
$PY manage.py check --fail-level WARNING
echo "==> makemigrations --check"
$PY manage.py makemigrations --check --dry-run 2>/dev/null
echo "==> manage.py check --deploy (production settings)"
SECRET_KEY=$($PY -c 'import secrets; print(secrets.token_urlsafe(50))') \
FIELD_ENCRYPTION_KEYS=$($PY -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())') \
METRICS_TOKEN=$($PY -c 'import secrets; print(secrets.token_urlsafe(32))') \
ALLOWED_HOSTS=soc.example.com DEBUG=false \
    $PY manage.py check --deploy --fail-level WARNING --settings=socapp.settings.production
echo "==> OpenAPI schema (spectacular --validate --fail-on-warn)"
$PY manage.py spectacular --validate --fail-on-warn --file /dev/null
echo "==> pytest"
# One pytest-xdist worker per core, at most four: most tests wait on PostgreSQL, Redis,
# real worker processes or Chromium, so two workers on two cores halve the wall time.
# Each worker has its own test database (test_<name>_gw<n>) and Redis databases
# (socapp/settings/test.py has room for four). `make test PYTEST_ARGS="-n 0"` runs serially.
# The slowest tests are listed at the end: the suite must stay under ~30 minutes.
exec .venv/bin/pytest --create-db --durations=30 --numprocesses=auto --maxprocesses=4 "$@"
