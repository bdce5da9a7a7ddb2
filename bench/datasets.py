"""Synthetic but realistic ingest loads, built from the shared real samples.

- sshd: RFC 3164 sshd lines (failed/accepted/invalid user/disconnect), many source IPs.
- sshd_shuffled: the same kind of lines from a few thousand addresses (each one seen many
  times), spread over a day and shuffled: several servers' logs merged out of time order.
- suricata: the real EVE alerts of ../shared/data/suricata, re-timed and re-addressed.
- windows: the Sigma regression events (evtx_dump JSON), with fresh record ids: every
  one an attack sample (a stress case for detection: a large share of them alert).
- otrf: OTRF's recorded Windows hosts (Security, Sysmon, PowerShell channels; mostly the
  background activity of a workstation around a simulated attack), re-timed.
Nothing of ../shared/data is copied: it is read from there at run time.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

from socapp.shared_data import shared_data_dir

DATA = shared_data_dir()


def _times(count: int, hours: int = 1) -> list[datetime]:
    start = datetime.now(tz=UTC) - timedelta(hours=hours)
    step = timedelta(seconds=3600 * hours / max(count, 1))
    return [start + step * n for n in range(count)]


def _address(rng: random.Random) -> str:
    octets = (rng.randint(1, 223), rng.randint(0, 255), rng.randint(0, 255), rng.randint(1, 254))
    return ".".join(map(str, octets))


def sshd(count: int, seed: int = 1, addresses: int = 0, hours: int = 1) -> list[bytes]:
    """``addresses``: how many distinct source addresses (0: a new one on every line)."""
    rng = random.Random(seed)
    users = ["root", "admin", "deploy", "ubuntu", "oracle", "test", "git", "postgres"]
    pool = [_address(rng) for _ in range(addresses)]
    lines = []
    for n, moment in enumerate(_times(count, hours)):
        ip = rng.choice(pool) if pool else _address(rng)
        user = rng.choice(users)
        port = rng.randint(1024, 65535)
        kind = rng.random()
        if kind < 0.6:
            text = f"Failed password for {user} from {ip} port {port} ssh2"
        elif kind < 0.8:
            text = f"Invalid user {user}{n % 97} from {ip} port {port}"
        elif kind < 0.9:
            text = f"Accepted publickey for {user} from {ip} port {port} ssh2: RSA SHA256:abc{n}"
        else:
            text = f"Disconnected from authenticating user {user} {ip} port {port} [preauth]"
        lines.append(
            f"<38>{moment:%b %d %H:%M:%S} web{n % 20:02d} sshd[{1000 + n % 5000}]: {text}".encode()
        )
    return lines


def sshd_shuffled(count: int, seed: int = 5) -> list[bytes]:
    lines = sshd(count, seed, addresses=3000, hours=24)
    random.Random(seed).shuffle(lines)
    return lines


def suricata(count: int, seed: int = 2) -> list[bytes]:
    rng = random.Random(seed)
    templates = []
    for path in sorted((DATA / "suricata" / "samples").glob("*/alerts-only.json")):
        templates += json.loads(path.read_text())
    lines = []
    for n, moment in enumerate(_times(count)):
        record = dict(rng.choice(templates))
        record["timestamp"] = moment.strftime("%Y-%m-%dT%H:%M:%S.%f+0000")
        record["flow_id"] = 10**15 + n
        record["src_ip"] = f"198.51.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        lines.append(json.dumps(record).encode())
    return lines


def windows(count: int, seed: int = 3) -> list[bytes]:
    rng = random.Random(seed)
    templates = []
    for path in sorted((DATA / "sigma" / "regression_data").rglob("*.json")):
        text = path.read_text()
        decoder, position = json.JSONDecoder(), 0
        while position < len(text.rstrip()):
            while text[position].isspace():
                position += 1
            value, position = decoder.raw_decode(text, position)
            templates.append(value)
            if position >= len(text.rstrip()):
                break
    lines = []
    for n, moment in enumerate(_times(count)):
        record = json.loads(json.dumps(rng.choice(templates)))
        system = record["Event"]["System"]
        system["EventRecordID"] = n + 1
        system["Computer"] = f"host{n % 50:02d}"
        system["TimeCreated"] = {
            "#attributes": {"SystemTime": moment.isoformat().replace("+00:00", "Z")}
        }
        lines.append(json.dumps(record).encode())
    return lines


def otrf(count: int, seed: int = 4) -> list[bytes]:
    import zipfile

    templates = []
    for path in sorted((DATA / "otrf" / "datasets").rglob("*.zip")):
        with zipfile.ZipFile(path) as archive:
            for name in archive.namelist():
                templates += [json.loads(line) for line in archive.read(name).splitlines() if line]
    rng = random.Random(seed)
    lines = []
    for n, moment in enumerate(_times(count)):
        record = dict(
            templates[n % len(templates)] if n < len(templates) else rng.choice(templates)
        )
        record["TimeCreated"] = moment.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
        record["EventRecordID"] = n + 1
        record["Hostname"] = f"ws{n % 50:02d}.example.org"
        lines.append(json.dumps(record).encode())
    return lines


DATASETS = {
    "sshd": ("syslog", sshd),
    "sshd_shuffled": ("syslog", sshd_shuffled),
    "suricata": ("suricata", suricata),
    "windows": ("windows", windows),
    "otrf": ("windows", otrf),
}
