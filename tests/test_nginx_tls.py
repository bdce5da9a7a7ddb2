"""docker-compose's front door for real, without a container engine: the nginx binary
with deploy/nginx/nginx.conf (addresses and paths pointed at this test), the
certificate socapp.selfsigned writes, and uvicorn running socapp.settings.production
with the compose environment. Plain HTTP is sent to HTTPS; over TLS the pages carry
HSTS, secure cookies and the CSP; a person logs in and the live websocket opens over
wss; /metrics is not served to the outside and needs its token inside.

Needs an nginx binary: NGINX_BIN, PATH, or var/tools/nginx where `make test` unpacks
Debian's package (scripts/test.sh); without one the test is skipped and
tests/test_deploy_files.py still checks the configuration offline."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import ssl
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from scripts.processes import BIN, ProcessGroup, free_port, manage, start, start_web, wait_until
from tests.conftest import PASSWORD, ROOT, app_env
from tests.live_console import web_passwords

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

NGINX_CONF = ROOT / "deploy" / "nginx" / "nginx.conf"


# Where `make test` unpacks Debian's nginx when none is installed (scripts/test.sh).
UNPACKED_NGINX = ROOT / "var" / "tools" / "nginx" / "usr" / "sbin" / "nginx"


def nginx_binary() -> str | None:
    if os.environ.get("NGINX_BIN"):
        return os.environ["NGINX_BIN"]
    return shutil.which("nginx") or (str(UNPACKED_NGINX) if UNPACKED_NGINX.exists() else None)


@dataclass
class FrontDoor:
    http_port: int
    https_port: int
    web_port: int
    cafile: Path
    metrics_token: str

    @property
    def origin(self) -> str:
        return f"https://localhost:{self.https_port}"


def _nginx_conf(tmp: Path, web_port: int, http_port: int, https_port: int) -> Path:
    """The shipped configuration with only addresses and paths changed."""
    text = NGINX_CONF.read_text()
    replacements = [
        ("server web:8000;", f"server 127.0.0.1:{web_port};"),
        ("resolver 127.0.0.11 valid=10s;", ""),
        ("listen 80 default_server;", f"listen 127.0.0.1:{http_port} default_server;"),
        ("listen 443 ssl default_server;", f"listen 127.0.0.1:{https_port} ssl default_server;"),
        ("/etc/nginx/tls/", f"{tmp}/tls/"),
    ]
    for old, new in replacements:
        assert old in text, f"deploy/nginx/nginx.conf no longer has {old!r}"
        text = text.replace(old, new)
    temp_paths = "".join(
        f"    {name}_temp_path {tmp}/{name};\n"
        for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    text = text.replace("http {\n", f"http {{\n    access_log off;\n{temp_paths}", 1)
    user = "user root;\n" if os.geteuid() == 0 else ""
    conf = tmp / "nginx.conf"
    conf.write_text(f"{user}pid {tmp}/nginx.pid;\nerror_log {tmp}/error.log;\n{text}")
    return conf


@pytest.fixture
def front_door(tmp_path: Path, settings, analyst_a) -> Iterator[FrontDoor]:
    binary = nginx_binary()
    if binary is None:
        pytest.skip("no nginx binary (set NGINX_BIN or install nginx-light)")
    web_passwords(settings, analyst_a)
    subprocess.run(
        [str(BIN / "python"), "-m", "socapp.selfsigned", "--dir", str(tmp_path / "tls"),
         "--hostname", "localhost"],
        cwd=ROOT, check=True, capture_output=True,
    )  # fmt: skip
    web_port, http_port, https_port = free_port(), free_port(), free_port()
    token = secrets.token_urlsafe(32)
    env = app_env(
        DJANGO_SETTINGS_MODULE="socapp.settings.production",
        SECRET_KEY=settings.SECRET_KEY,
        FIELD_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        METRICS_TOKEN=token,
        ALLOWED_HOSTS="localhost,127.0.0.1",
        CSRF_TRUSTED_ORIGINS=f"https://localhost:{https_port}",
        STATIC_ROOT=str(tmp_path / "static"),
    )
    manage("collectstatic", "--noinput", "-v", "0", env=env)
    for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp_path / name).mkdir()
    conf = _nginx_conf(tmp_path, web_port, http_port, https_port)
    checked = subprocess.run([binary, "-t", "-c", str(conf)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    door = FrontDoor(http_port, https_port, web_port, tmp_path / "tls" / "tls.crt", token)
    with ProcessGroup() as procs:
        procs.add(start_web(web_port, env=env, output=tmp_path / "web.log"))
        nginx = [binary, "-c", str(conf), "-g", "daemon off;"]
        procs.add(start(nginx, env=env, output=tmp_path / "n.log"))
        wait_until(lambda: _answers(door, "/health"), timeout=60, what="nginx and uvicorn")
        yield door


def _tls(door: FrontDoor) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(door.cafile))


def _answers(door: FrontDoor, path: str) -> bool:
    try:
        with urllib.request.urlopen(f"{door.origin}{path}", context=_tls(door), timeout=2):
            return True
    except (OSError, urllib.error.HTTPError):
        return False


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def test_compose_front_door_serves_production_over_tls_only(front_door):
    import requests
    from websockets.sync.client import connect

    door = front_door
    # Plain HTTP: only a redirect to HTTPS, whatever the client claims.
    plain = urllib.request.build_opener(_NoRedirect)
    request = urllib.request.Request(
        f"http://localhost:{door.http_port}/alerts/?status=new",
        headers={"X-Forwarded-Proto": "https"},
    )
    with pytest.raises(urllib.error.HTTPError) as redirect:
        plain.open(request, timeout=10)
    assert redirect.value.code == 301
    assert redirect.value.headers["Location"] == "https://localhost/alerts/?status=new"

    # HTTPS, verified against the generated certificate for the name "localhost".
    browser = requests.Session()
    browser.trust_env = False  # REQUESTS_CA_BUNDLE would otherwise replace verify
    browser.verify = str(door.cafile)
    login = browser.get(f"{door.origin}/accounts/login/", timeout=10)
    assert login.status_code == 200
    assert login.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert "script-src 'self'" in login.headers["Content-Security-Policy"]
    assert f"wss://localhost:{door.https_port}" in login.headers["Content-Security-Policy"]
    assert re.search(r"csrftoken=[^;]+;.*Secure", login.headers["Set-Cookie"], re.IGNORECASE)
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login.text).group(1)
    home = browser.post(
        f"{door.origin}/accounts/login/",
        data={"username": "analyst_a", "password": PASSWORD, "csrfmiddlewaretoken": csrf},
        headers={"Referer": f"{door.origin}/accounts/login/"},
        timeout=10,
    )
    assert home.status_code == 200 and home.url == f"{door.origin}/", home.text[:500]
    session = browser.cookies.get("sessionid")
    assert session and any(c.secure for c in browser.cookies if c.name == "sessionid")

    # The live websocket through nginx, over wss, with the session of the login.
    with connect(
        f"wss://localhost:{door.https_port}/ws/live/",
        ssl=_tls(door),
        origin=door.origin,
        additional_headers={"Cookie": f"sessionid={session}"},
        open_timeout=10,
    ) as socket:
        assert socket.protocol.state.name == "OPEN"

    # /metrics: not served to the outside; inside, only with the token.
    assert browser.get(f"{door.origin}/metrics", timeout=10).status_code == 404
    inside = f"http://127.0.0.1:{door.web_port}/metrics"
    assert browser.get(inside, timeout=10).status_code == 401
    scraped = browser.get(
        inside, headers={"Authorization": f"Bearer {door.metrics_token}"}, timeout=10
    )
    assert scraped.status_code == 200 and "socapp_http_requests" in scraped.text
