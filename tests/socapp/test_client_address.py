"""The one answer to "who sent this request": the peer, or behind our own proxies the
address they forwarded; never what the client itself wrote into X-Forwarded-For."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from socapp.client_address import client_address, parse_networks
from tests.conftest import ROOT


def meta(peer: str, forwarded: str | None = None) -> dict[str, str]:
    values = {"REMOTE_ADDR": peer}
    if forwarded is not None:
        values["HTTP_X_FORWARDED_FOR"] = forwarded
    return values


def test_without_trusted_proxies_the_header_is_ignored(settings):
    settings.TRUSTED_PROXIES = []
    assert client_address(meta("203.0.113.7", "10.0.0.1")) == "203.0.113.7"
    assert client_address(meta("::ffff:203.0.113.7")) == "203.0.113.7"
    assert client_address(meta("")) is None


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        ("10.0.0.2", "203.0.113.7", "203.0.113.7"),  # one proxy
        ("10.0.0.2", "1.2.3.4, 203.0.113.7", "203.0.113.7"),  # the client's own entry, left
        ("10.0.0.2", "203.0.113.7, 10.0.0.9", "203.0.113.7"),  # two of our proxies
        ("10.0.0.2", "10.0.0.8, 10.0.0.9", "10.0.0.8"),  # only proxies: the first of them
        ("10.0.0.2", "garbage, 10.0.0.9", "10.0.0.9"),  # unreadable: the last trusted hop
        ("10.0.0.2", "", "10.0.0.2"),  # no header
        ("203.0.113.7", "198.51.100.1", "203.0.113.7"),  # not from a proxy: the peer
        ("fd00::5", "2001:db8::1", "2001:db8::1"),  # IPv6 proxy network
    ],
)
def test_behind_trusted_proxies_the_rightmost_untrusted_hop_is_the_client(
    settings, peer, forwarded, client
):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8", "fd00::/8"]
    assert client_address(meta(peer, forwarded)) == client


def test_a_bad_network_is_refused_at_start():
    with pytest.raises(ValueError, match="not an IP network"):
        parse_networks(["10.0.0.0/8", "nginx"])
    env = {**os.environ, "TRUSTED_PROXIES": "10.0.0.0/8,nginx", "SECRET_KEY": "x"}
    started = subprocess.run(
        [sys.executable, "manage.py", "check", "--settings=socapp.settings.base"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert started.returncode != 0
    assert "TRUSTED_PROXIES: not an IP network: 'nginx'" in started.stderr
