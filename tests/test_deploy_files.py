"""docker-compose.yml and deploy/k8s/, checked offline (no container engine runs here):
valid against their schemas, and every command, port and setting they use exists."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from urllib.parse import urlparse

import kubernetes_validate
import pytest
import yaml
from django.conf import settings
from django.core.management import get_commands
from django.test import Client

from scripts.processes import BIN
from tests.conftest import ROOT

K8S = ROOT / "deploy" / "k8s"
COMPOSE = ROOT / "docker-compose.yml"


def k8s_documents() -> list[tuple[str, dict]]:
    docs = []
    for path in sorted(K8S.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        docs += [(path.name, doc) for doc in yaml.safe_load_all(path.read_text()) if doc]
    return docs


def containers() -> list[tuple[str, dict]]:
    out = []
    for name, doc in k8s_documents():
        spec = doc.get("spec", {}).get("template", {}).get("spec", {})
        out += [(f"{name}:{c['name']}", c) for c in spec.get("containers", [])]
    return out


def compose_services() -> dict[str, dict]:
    return yaml.safe_load(COMPOSE.read_text())["services"]


def settings_read_from_env() -> set[str]:
    names = set()
    for path in (ROOT / "socapp" / "settings").glob("*.py"):
        names |= set(re.findall(r'env(?:\.\w+)?\(\s*"([A-Z0-9_]+)"', path.read_text()))
    return names | {"DJANGO_SETTINGS_MODULE"}


def test_compose_file_is_valid_against_the_compose_spec():
    result = subprocess.run(
        [
            str(BIN / "check-jsonschema"),
            "--builtin-schema",
            "vendor.compose-spec",
            str(COMPOSE),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(("name", "doc"), k8s_documents(), ids=lambda v: str(v)[:40])
def test_kubernetes_manifests_are_valid(name, doc):
    kubernetes_validate.validate(doc, "1.37.0", strict=True)


def test_kustomization_lists_every_manifest():
    listed = set(yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"])
    assert listed == {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}


def test_compose_has_the_seeds_services_replicas_and_limits():
    services = compose_services()
    assert {
        "postgres",
        "redis",
        "rabbitmq",
        "web",
        "worker",
        "beat",
        "syslog",
        "nginx",
        "prometheus",
        "grafana",
    } <= set(services)
    assert services["web"]["deploy"]["replicas"] == 3
    assert services["web"]["deploy"]["resources"]["limits"] == {"memory": "1G", "cpus": "0.5"}
    assert services["beat"]["deploy"]["replicas"] == 1
    assert services["postgres"]["image"].startswith("postgres:15")
    assert services["redis"]["image"].startswith("redis:7")


def test_kubernetes_follows_the_seeds_deployment_shape():
    docs = {(d["kind"], d["metadata"]["name"]): d for _, d in k8s_documents()}
    web = docs[("Deployment", "socapp-web")]["spec"]
    assert web["replicas"] == 3
    container = web["template"]["spec"]["containers"][0]
    assert container["resources"] == {
        "requests": {"memory": "512Mi", "cpu": "250m"},
        "limits": {"memory": "1Gi", "cpu": "500m"},
    }
    assert container["livenessProbe"]["httpGet"] == {"path": "/health", "port": 8000}
    assert container["readinessProbe"]["httpGet"] == {"path": "/ready", "port": 8000}
    assert docs[("Deployment", "socapp-beat")]["spec"]["replicas"] == 1
    assert ("Job", "socapp-migrate") in docs
    assert ("Service", "socapp-web") in docs and ("Ingress", "socapp-ingress") in docs
    assert ("Deployment", "socapp-syslog") in docs and ("Service", "socapp-syslog") in docs


def _commands() -> list[tuple[str, list[str]]]:
    found = [(f"k8s {name}", c["command"]) for name, c in containers()]
    for name, service in compose_services().items():
        if isinstance(service.get("command"), list):
            found.append((f"compose {name}", service["command"]))
    return found


@pytest.mark.parametrize(("where", "command"), _commands(), ids=lambda v: str(v)[:30])
def test_every_command_exists_in_the_code(where, command):
    text = " ".join(command)
    for management_command in re.findall(r"manage\.py (\w+)", text):
        assert management_command in get_commands(), f"{where}: no command {management_command}"
    if command[0] == "celery":
        assert command[1:3] == ["-A", "socapp"]
        if "--queues" in command:
            queues = set(command[command.index("--queues") + 1].split(","))
            assert queues == set(settings.CELERY_QUEUES_ALL.split(","))
            routed = {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()}
            assert routed <= queues
    if "syslogd" in command:
        port = str(settings.SYSLOG_UDP_PORT)
        assert command[command.index("--udp-port") + 1] == port
        assert command[command.index("--tcp-port") + 1] == port
    if command[0] == "uvicorn":
        assert command[1] == settings.ASGI_APPLICATION.replace(".application", ":application")
        assert command[command.index("--port") + 1] == "8000"


def test_every_environment_variable_is_read_by_the_settings():
    known = settings_read_from_env()
    used = set()
    for _, container in containers():
        used |= {e["name"] for e in container.get("env", [])}
    for _, doc in k8s_documents():
        if doc["kind"] == "ConfigMap":
            used |= set(doc["data"])
    compose = yaml.safe_load(COMPOSE.read_text())
    used |= set(compose["x-app"]["environment"])
    assert used, "no environment found"
    assert used <= known, f"not read by socapp/settings: {sorted(used - known)}"
    assert {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "SECRET_KEY"} <= known


def test_env_example_documents_every_setting():
    example = (ROOT / ".env.example").read_text()
    documented = set(re.findall(r"^#?\s*([A-Z0-9_]+)=", example, re.MULTILINE))
    missing = settings_read_from_env() - documented - {"DJANGO_SETTINGS_MODULE"}
    assert not missing, f".env.example does not mention {sorted(missing)}"


@pytest.mark.django_db
def test_the_probe_paths_in_the_manifests_answer():
    client = Client()
    for _, container in containers():
        for probe in ("livenessProbe", "readinessProbe"):
            path = container.get(probe, {}).get("httpGet", {}).get("path")
            if path:
                assert client.get(path, HTTP_HOST="10.0.0.7:8000").status_code == 200


def test_nginx_and_prometheus_point_at_the_web_port():
    nginx = (ROOT / "deploy" / "nginx" / "nginx.conf").read_text()
    assert "server web:8000;" in nginx
    prometheus = yaml.safe_load((ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text())
    job = prometheus["scrape_configs"][0]
    assert job["metrics_path"] == "/metrics" and job["dns_sd_configs"][0]["port"] == 8000


def test_dockerfile_installs_the_pinned_requirements():
    dockerfile = (ROOT / "deploy" / "docker" / "Dockerfile").read_text()
    assert "pip install -r requirements.txt" in dockerfile
    assert Path(ROOT / "requirements.txt").read_text().count("==") > 20


# --- TLS, production settings and the metrics token (docker-compose, k8s) ------------

NGINX = ROOT / "deploy" / "nginx" / "nginx.conf"
PROMETHEUS = ROOT / "deploy" / "prometheus" / "prometheus.yml"
# What socapp.settings.production refuses to start without.
PRODUCTION_SECRETS = ("SECRET_KEY", "FIELD_ENCRYPTION_KEYS", "METRICS_TOKEN")


def interpolate(value: str, provided: dict[str, str]) -> str:
    """Compose's ${NAME}, ${NAME:-default} and ${NAME:?error}, as `docker compose` reads
    them with ``provided`` as the .env file."""

    def one(match: re.Match) -> str:
        name, op, rest = match.group(1), match.group(2), match.group(3) or ""
        value = provided.get(name, "")
        if value or op is None:  # with ":-" and ":?", empty counts as unset
            return value
        if op == ":?":
            raise KeyError(f"compose would stop: {rest}")
        return rest

    return re.sub(r"\$\{(\w+)(:[-?])?([^}]*)\}", one, value)


def compose_app_env(provided: dict[str, str]) -> dict[str, str]:
    environment = yaml.safe_load(COMPOSE.read_text())["x-app"]["environment"]
    return {name: interpolate(str(value), provided) for name, value in environment.items()}


def operator_env() -> dict[str, str]:
    """What an operator puts in .env, as the compose file's header asks."""
    import secrets

    from cryptography.fernet import Fernet

    return {
        "SECRET_KEY": secrets.token_urlsafe(50),
        "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "METRICS_TOKEN": secrets.token_urlsafe(32),
        **{name: secrets.token_urlsafe(16) for name in SERVICE_PASSWORDS},
    }


# Passwords of compose's services: none has a default in the file, so none is guessable.
SERVICE_PASSWORDS = (
    "POSTGRES_PASSWORD",
    "RABBITMQ_PASSWORD",
    "DB_APP_PASSWORD",
    "GRAFANA_ADMIN_PASSWORD",
)


def compose_environments(provided: dict[str, str]) -> dict[str, dict[str, str]]:
    """Every service's environment as compose would give it, with ``provided`` as .env."""
    compose = yaml.safe_load(COMPOSE.read_text())
    found = {"x-app": compose["x-app"]["environment"]}
    for name, service in compose["services"].items():
        environment = service.get("environment") or {}
        if isinstance(environment, dict):
            found[name] = environment
    return {
        name: {key: interpolate(str(value), provided) for key, value in env.items()}
        for name, env in found.items()
    }


@pytest.mark.parametrize("missing", SERVICE_PASSWORDS)
def test_compose_stops_without_each_service_password(missing):
    given = operator_env()
    environments = compose_environments(given)
    assert any(given[missing] in value for env in environments.values() for value in env.values())
    with pytest.raises(KeyError, match=f"set {missing} in .env"):
        compose_environments({**given, missing: ""})


def nginx_http_block() -> list[dict]:
    import crossplane

    parsed = crossplane.parse(str(NGINX), comments=False)
    assert parsed["status"] == "ok", parsed["errors"]
    [http] = [d for d in parsed["config"][0]["parsed"] if d["directive"] == "http"]
    return http["block"]


def directives(block: list[dict], name: str) -> list[dict]:
    """Every ``name`` directive in ``block`` and the blocks inside it."""
    found = []
    for directive in block:
        if directive["directive"] == name:
            found.append(directive)
        found += directives(directive.get("block", []), name)
    return found


def servers_by_port() -> dict[str, dict]:
    servers = {}
    for server in (d for d in nginx_http_block() if d["directive"] == "server"):
        for listen in directives(server["block"], "listen"):
            servers[listen["args"][0]] = server
    return servers


def run_python(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "python"), *args], cwd=ROOT, env=env, capture_output=True, text=True
    )


def production_env(app_env: dict[str, str]) -> dict[str, str]:
    import os

    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    return {**keep, **app_env}


def test_compose_runs_production_settings_and_they_pass_check_deploy():
    with pytest.raises(KeyError, match="set METRICS_TOKEN"):
        compose_app_env({**operator_env(), "METRICS_TOKEN": ""})
    environment = compose_app_env(operator_env())
    assert environment["DJANGO_SETTINGS_MODULE"] == "socapp.settings.production"
    assert all(o.startswith("https://") for o in environment["CSRF_TRUSTED_ORIGINS"].split(","))
    assert environment["SITE_URL"].startswith("https://")
    result = run_python(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        production_env(environment),
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("token", ["", "too-short"])
def test_production_settings_refuse_to_start_without_a_metrics_token(token):
    environment = compose_app_env(operator_env()) | {"METRICS_TOKEN": token}
    result = run_python(["manage.py", "check", "--deploy"], production_env(environment))
    assert result.returncode != 0
    assert "METRICS_TOKEN must be set in production, at least 32 characters" in result.stderr


def test_behind_nginx_production_pages_are_https_only():
    """Production settings with the compose environment, asked as nginx forwards: plain
    requests are sent to HTTPS, forwarded HTTPS ones get HSTS and secure cookies."""
    script = (
        "import django; django.setup()\n"
        "from django.test import Client\n"
        "c = Client()\n"
        "plain = c.get('/accounts/login/', HTTP_HOST='localhost')\n"
        "tls = c.get('/accounts/login/', HTTP_HOST='localhost', HTTP_X_FORWARDED_PROTO='https')\n"
        "print(plain.status_code, plain['Location'])\n"
        "print(tls.status_code, tls['Strict-Transport-Security'])\n"
        "print(tls.cookies['csrftoken']['secure'], 'Content-Security-Policy' in tls)\n"
    )
    result = run_python(["-c", script], production_env(compose_app_env(operator_env())))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "301 https://localhost/accounts/login/",
        "200 max-age=31536000; includeSubDomains; preload",
        "True True",
    ]


def test_nginx_sends_plain_http_to_https_and_ends_tls():
    servers = servers_by_port()
    assert set(servers) == {"80", "443"}
    plain = servers["80"]["block"]
    assert directives(plain, "proxy_pass") == []  # nothing is served over plain HTTP
    [redirect] = directives(plain, "return")
    assert redirect["args"] == ["301", "https://$host$request_uri"]

    tls = servers["443"]["block"]
    [listen] = directives(tls, "listen")
    assert "ssl" in listen["args"]
    [protocols] = directives(tls, "ssl_protocols")
    assert set(protocols["args"]) <= {"TLSv1.2", "TLSv1.3"}
    metrics = [d for d in directives(tls, "location") if d["args"] == ["=", "/metrics"]]
    assert metrics and directives(metrics[0]["block"], "return")[0]["args"] == ["404"]


def test_nginx_overwrites_the_forwarded_headers_django_trusts():
    tls = servers_by_port()["443"]["block"]
    proxied = [loc for loc in directives(tls, "location") if directives(loc["block"], "proxy_pass")]
    assert {tuple(loc["args"]) for loc in proxied} == {("/ws/",), ("/",)}
    for location in proxied:
        headers = {
            d["args"][0]: d["args"][1] for d in directives(location["block"], "proxy_set_header")
        }
        # Django's SECURE_PROXY_SSL_HEADER reads this one; a client's own never passes.
        assert headers["X-Forwarded-Proto"] == "https"
        assert headers["X-Forwarded-For"] == "$remote_addr"
        assert headers["Host"] == "$http_host"  # with the port the browser used


def test_the_certificate_service_writes_what_nginx_reads(tmp_path):
    import ssl

    services = compose_services()
    certs, nginx = services["certs"], services["nginx"]
    assert nginx["depends_on"]["certs"] == {"condition": "service_completed_successfully"}
    command = [interpolate(part, {}) for part in certs["command"]]
    out_dir = command[command.index("--dir") + 1]
    assert f"tls:{out_dir}" in certs["volumes"]
    tls_mount = next(v for v in nginx["volumes"] if v.startswith("tls:"))
    nginx_dir = tls_mount.split(":")[1]
    tls = servers_by_port()["443"]["block"]
    certificate = directives(tls, "ssl_certificate")[0]["args"][0]
    key = directives(tls, "ssl_certificate_key")[0]["args"][0]
    assert (Path(certificate).parent, Path(key).parent) == (Path(nginx_dir), Path(nginx_dir))

    # Run the service's own command, with a scratch directory for the volume.
    command[command.index("--dir") + 1] = str(tmp_path)
    assert command[:3] == ["python", "-m", "socapp.selfsigned"]
    first = run_python(command[1:], production_env({}))
    assert first.returncode == 0 and "wrote" in first.stdout, first.stderr
    written_cert = (tmp_path / Path(certificate).name).read_bytes()
    key_path = tmp_path / Path(key).name
    assert key_path.stat().st_mode & 0o777 == 0o600
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(tmp_path / Path(certificate).name, key_path)  # a matching pair
    ssl.create_default_context(cafile=str(tmp_path / Path(certificate).name))  # it parses
    from cryptography import x509

    san = x509.load_pem_x509_certificate(written_cert).extensions.get_extension_for_class(
        x509.SubjectAlternativeName
    )
    assert "localhost" in san.value.get_values_for_type(x509.DNSName)
    assert "127.0.0.1" in {str(a) for a in san.value.get_values_for_type(x509.IPAddress)}
    # A restart keeps the certificate browsers were told to trust.
    again = run_python(command[1:], production_env({}))
    assert again.returncode == 0 and "kept" in again.stdout
    assert (tmp_path / Path(certificate).name).read_bytes() == written_cert


@pytest.mark.django_db
def test_prometheus_sends_the_token_the_web_tier_checks(tmp_path, settings):
    compose = yaml.safe_load(COMPOSE.read_text())
    assert compose["secrets"]["metrics_token"] == {"environment": "METRICS_TOKEN"}
    assert "metrics_token" in compose["services"]["prometheus"]["secrets"]
    assert compose["x-app"]["environment"]["METRICS_TOKEN"].startswith("${METRICS_TOKEN:?")
    job = yaml.safe_load(PROMETHEUS.read_text())["scrape_configs"][0]
    assert job["authorization"]["type"] == "Bearer"
    secret_file = job["authorization"]["credentials_file"]
    assert secret_file == "/run/secrets/metrics_token"  # where compose mounts the secret

    # The scrape as Prometheus makes it: the file's content (trimmed) as the bearer token.
    token = operator_env()["METRICS_TOKEN"]
    (tmp_path / "metrics_token").write_text(token + "\n")
    settings.METRICS_TOKEN = token
    bearer = (tmp_path / "metrics_token").read_text().strip()
    client = Client()
    assert client.get("/metrics", HTTP_HOST="web:8000").status_code == 401
    scraped = client.get("/metrics", HTTP_HOST="web:8000", HTTP_AUTHORIZATION=f"Bearer {bearer}")
    assert scraped.status_code == 200 and b"socapp_http_requests" in scraped.content


def test_kubernetes_runs_production_settings_with_the_metrics_token_in_the_secret():
    [configmap] = [doc for _, doc in k8s_documents() if doc["kind"] == "ConfigMap"]
    assert configmap["data"]["DJANGO_SETTINGS_MODULE"] == "socapp.settings.production"
    assert not set(PRODUCTION_SECRETS) & set(configmap["data"]), "secrets in a ConfigMap"
    for name, container in containers():
        sources = [s.get("secretRef", {}).get("name") for s in container.get("envFrom", [])]
        assert "socapp-secrets" in sources, name
    readme = (K8S / "README.md").read_text()
    create_secret = readme[readme.index("create secret generic socapp-secrets") :]
    create_secret = create_secret[: create_secret.index("```")]
    for secret in PRODUCTION_SECRETS:
        assert f"--from-literal={secret}=" in create_secret, secret


# ---- the database roles (docs/SECURITY.md): owner migrates, the application does not own


def _db_user(url: str) -> str:
    return urlparse(url).username or ""


def _ends_with_db_roles(command: list[str]) -> None:
    steps = [s.strip() for s in " ".join(command).split("&&")]
    assert [m.group(1) if (m := re.search(r"manage\.py (\w+)", s)) else s for s in steps] == [
        "migrate",
        "bootstrap",
        "db_roles",
    ], steps


def test_compose_runs_the_application_as_the_role_db_roles_grants():
    services = compose_services()
    migrate = services["migrate"]
    _ends_with_db_roles(migrate["command"])
    given = operator_env()
    environments = compose_environments(given)
    owner = _db_user(environments["migrate"]["DATABASE_URL"])
    app_role = migrate["environment"]["DB_APP_ROLE"]
    assert owner == services["postgres"]["environment"]["POSTGRES_USER"]
    assert app_role and app_role != owner
    assert environments["migrate"]["DB_APP_PASSWORD"] == given["DB_APP_PASSWORD"]
    for name in ("web", "worker", "beat", "syslog"):
        url = interpolate(services[name]["environment"]["DATABASE_URL"], given)
        assert _db_user(url) == app_role, name


def test_kubernetes_runs_the_application_as_the_role_db_roles_grants():
    by_name = dict(containers())
    job = by_name["migrate-job.yaml:migrate"]
    _ends_with_db_roles(job["command"])
    (override,) = [e for e in job["env"] if e["name"] == "DATABASE_URL"]
    assert override["valueFrom"]["secretKeyRef"]["key"] == "MIGRATE_DATABASE_URL"
    for name, container in by_name.items():
        if name != "migrate-job.yaml:migrate":
            assert "DATABASE_URL" not in {e["name"] for e in container.get("env", [])}, name
    (config,) = [d for _, d in k8s_documents() if d["kind"] == "ConfigMap"]
    app_role = config["data"]["DB_APP_ROLE"]
    readme = (K8S / "README.md").read_text()
    secret_users = dict(
        re.findall(r"--from-literal=(\w*DATABASE_URL)=\"?postgres://(\w+):", readme)
    )
    assert secret_users["DATABASE_URL"] == app_role
    assert secret_users["MIGRATE_DATABASE_URL"] not in ("", app_role)
