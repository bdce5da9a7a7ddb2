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

from tests.conftest import ROOT, VENV_BIN

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
            str(VENV_BIN / "check-jsonschema"),
            "--builtin-schema",
            "vendor.compose-spec",
            str(COMPOSE),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(("name", "doc"), k8s_documents(), ids=lambda v: str(v)[:40])
def test_kubernetes_manifests_are_valid(name, doc):  # type: ignore[no-untyped-def]
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
def test_every_command_exists_in_the_code(where, command):  # type: ignore[no-untyped-def]
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


# ---- the database roles (docs/SECURITY.md): owner migrates, the application does not own


def _db_user(url: str) -> str:
    return urlparse(url).username or ""


def _ends_with_db_roles(command: list[str]) -> None:
    steps = [s.strip() for s in " ".join(command).split("&&")]
    assert [re.search(r"manage\.py (\w+)", s).group(1) for s in steps] == [
        "migrate",
        "bootstrap",
        "db_roles",
    ], steps


def test_compose_runs_the_application_as_the_role_db_roles_grants():
    services = compose_services()
    migrate = services["migrate"]
    _ends_with_db_roles(migrate["command"])
    owner = _db_user(migrate["environment"]["DATABASE_URL"])
    app_role = migrate["environment"]["DB_APP_ROLE"]
    assert owner == services["postgres"]["environment"]["POSTGRES_USER"]
    assert app_role and app_role != owner
    assert "DB_APP_PASSWORD" in migrate["environment"]
    for name in ("web", "worker", "beat", "syslog"):
        assert _db_user(services[name]["environment"]["DATABASE_URL"]) == app_role, name


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
