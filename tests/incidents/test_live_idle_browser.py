"""An open page's live connection over time, in a real browser (headless Debian Chromium)
against the real web process (uvicorn) and the Redis channel layer: idle, it stays
connected with nothing in the web log; a pushed alert then arrives once."""

from __future__ import annotations

import json
import re

import pytest

from incidents.services import alert_create
from scripts.processes import wait_until
from tests.factories import severity
from tests.live_console import chromium, live_console, log_in, web_passwords  # noqa: F401

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

# Several of channels_redis's 5 s blocking pops (a timeout shorter than one dropped the
# connection every ~5 s).
IDLE_SECONDS = 30
TROUBLE = re.compile(r"Traceback|Exception in ASGI application|TimeoutError|ERROR")


class SocketWatch:
    """Every websocket the page opens: its frames received, and whether it closed."""

    def __init__(self, page) -> None:
        self.opened: list[str] = []
        self.closed: list[str] = []
        self.frames: list[dict] = []
        page.on("websocket", self._opened)

    def _opened(self, socket) -> None:
        self.opened.append(socket.url)
        socket.on("close", lambda s: self.closed.append(s.url))
        socket.on("framereceived", lambda payload: self.frames.append(json.loads(payload)))

    def heard(self, alert_id: str) -> list[dict]:
        return [frame for frame in self.frames if frame.get("id") == alert_id]


def test_an_idle_page_stays_connected_and_hears_each_alert_once(
    live_console,  # noqa: F811
    chromium,  # noqa: F811
    settings,
    analyst_a,
    team_a,
):
    web_passwords(settings, analyst_a)
    landing = log_in(chromium, live_console, "analyst_a")
    page = landing.context.new_page()  # watched from its first socket on
    landing.close()
    sockets = SocketWatch(page)
    page.goto(f"{live_console.url}/alerts/")
    page.wait_for_selector("#live-state.on")

    page.wait_for_timeout(IDLE_SECONDS * 1000)

    assert page.inner_text("#live-state") == "live"
    assert len(sockets.opened) == 1 and sockets.closed == [], (sockets.opened, sockets.closed)
    web_log = (live_console.logs / "web.log").read_text()
    assert not TROUBLE.search(web_log), web_log

    alert = alert_create(title="pushed once", severity=severity("high"), team=team_a)
    wait_until(
        lambda: page.wait_for_timeout(100) or sockets.heard(str(alert.pk)),
        timeout=15,
        what="the alert's push",
    )
    page.wait_for_timeout(1000)  # a second copy would have come by now
    assert [frame["kind"] for frame in sockets.heard(str(alert.pk))] == ["alert.created"]
    page.wait_for_selector("#alert-queue tr[data-id] >> text=pushed once")
    assert len(sockets.opened) == 1 and sockets.closed == []
