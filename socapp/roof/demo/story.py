"""The demo's logs: one SOC day as its log sources would have written it, ending now.

Each source gets the lines its software writes (OpenSSH through rsyslog, the Windows
Security and System logs as Winlogbeat ships them, Suricata's EVE JSON, Zeek's dns.log,
nginx's access log), made here from a fixed seed so every install tells the same day.
Nothing in them is addressed to socapp: the detections are the default rule pack's, run
by the engine over what the ingest path made of these lines.

The story, minutes before now (``STORY``): an SSH brute force from 203.0.113.77 against
the bastion host ends in a login as ``deploy``; from the bastion the attacker uses the
``svc-backup`` account to log on to six Windows hosts over SMB and installs PsExec's
service on ws-finance-07; that workstation fetches a payload from a host a partner's feed
names (``context``), resolves a duckdns.org name and checks in with its address every
minute, then sends some 650 MB to another address. Around it: a day of
ordinary logons, browsing, DNS, web traffic, and two internet scanners guessing SSH
passwords. Addresses are documentation and benchmark ranges (RFC 5737, RFC 2544).
"""

from __future__ import annotations

import json
import random
import string
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

DOMAIN = "corp.example"
BASTION = ("bastion-01", "10.0.1.10")
WEB = ("web-01", "10.0.1.20")
RESOLVER = ("dns-01", "10.0.0.53")
ATTACKER_IP = "203.0.113.77"
C2_DOMAIN = "cdn-sync.duckdns.org"
C2_IP = "203.0.113.200"
# Where the implant came from: the partner feed's indicator (dynamic-DNS names such as
# C2_DOMAIN are on intel's warning lists, so a feed's entry for one would be skipped).
STAGING_DOMAIN = "dl.quietfern.example.net"
STAGING_IP = "198.51.100.140"
DROP_IP = "198.51.100.80"
SCANNERS = ("198.51.100.23", "192.0.2.145")  # the day's other SSH brute forcers
VICTIM = "ws-finance-07"
# The day's one IDS signature that names a CVE: a booby-trapped image served to a developer
# whose browser last week's scan found unpatched (``context``).
VULNERABLE_HOST = "ws-dev-05"
VULNERABLE_CVE = "CVE-2023-4863"
EXPLOIT_SID = 2046001
EXPLOIT_SIGNATURE = f"ET EXPLOIT Possible libwebp Heap Buffer Overflow Inbound ({VULNERABLE_CVE})"
ROGUE_ACCOUNT = "svc-backup"

# Windows hosts: name, address, their user (None: a server), kind.
WINDOWS_HOSTS: tuple[tuple[str, str, str | None, str], ...] = (
    ("dc-01", "10.0.10.10", None, "domain controller"),
    ("fs-01", "10.0.10.20", None, "server"),
    ("app-02", "10.0.10.30", None, "server"),
    ("ws-finance-03", "10.0.20.33", "a.novak", "workstation"),
    (VICTIM, "10.0.20.37", "m.keller", "workstation"),
    ("ws-hr-02", "10.0.20.42", "s.berg", "workstation"),
    ("ws-it-04", "10.0.20.54", "t.ishikawa", "workstation"),
    ("ws-sales-11", "10.0.20.61", "l.moreau", "workstation"),
    ("ws-sales-12", "10.0.20.62", "p.okafor", "workstation"),
    ("ws-dev-05", "10.0.20.75", "r.silva", "workstation"),
)
BACKUP_SERVER = "10.0.10.40"
# The hosts the attacker reaches with svc-backup, in order (five or more: lateral movement).
LATERAL_PATH = ("fs-01", "app-02", "dc-01", "ws-it-04", "ws-hr-02", VICTIM)

# Minutes before now at which each act of the story starts.
STORY = {
    "brute_force": 185,
    "login": 180,
    "lateral_movement": 165,
    "service": 147,
    "staging": 145,
    "first_lookup": 140,
    "beaconing": 139,  # 45 check-ins, one a minute
    "exfiltration": 80,  # three uploads, eight minutes apart
}

PUBLIC_SERVICES = [f"198.18.{n // 250}.{n % 250 + 1}" for n in range(0, 1200, 29)]
WEB_CLIENTS = [f"198.19.{n // 250}.{n % 250 + 1}" for n in range(7, 3000, 37)]
POPULAR_DOMAINS = (
    "outlook.office365.com",
    "login.microsoftonline.com",
    "teams.microsoft.com",
    "www.google.com",
    "update.googleapis.com",
    "github.com",
    "api.github.com",
    "slack.com",
    "ctldl.windowsupdate.com",
    "crl.digicert.com",
    "ocsp.digicert.com",
    "www.wikipedia.org",
    "fonts.gstatic.com",
    "intranet.corp.example",
    "fs-01.corp.example",
)
WEB_PATHS = (
    "/",
    "/",
    "/products",
    "/products/sensor-kit",
    "/about",
    "/contact",
    "/static/css/site.css",
    "/static/js/app.js",
    "/images/logo.svg",
    "/api/v1/stock?sku=SK-204",
    "/blog/2026/11/field-notes",
)
PROBED_PATHS = ("/wp-login.php", "/.env", "/phpmyadmin/", "/.git/config", "/cgi-bin/luci")
USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
)


@dataclass
class Logs:
    """One source's lines (text) or records (JSON objects), each with its time."""

    entries: list[tuple[datetime, str | dict[str, Any]]] = field(default_factory=list)

    def add(self, at: datetime, entry: str | dict[str, Any]) -> None:
        self.entries.append((at, entry))

    def file(self) -> bytes:
        """The source's file, oldest first: what a shipper would have sent."""
        ordered = sorted(self.entries, key=lambda item: item[0])
        lines = (e if isinstance(e, str) else json.dumps(e) for _, e in ordered)
        return ("\n".join(lines) + "\n").encode()

    def __len__(self) -> int:
        return len(self.entries)


@dataclass
class DemoLogs:
    sshd: Logs = field(default_factory=Logs)
    windows: Logs = field(default_factory=Logs)
    suricata: Logs = field(default_factory=Logs)
    dns: Logs = field(default_factory=Logs)
    web: Logs = field(default_factory=Logs)


def demo_day(now: datetime, seed: int = 20261207) -> DemoLogs:
    """The day's logs, the last line a minute before ``now``."""
    return _Day(now, random.Random(seed)).write()


class _Day:
    def __init__(self, now: datetime, rng: random.Random) -> None:
        self.end = now.astimezone(UTC).replace(microsecond=0) - timedelta(minutes=1)
        self.start = self.end - timedelta(hours=24)
        self.rng = rng
        self.logs = DemoLogs()
        self.record_ids = {name: rng.randint(180_000, 900_000) for name, *_ in WINDOWS_HOSTS}
        self.flow_id = rng.randint(10**14, 10**15)
        self.pid = 4000

    def write(self) -> DemoLogs:
        for part in (
            self._ssh_admins,
            self._ssh_internet_noise,
            self._windows_office_day,
            self._windows_backups,
            self._browsing,
            self._dns_lookups,
            self._website,
            self._ids_alerts,
            self._story,
        ):
            part()
        return self.logs

    # ---- time -------------------------------------------------------------------------

    def ago(self, minutes: float) -> datetime:
        return self.end - timedelta(minutes=minutes)

    def moments(self, count: int) -> list[datetime]:
        """``count`` times over the day, three times as dense in office hours (UTC)."""
        span = (self.end - self.start).total_seconds()
        found: list[datetime] = []
        while len(found) < count:
            at = self.start + timedelta(seconds=self.rng.uniform(0, span))
            if 7 <= at.hour < 18 or self.rng.random() < 1 / 3:
                found.append(at.replace(microsecond=0))
        return sorted(found)

    # ---- sshd on the bastion --------------------------------------------------------------

    def sshd(
        self, at: datetime, message: str, *, facility: int = 4, pid: int | None = None
    ) -> None:
        """An RFC 3164 line as rsyslog forwards auth.log (facility auth or authpriv)."""
        pri = facility * 8 + 6
        line = f"<{pri}>{at:%b} {at.day:>2} {at:%H:%M:%S} {BASTION[0]} sshd[{pid or self.pid}]: "
        self.logs.sshd.add(at, line + message)

    def ssh_session(
        self, at: datetime, user: str, ip: str, method: str = "publickey", minutes: int = 20
    ) -> None:
        self.pid += self.rng.randint(3, 40)
        port = self.rng.randint(40000, 65000)
        key = "ED25519 SHA256:" + "".join(
            self.rng.choices(string.ascii_letters + string.digits, k=43)
        )
        suffix = f": {key}" if method == "publickey" else ""
        self.sshd(at, f"Accepted {method} for {user} from {ip} port {port} ssh2{suffix}")
        self.sshd(
            at,
            f"pam_unix(sshd:session): session opened for user {user}(uid=1001) by (uid=0)",
            facility=10,
        )
        end = min(at + timedelta(minutes=minutes, seconds=self.rng.randint(0, 600)), self.end)
        self.sshd(end, f"Received disconnect from {ip} port {port}:11: disconnected by user")
        self.sshd(end, f"pam_unix(sshd:session): session closed for user {user}", facility=10)

    def ssh_failure(self, at: datetime, user: str, ip: str, *, known_user: bool) -> None:
        self.pid += 1
        port = self.rng.randint(30000, 65000)
        if known_user:
            self.sshd(at, f"Failed password for {user} from {ip} port {port} ssh2")
        else:
            self.sshd(at, f"Invalid user {user} from {ip} port {port}")
            self.sshd(at, f"Failed password for invalid user {user} from {ip} port {port} ssh2")
        who = "authenticating user" if known_user else "invalid user"
        self.sshd(at, f"Connection closed by {who} {user} {ip} port {port} [preauth]")

    def _ssh_admins(self) -> None:
        admins = (
            ("t.ishikawa", "10.0.20.54"),
            ("r.silva", "10.0.20.75"),
            ("ci-deploy", "10.0.5.20"),
        )
        for at in self.moments(40):
            user, ip = self.rng.choice(admins)
            self.ssh_session(at, user, ip)

    def _ssh_internet_noise(self) -> None:
        """What an internet-facing sshd always sees: a few guesses now and then, and two
        scanners that try a word list (each is one brute force alert, not one a line)."""
        guesses = ("admin", "root", "test", "user", "oracle", "pi", "ubnt", "postgres")
        for at in self.moments(30):
            ip = f"192.0.2.{self.rng.randint(2, 120)}"
            for n in range(self.rng.randint(1, 3)):
                user = self.rng.choice(guesses)
                self.ssh_failure(at + timedelta(seconds=4 * n), user, ip, known_user=user == "root")
        for ip, minutes, tries in zip(SCANNERS, (1140, 560), (14, 23), strict=True):
            for n in range(tries):
                user = guesses[n % 3]
                self.ssh_failure(
                    self.ago(minutes) + timedelta(seconds=9 * n),
                    user,
                    ip,
                    known_user=user == "root",
                )

    # ---- Windows ---------------------------------------------------------------------

    def windows(
        self, at: datetime, host: str, code: int, data: dict[str, Any], channel: str = "Security"
    ) -> None:
        """A Windows event as Winlogbeat ships it (one JSON object)."""
        self.record_ids[host] += 1
        provider = (
            "Microsoft-Windows-Security-Auditing"
            if channel == "Security"
            else "Service Control Manager"
        )
        self.logs.windows.add(
            at,
            {
                "@timestamp": at.isoformat().replace("+00:00", "Z"),
                "winlog": {
                    "channel": channel,
                    "event_id": code,
                    "computer_name": f"{host}.{DOMAIN}",
                    "provider_name": provider,
                    "record_id": self.record_ids[host],
                    "event_data": data,
                },
            },
        )

    def logon(
        self, at: datetime, host: str, user: str, logon_type: int, ip: str, workstation: str = "-"
    ) -> None:
        logon_id = hex(self.rng.randint(0x100000, 0xFFFFFFF))
        self.windows(
            at,
            host,
            4624,
            {
                "SubjectUserName": "-" if logon_type == 3 else f"{host.upper()}$",
                "TargetUserName": user,
                "TargetDomainName": "CORP",
                "TargetLogonId": logon_id,
                "LogonType": str(logon_type),
                "LogonProcessName": "NtLmSsp" if logon_type == 3 else "User32",
                "AuthenticationPackageName": "NTLM" if logon_type == 3 else "Negotiate",
                "WorkstationName": workstation,
                "IpAddress": ip,
                "IpPort": str(self.rng.randint(49152, 65535)) if ip != "-" else "-",
            },
        )

    def _windows_office_day(self) -> None:
        """Each user unlocks their workstation a few times and reaches the file server and
        the domain controller from it (three hosts each: no lateral movement)."""
        for host, ip, user, _ in WINDOWS_HOSTS:
            if user is None:
                continue
            for at in self.moments(self.rng.randint(9, 14)):
                if self.rng.random() < 0.15:
                    self.windows(
                        at - timedelta(seconds=20),
                        host,
                        4625,
                        {
                            "TargetUserName": user,
                            "TargetDomainName": "CORP",
                            "LogonType": "2",
                            "Status": "0xc000006d",
                            "SubStatus": "0xc000006a",
                            "IpAddress": "127.0.0.1",
                        },
                    )
                self.logon(at, host, user, 2, "127.0.0.1", host.upper())
                for server, delay in (("dc-01", 2), ("fs-01", 40)):
                    self.logon(at + timedelta(seconds=delay), server, user, 3, ip, host.upper())
                self.windows(
                    min(at + timedelta(minutes=self.rng.randint(30, 200)), self.end),
                    host,
                    4634,
                    {"TargetUserName": user, "TargetDomainName": "CORP", "LogonType": "2"},
                )

    def _windows_backups(self) -> None:
        """The backup server's nightly run: svc-backup's usual logons (two servers)."""
        night = self.start.replace(hour=1, minute=30, second=0) + timedelta(days=1)
        if night > self.end:
            night -= timedelta(days=1)
        for n, server in enumerate(("fs-01", "app-02")):
            self.logon(
                night + timedelta(minutes=n * 7),
                server,
                ROGUE_ACCOUNT,
                3,
                BACKUP_SERVER,
                "BACKUP-01",
            )

    # ---- network: Suricata on the uplink, the resolver, the web site --------------------------

    def flow(
        self,
        at: datetime,
        src: str,
        dst: str,
        port: int,
        sent: int,
        received: int,
        seconds: float = 1.0,
        app: str = "tls",
    ) -> None:
        self.flow_id += self.rng.randint(1, 10**9)
        start = at - timedelta(seconds=seconds)
        self.logs.suricata.add(
            at,
            {
                "timestamp": _eve_time(at),
                "flow_id": self.flow_id,
                "in_iface": "eth1",
                "event_type": "flow",
                "src_ip": src,
                "src_port": self.rng.randint(49152, 65535),
                "dest_ip": dst,
                "dest_port": port,
                "proto": "TCP",
                "app_proto": app,
                "flow": {
                    "pkts_toserver": max(3, sent // 1300),
                    "pkts_toclient": max(3, received // 1300),
                    "bytes_toserver": sent,
                    "bytes_toclient": received,
                    "start": _eve_time(start),
                    "end": _eve_time(at),
                    "age": int(seconds),
                    "state": "closed",
                    "reason": "timeout",
                    "alerted": False,
                },
            },
        )

    def _browsing(self) -> None:
        """Workstations to public services (many destinations, irregular: no beacon), and
        the world to the web site."""
        for _, ip, user, _ in WINDOWS_HOSTS:
            if user is None:
                continue
            for at in self.moments(self.rng.randint(35, 50)):
                sent = int(self.rng.lognormvariate(8.5, 1.2))
                received = int(sent * self.rng.uniform(2, 40))
                port = self.rng.choice((443, 443, 443, 80))
                app = "tls" if port == 443 else "http"
                destination = self.rng.choice(PUBLIC_SERVICES)
                self.flow(at, ip, destination, port, sent, received, app=app)
        for at in self.moments(220):
            sent = self.rng.randint(600, 4000)
            client = self.rng.choice(WEB_CLIENTS)
            self.flow(at, client, WEB[1], 443, sent, sent * self.rng.randint(3, 60))

    def dns_query(self, at: datetime, client: str, name: str, answers: list[str]) -> None:
        """A line of Zeek's dns.log (JSON) on the resolver."""
        self.logs.dns.add(
            at,
            {
                "ts": round(at.timestamp() + self.rng.random(), 6),
                "uid": "C" + "".join(self.rng.choices(string.ascii_letters + string.digits, k=17)),
                "id.orig_h": client,
                "id.orig_p": self.rng.randint(49152, 65535),
                "id.resp_h": RESOLVER[1],
                "id.resp_p": 53,
                "proto": "udp",
                "trans_id": self.rng.randint(1, 65535),
                "query": name,
                "qclass": 1,
                "qclass_name": "C_INTERNET",
                "qtype": 1,
                "qtype_name": "A",
                "rcode": 0,
                "rcode_name": "NOERROR",
                "AA": False,
                "TC": False,
                "RD": True,
                "RA": True,
                "Z": 0,
                "answers": answers,
                "TTLs": [300.0] * len(answers),
                "rejected": False,
            },
        )

    def _dns_lookups(self) -> None:
        clients = [ip for _, ip, user, _ in WINDOWS_HOSTS if user] + [BASTION[1]]
        for at in self.moments(520):
            name = self.rng.choice(POPULAR_DOMAINS)
            internal = name.endswith(DOMAIN)
            answer = "10.0.10.20" if internal else self.rng.choice(PUBLIC_SERVICES)
            self.dns_query(at, self.rng.choice(clients), name, [answer])

    def _website(self) -> None:
        """nginx's access log of the public site: visitors, and a scanner's probes."""
        for at in self.moments(560):
            client = self.rng.choice(WEB_CLIENTS)
            path = self.rng.choice(WEB_PATHS)
            status = self.rng.choices((200, 304, 404), weights=(85, 10, 5))[0]
            self.access(at, client, "GET", path, status, self.rng.choice(USER_AGENTS))
        probe_at = self.ago(610)
        for n, path in enumerate(PROBED_PATHS * 3):
            self.access(
                probe_at + timedelta(seconds=2 * n), SCANNERS[1], "GET", path, 404, "zgrab/0.x"
            )

    def access(
        self, at: datetime, client: str, method: str, path: str, status: int, agent: str
    ) -> None:
        size = 0 if status == 304 else self.rng.randint(180, 48_000)
        self.logs.web.add(
            at,
            f'{client} - - [{at:%d/%b/%Y:%H:%M:%S +0000}] "{method} {path} HTTP/1.1" '
            f'{status} {size} "-" "{agent}"',
        )

    def ids_alert(
        self,
        at: datetime,
        src: str,
        dst: str,
        port: int,
        sid: int,
        signature: str,
        category: str,
        **extra: Any,
    ) -> None:
        """``extra``: more of EVE's ``alert`` (``metadata``, a ``src_port``)."""
        self.flow_id += self.rng.randint(1, 10**9)
        src_port = extra.pop("src_port", None) or self.rng.randint(30000, 65535)
        self.logs.suricata.add(
            at,
            {
                "timestamp": _eve_time(at),
                "flow_id": self.flow_id,
                "in_iface": "eth1",
                "event_type": "alert",
                "src_ip": src,
                "src_port": src_port,
                "dest_ip": dst,
                "dest_port": port,
                "proto": "TCP",
                "alert": {
                    "action": "allowed",
                    "gid": 1,
                    "signature_id": sid,
                    "rev": 3,
                    "signature": signature,
                    "category": category,
                    "severity": 2,
                    **extra,
                },
            },
        )

    def _ids_alerts(self) -> None:
        """The IDS's own signatures: scanners knocking at the web site (events; the pack
        has no rule that turns every IDS signature into an alert), and one naming a CVE
        against the developer's workstation (an alert, raised by the open finding)."""
        self.ids_alert(
            self.ago(430),
            PUBLIC_SERVICES[11],
            _address_of(VULNERABLE_HOST),
            self.rng.randint(49152, 65535),
            EXPLOIT_SID,
            EXPLOIT_SIGNATURE,
            "Attempted User Privilege Gain",
            src_port=443,
            metadata={"cve": [VULNERABLE_CVE.replace("-", "_")], "signature_severity": ["Major"]},
        )
        probe_at = self.ago(610)
        for n in range(4):
            self.ids_alert(
                probe_at + timedelta(seconds=5 * n),
                SCANNERS[1],
                WEB[1],
                443,
                2016683,
                "ET SCAN Zmap User-Agent (Inbound)",
                "Detection of a Network Scan",
            )

    # ---- the story -------------------------------------------------------------------

    def _story(self) -> None:
        self._brute_force_and_login()
        self._lateral_movement()
        self._staging()
        self._beaconing()
        self._exfiltration()

    def _brute_force_and_login(self) -> None:
        """48 guesses in four minutes for six accounts, then ``deploy``'s password works."""
        start = self.ago(STORY["brute_force"])
        users = ("root", "admin", "deploy", "ubuntu", "git", "postgres")
        for n in range(48):
            user = users[n % len(users)]
            self.ssh_failure(start + timedelta(seconds=5 * n), user, ATTACKER_IP, known_user=True)
        self.ssh_session(self.ago(STORY["login"]), "deploy", ATTACKER_IP, "password", minutes=90)

    def _lateral_movement(self) -> None:
        """svc-backup, whose password sits in a script on the bastion, logs on to six hosts
        over SMB from the bastion; PsExec's service appears on the last one."""
        start = self.ago(STORY["lateral_movement"])
        for n, host in enumerate(LATERAL_PATH):
            at = start + timedelta(minutes=3 * n, seconds=self.rng.randint(0, 50))
            self.logon(at, host, ROGUE_ACCOUNT, 3, BASTION[1], BASTION[0].upper())
            self.windows(
                at,
                host,
                4672,
                {
                    "SubjectUserName": ROGUE_ACCOUNT,
                    "SubjectDomainName": "CORP",
                    "PrivilegeList": "SeBackupPrivilege",
                },
            )
        self.windows(
            self.ago(STORY["service"]),
            VICTIM,
            7045,
            {
                "ServiceName": "PSEXESVC",
                "ImagePath": "%SystemRoot%\\PSEXESVC.exe",
                "ServiceType": "user mode service",
                "StartType": "demand start",
                "AccountName": "LocalSystem",
            },
            channel="System",
        )

    def _staging(self) -> None:
        """PsExec's payload fetches the implant: one lookup, one 2 MB download."""
        victim_ip = _address_of(VICTIM)
        at = self.ago(STORY["staging"])
        self.dns_query(at, victim_ip, STAGING_DOMAIN, [STAGING_IP])
        received = self.rng.randint(1_900_000, 2_300_000)
        self.flow(at + timedelta(seconds=3), victim_ip, STAGING_IP, 443, 900, received, 4.0)

    def _beaconing(self) -> None:
        """The implant resolves its controller's dynamic-DNS name, then checks in every
        minute, give or take ten seconds, with a few hundred bytes each way."""
        victim_ip = _address_of(VICTIM)
        # four lookups in 45 minutes: one alert (the rule folds a host and domain's repeats
        # for an hour), counted four times
        for minutes in range(STORY["first_lookup"], STORY["first_lookup"] - 50, -15):
            self.dns_query(self.ago(minutes), victim_ip, C2_DOMAIN, [C2_IP])
        start = self.ago(STORY["beaconing"])
        for n in range(45):
            at = start + timedelta(seconds=60 * n + self.rng.randint(-10, 10))
            self.flow(
                at, victim_ip, C2_IP, 443, self.rng.randint(700, 1400), self.rng.randint(300, 2200)
            )

    def _exfiltration(self) -> None:
        """Three uploads of about 220 MB to another address within half an hour."""
        victim_ip = _address_of(VICTIM)
        for n in range(3):
            at = self.ago(STORY["exfiltration"] - 8 * n)
            sent = self.rng.randint(205_000_000, 235_000_000)
            self.flow(at, victim_ip, DROP_IP, 443, sent, sent // 90, seconds=340.0)


def _eve_time(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.%f") + "+0000"


def _address_of(host: str) -> str:
    return next(ip for name, ip, *_ in WINDOWS_HOSTS if name == host)
