#!/usr/bin/env bash
# `make run`: install, make the services available, migrate, load demo data, start all.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install.sh

# First start: a .env with random secrets, so nothing secret is ever committed.
if [[ ! -f .env ]]; then
    echo "==> writing .env with fresh random secrets (see .env.example for every setting)"
    .venv/bin/python - <<'PY'
import secrets
from cryptography.fernet import Fernet
with open(".env", "w") as fh:
    fh.write("# Written by `make run` on first start; local only, never commit it.\n")
    fh.write(f"SECRET_KEY={secrets.token_urlsafe(50)}\n")
    fh.write(f"FIELD_ENCRYPTION_KEYS={Fernet.generate_key().decode()}\n")
    fh.write(f"AUDIT_HMAC_KEY={secrets.token_hex(32)}\n")
PY
    chmod 600 .env
fi
set -a
# shellcheck disable=SC1091
. ./.env
set +a

.venv/bin/python scripts/services.py
echo "==> migrating the database"
.venv/bin/python manage.py migrate --noinput
.venv/bin/python manage.py collectstatic --noinput --verbosity 0
echo "==> loading reference and demo data"
.venv/bin/python manage.py bootstrap --demo
exec .venv/bin/python scripts/supervise.py
