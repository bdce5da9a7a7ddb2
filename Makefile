# The two commands: `make run` starts everything with demo data; `make test` checks it all.
.PHONY: run test install lint typecheck layers schema lock screenshots

run:  ## install, start services, migrate, load demo data, run web + worker + beat + syslog
	@scripts/run.sh

test:  ## install, start services, lint, checks, schema validation, the whole test suite
	@scripts/test.sh $(PYTEST_ARGS)

install:
	@scripts/install.sh --dev

lint:
	@.venv/bin/ruff check .

typecheck:  ## mypy with the Django and DRF plugins (configuration: pyproject.toml)
	@.venv/bin/mypy

layers:  ## the import contracts between the apps, the floor and the roof (pyproject.toml)
	@.venv/bin/lint-imports --no-cache --no-logo

schema:  ## regenerate the committed OpenAPI schema
	@SECRET_KEY=$${SECRET_KEY:-schema-only} .venv/bin/python manage.py spectacular --validate --fail-on-warn --file docs/openapi.yaml

screenshots:  ## the console guide's pictures (docs/img/): the demo story in Chromium at 1400 px
	@if [ -f .env ]; then set -a; . ./.env; set +a; fi; \
		SOCAPP_SCREENSHOTS_DIR=docs/img .venv/bin/pytest -q tests/incidents/test_demo_story_browser.py

lock:  ## re-pin requirements*.txt from requirements*.in (needs pip-tools in .venv)
	@.venv/bin/pip-compile --quiet --strip-extras --no-header --no-emit-index-url \
		--no-emit-find-links --no-annotate -o requirements.txt requirements.in
	@.venv/bin/pip-compile --quiet --strip-extras --no-header --no-emit-index-url \
		--no-emit-find-links --no-annotate -o requirements-dev.txt requirements-dev.in
