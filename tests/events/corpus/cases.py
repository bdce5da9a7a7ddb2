"""The malformed-input corpus: what a hostile or broken sender can send, for every log
format and every transport, each case sent with good records beside it.

Generated, not stored: the cases are this code, deterministic (no randomness), built when
the tests are collected. Reviewing a case means reading the line that makes it, not a
binary blob; adding one is one line; and the repository does not carry megabytes of
bodies (several cases are 1 MiB lines or 10,000-deep JSON). ``python -m
tests.events.corpus.cases DIR`` writes the corpus out as files (for atheris seeds, or
to send to a running instance with curl).

A case knows what it may cost (bounded work, asserted by counting): at most
``max_rows`` events plus quarantine rows, at least ``quarantined`` quarantine rows
(exactly, with every good record stored and nothing else, when ``exact``), or, for a
request that cannot be read at all, a 4xx (a command error) that stores nothing.
"""

from __future__ import annotations

import gzip
import io
import json
import sys
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FORMATS = (
    "syslog", "cef", "leef", "json", "suricata", "zeek", "access", "windows", "cloudtrail",
    "snort",
)  # fmt: skip
# Formats whose records may be JSON objects (Zeek and Snort read text lines as well): they
# get the JSON variants, and their files are named .jsonl.
JSON_FORMATS = frozenset({"json", "suricata", "zeek", "windows", "cloudtrail", "snort"})
LINE_TRANSPORTS = ("rest", "hec_raw", "upload", "command")
TRANSPORTS = (*LINE_TRANSPORTS, "hec_event", "syslog")
INJECTED_VIA = ("rest", "hec_event", "syslog")
# HEC raw reads a body as REST does with text/plain, and the command reads files as the
# upload page does: they get the common cases and the per-format ones, not every variant.
NOT_JSON_VARIANTS = tuple(t for t in TRANSPORTS if t not in ("hec_raw", "command"))
# Formats the syslog listener is sent (a source names its senders, whatever its format:
# Snort's alert_syslog output reaches a ``snort`` source that way).
SYSLOG_FORMATS = ("syslog", "cef", "leef", "snort")
MIB = 1024 * 1024
INJECTIONS = {
    "crlf": "a\r\nb",
    "ansi": "\x1b[2J\x1b[31mred\x1b[0m",
    "bidi": "\u202eevil\u202c\u2066x\u2069",
}

# ---- good records ------------------------------------------------------------------------
# A good record carries its marker ("good-<case>-<n>") and ids unique to it, so that the
# tests find every good record among the stored events and none is a duplicate of another.


def good_record(log_format: str, marker: str, number: int) -> Any:
    """A well-formed record of ``log_format`` (text, or an object for JSON formats)."""
    return template(log_format, {"m": marker, "i": number, "inject": marker})


def template(log_format: str, values: dict[str, Any], field_name: str | None = None) -> Any:
    """The format's good record; ``field_name`` (one of FIELDS[log_format]) takes
    ``values["inject"]`` instead of its usual value."""

    def v(name: str, default: str) -> str:
        return values["inject"] if name == field_name else default

    m, i = values["m"], values["i"]
    if log_format == "syslog":
        return (
            f"<13>Feb  1 10:00:00 {v('host', 'host1')} {v('app', 'app')}[{v('pid', '1')}]: "
            f"{v('message', 'good ' + m)}"
        )
    if log_format == "cef":
        return (
            f"CEF:0|{v('vendor', 'Vendor')}|{v('product', 'Product')}|{v('version', '1.0')}|"
            f"{v('signature', '100')}|{v('name', 'Good event')}|5|src=10.0.0.1 dst=10.0.0.2 "
            f"spt=1234 dpt=80 suser={v('suser', 'alice')} msg={m}"
        )
    if log_format == "leef":
        return (
            f"LEEF:1.0|{v('vendor', 'Vendor')}|{v('product', 'Product')}|1.0|"
            f"{v('event_id', 'id1')}|src=10.0.0.1\tdst=10.0.0.2\tusrName={v('user', 'bob')}"
            f"\tmsg={m}"
        )
    if log_format == "access":
        return (
            f"10.0.0.1 - {v('user', '-')} [01/Mar/2026:10:00:00 +0000] "
            f'"GET /{v("path", "index")}/{m} HTTP/1.1" 200 12 '
            f'"{v("referrer", "-")}" "{v("agent", "curl/8")}"'
        )
    if log_format == "json":
        return {
            "@timestamp": "2026-03-01T10:00:00Z",
            "message": v("message", f"good {m}"),
            "src_ip": v("src_ip", "10.0.0.1"),
            "user": v("user", "alice"),
            "host": v("host", "web1"),
        }
    if log_format == "suricata":
        return {
            "timestamp": "2026-03-01T10:00:00.000000+0000",
            "flow_id": 1_000_000 + i,
            "event_type": "alert",
            "src_ip": v("src_ip", "10.0.0.1"),
            "dest_ip": "10.0.0.2",
            "proto": v("proto", "TCP"),
            "app_proto": v("app_proto", "http"),
            "alert": {"signature_id": 1, "signature": v("signature", f"good {m}"), "severity": 2},
        }
    if log_format == "zeek":
        return {
            "_path": "dns",
            "ts": 1772359200.0 + i,
            "uid": v("uid", f"C{m}"),
            "id.orig_h": "10.0.0.1",
            "id.orig_p": 5353,
            "id.resp_h": "10.0.0.2",
            "id.resp_p": 53,
            "proto": v("proto", "udp"),
            "query": v("query", f"{m}.example.org"),
            "qtype_name": "A",
        }
    if log_format == "windows":
        return {
            "EventID": 4625,
            "Channel": v("channel", "Security"),
            "Hostname": v("hostname", "dc1"),
            "TimeCreated": "2026-03-01T10:00:00Z",
            "TargetUserName": v("user", f"good {m}"),
            "IpAddress": "10.0.0.1",
            "CommandLine": v("command_line", "cmd.exe /c whoami"),
            "EventRecordID": 1_000_000 + i,
        }
    if log_format == "cloudtrail":
        return {
            "eventVersion": "1.08",
            "eventTime": "2026-03-01T10:00:00Z",
            "eventName": v("event_name", "ConsoleLogin"),
            "eventSource": v("event_source", "signin.amazonaws.com"),
            "eventID": f"id-{m}",
            "sourceIPAddress": "10.0.0.1",
            "userAgent": v("user_agent", "aws-cli/2"),
            "userIdentity": {"type": "IAMUser", "userName": v("user", f"good {m}")},
        }
    if log_format == "snort":
        return _snort(values, field_name)
    raise ValueError(log_format)


def _snort(values: dict[str, Any], field_name: str | None) -> Any:
    """Snort's three forms in turn (alert_json, alert_fast, a ``snort[pid]:`` syslog
    line), so that every case has two of them beside it; an injected field names its form
    (``json.msg``, ``fast.msg``, ``syslog.host``)."""
    m, i = values["m"], values["i"]
    form = field_name.split(".")[0] if field_name else ("json", "fast", "syslog")[i % 3]

    def v(name: str, default: str) -> str:
        return values["inject"] if f"{form}.{name}" == field_name else default

    if form == "json":
        return {
            "timestamp": "26/03/01-10:00:00.000000",
            "pkt_num": 1_000_000 + i,
            "proto": "TCP",
            "src_addr": v("src_addr", "10.0.0.1"),
            "src_port": 1234,
            "dst_ap": "10.0.0.2:80",
            "rule": "1:2019401:3",
            "priority": 2,
            "class": v("class", "Attempted Information Leak"),
            "action": v("action", "allow"),
            "iface": v("iface", "eth0"),
            "msg": v("msg", f"good {m}"),
        }
    body = (
        f"[1:2019401:3] {v('msg', 'good ' + m)} [**] [Classification: "
        f"{v('classification', 'Misc activity')}] [Priority: 3] "
        f"{{{v('proto', 'TCP')}}} 10.0.0.1:{1024 + i % 60_000} -> 10.0.0.2:80"
    )
    if form == "fast":
        return f"03/01-10:00:00.{i % 1_000_000:06d} [**] {body}"
    return f"<33>Mar  1 10:00:00 {v('host', 'ids1')} snort[{v('pid', '812')}]: {body}"


FIELDS = {
    "syslog": ["host", "app", "pid", "message"],
    "cef": ["vendor", "product", "version", "signature", "name", "suser"],
    "leef": ["vendor", "product", "event_id", "user"],
    "access": ["user", "path", "referrer", "agent"],
    "json": ["message", "src_ip", "user", "host"],
    "suricata": ["src_ip", "proto", "app_proto", "signature"],
    "zeek": ["uid", "proto", "query"],
    "windows": ["channel", "hostname", "user", "command_line"],
    "cloudtrail": ["event_name", "event_source", "user_agent", "user"],
    # Snort's fields say which of its forms they are in (see _snort).
    "snort": [
        "json.msg",
        "json.class",
        "json.src_addr",
        "fast.msg",
        "fast.classification",
        "fast.proto",
        "syslog.host",
        "syslog.msg",
    ],
}

# ---- bad records ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Bad:
    """Malformed records of one kind: text (str, sent as UTF-8 with lone surrogates kept
    as their invalid bytes), raw bytes, or objects (JSON formats, written by Python's json:
    NaN and Infinity as they are). ``quarantine``: each must be quarantined; otherwise it
    may be stored or quarantined, but never lost."""

    name: str
    records: tuple[Any, ...]
    quarantine: bool = False
    extra_rows: int = 0  # a JSON array on one line answers for each of its elements
    transports: tuple[str, ...] = TRANSPORTS  # where it is sent (a 1 MiB line: not everywhere)


def _deep_object(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


def _deep_array(depth: int) -> str:
    return "[" * depth + "]" * depth


COMMON = [
    Bad("blank-lines", ("", "   ", "\t")),
    Bad("invalid-utf8", (b"\xff\xfe\xfd \x80\x81 not utf-8 \xc3\x28",)),
    Bad("utf16-bom", ("\ufeffhello".encode("utf-16"),)),
    Bad("utf16-le-body", ("<13>Feb  1 10:00:00 h app: utf16".encode("utf-16-le"),)),
    Bad("nul-bytes", (b"\x00\x00\x00",)),
    Bad("nul-inside", (b"<13>Feb  1 10:00:00 h app: a\x00b",)),
    Bad("lone-surrogate", ("\ud800\udfff\ud800",)),
    Bad("random-binary", (bytes(range(256)).replace(b"\n", b"").replace(b"\r", b""),)),
    Bad("over-1mib-line", ("x" * (MIB + 10),), True, transports=("rest", "hec_event", "upload")),
    Bad("over-64k-line", ("<13>Feb  1 10:00:00 h app: " + "y" * 70_000,)),
    Bad("only-spaces-and-junk", ("!!!! #### $$$$",)),
    Bad("json-in-text-format", ('{"message": "not the format"}',)),
    Bad("html", ("<script>alert(1)</script><img src=x onerror=alert(1)>",)),
    Bad("formula", ("=cmd|' /C calc'!A0",)),
]
JSON_BAD = [
    Bad("depth-10000-object", (_deep_object(10_000),), quarantine=True),
    Bad("depth-10000-array", (_deep_array(10_000),), quarantine=True),
    Bad("depth-100-object", (_deep_object(100),), quarantine=True),
    Bad("duplicate-keys", ('{"message": "a", "message": "b", "a": 1, "a": {"b": 2}}',)),
    Bad("nan", ('{"message": NaN, "x": NaN}',)),
    Bad("infinity", ('{"a": Infinity, "b": -Infinity}',)),
    Bad("1e309", ('{"a": 1e309}',)),
    Bad("huge-integer", ('{"a": ' + "9" * 100_000 + "}",)),
    Bad("integer-past-64-bits", ('{"a": 18446744073709551616, "b": -9223372036854775809}',)),
    Bad("top-level-array", ("[1]",), quarantine=True),
    Bad("top-level-empty-array", ("[]",)),
    Bad("top-level-mixed-array", ('[{"message": "x"}, 2]',), extra_rows=1),
    Bad("top-level-string", ('"just a string"',), quarantine=True),
    Bad("top-level-number", ("42",), quarantine=True),
    Bad("top-level-null", ("null",), quarantine=True),
    Bad("top-level-true", ("true",), quarantine=True),
    Bad("truncated", ('{"message": "trunc',), quarantine=True),
    Bad("trailing-garbage", ('{"a": 1} trailing',), quarantine=True),
    Bad("single-quotes", ("{'a': 1}",), quarantine=True),
    Bad("escaped-nul", ('{"message": "a\\u0000b", "k\\u0000": "\\u0000"}',)),
    Bad("escaped-surrogate", ('{"message": "\\ud800", "\\udfff": 1}',)),
    Bad("empty-object", ("{}",)),
    Bad("many-keys", (json.dumps({f"k{n}": n for n in range(5000)}),)),
    Bad("dotted-keys", (json.dumps({"a." * 500 + "b": 1, "source.ip.x": 1, ".": 2}),)),
    Bad("ts-negative", ('{"@timestamp": -99999999999, "ts": -99999999999}',)),
    Bad("ts-1e20", ('{"@timestamp": 1e20, "ts": 1e20, "eventTime": 1e20}',)),
    Bad("ts-1e308", ('{"@timestamp": 1e308, "timestamp": -1e308}',)),
    Bad("ts-year-0", ('{"@timestamp": "0000-01-01T00:00:00Z"}',)),
    Bad("ts-year-1-east", ('{"@timestamp": "0001-01-01T00:00:00+14:00"}',)),
    Bad("ts-year-9999-west", ('{"@timestamp": "9999-12-31T23:59:59-14:00"}',)),
    Bad("ts-not-iso", ('{"@timestamp": "yesterday at noon", "time": "1.2.3"}',)),
    Bad("ts-feb-30", ('{"@timestamp": "2024-02-30T00:00:00Z"}',)),
    Bad("ts-object", ('{"@timestamp": {"$date": [1, 2]}, "time": [null]}',)),
    Bad("ts-digits", ('{"@timestamp": "²³", "time": "٣٣٣"}',)),
]
SNORT_ARABIC_TIME = (
    "\u0660\u0663/\u0660\u0661-\u0661\u0660:\u0660\u0660:\u0660\u0660"  # 03/01-10:00:00
)
PER_FORMAT: dict[str, list[Bad]] = {
    "syslog": [
        Bad("pri-999", ("<999>Feb  1 10:00:00 h app: x",), quarantine=True),
        Bad("pri-192", ("<192>Feb  1 10:00:00 h app: x",), quarantine=True),
        Bad("pri-huge", ("<99999999999>Feb  1 10:00:00 h app: x",), quarantine=True),
        Bad("pri-empty", ("<>Feb  1 10:00:00 h app: x",)),
        Bad("pri-negative", ("<-1>Feb  1 10:00:00 h app: x",)),
        Bad("missing-pri-and-time", ("just some words",), quarantine=True),
        Bad("missing-pri-with-time", ("Feb  1 10:00:00 h app: no pri",)),
        Bad("rfc5424-bad-sd", ('<13>1 2026-03-01T10:00:00Z h app - - [a b="c] msg',)),
        Bad("rfc5424-open-sd", ("<13>1 2026-03-01T10:00:00Z h app - - [",)),
        Bad("rfc5424-sd-escape", ('<13>1 2026-03-01T10:00:00Z h app - - [x@1 a="\\"] m',)),
        Bad("rfc5424-sd-many", ("<13>1 2026-03-01T10:00:00Z h a - - " + "[a]" * 5000,)),
        Bad("rfc5424-version-999", ("<13>999 2026-03-01T10:00:00Z h app - - - m",)),
        Bad(
            "rfc5424-ts-overflow", ("<13>1 9999-12-31T23:59:59-23:59 h a - - - m",), quarantine=True
        ),
        Bad("rfc5424-ts-year-0", ("<13>1 0000-01-01T00:00:00Z h a - - - m",), quarantine=True),
        Bad("rfc5424-ts-feb-30", ("<13>1 2024-02-30T00:00:00Z h a - - - m",), quarantine=True),
        Bad("bsd-feb-30", ("<13>Feb 30 10:00:00 h app: x",)),
        Bad("bsd-absurd", ("<13>Dec 32 25:61:61 h app: x",)),
        Bad("iso-absurd", ("9999-99-99T99:99:99Z h app: x",)),
        Bad(
            "audit-ts-overflow",
            ("type=X msg=audit(99999999999999999999.1:1): a=b",),
            quarantine=True,
        ),
        Bad("audit-argc-huge", ("type=EXECVE msg=audit(1.1:1): argc=999999999 a0=41",)),
        Bad("audit-seq-huge", ("type=X msg=audit(1.1:" + "9" * 5000 + "): a=b",)),
        Bad("sshd-odd", ("<13>Feb  1 10:00:00 h sshd[1]: Failed password for  from  port x",)),
        Bad("kernel-odd", ("<13>Feb  1 10:00:00 h kernel: SRC=x DST=::g PROTO= SPT=99999",)),
    ],
    "cef": [
        Bad("unescaped-pipe-ext", ("CEF:0|V|P|1|100|name|5|msg=a|b|c src=1.2.3.4",)),
        Bad("unescaped-pipe-header", ("CEF:0|V|P|1|1|0|0|na|me|5|msg=x",)),
        Bad("unescaped-equals", ("CEF:0|V|P|1|100|name|5|msg=a=b=c suser==x",)),
        Bad("trailing-backslash", ("CEF:0|V|P|1|100|name|5|msg=abc\\",)),
        Bad("backslashes", ("CEF:0|V|P|1|100|name|5|msg=" + "\\" * 1001,)),
        Bad("missing-header-field", ("CEF:0|V|P|1|100|name",), quarantine=True),
        Bad("only-cef", ("CEF:",), quarantine=True),
        Bad("version-9", ("CEF:9|V|P|1|100|name|5|src=1.2.3.4",)),
        Bad("version-text", ("CEF:x|V|P|1|100|name|5|src=1.2.3.4",)),
        Bad("severity-text", ("CEF:0|V|P|1|100|name|abc|src=1.2.3.4",)),
        Bad("severity-huge", ("CEF:0|V|P|1|100|name|" + "9" * 50 + "|src=1.2.3.4",)),
        Bad("severity-unicode-digits", ("CEF:0|V|P|1|100|name|²|cnt=--5 end=²",)),
        Bad("rt-overflow", ("CEF:0|V|P|1|100|name|5|rt=99999999999999999999",)),
        Bad("rt-negative", ("CEF:0|V|P|1|100|name|5|rt=-1",)),
        Bad("rt-garbage", ("CEF:0|V|P|1|100|name|5|rt=Feb 30 2024 99:99:99",)),
        Bad("cn1-5000-digits", ("CEF:0|V|P|1|100|name|5|cn1=" + "9" * 5000,)),
        Bad("empty-keys", ("CEF:0|V|P|1|100|name|5|=x a= =",)),
        Bad("no-prefix", ("this is not CEF at all",), quarantine=True),
    ],
    "leef": [
        Bad("delimiter-backslash-x", ("LEEF:2.0|V|P|1|id|\\x|src=1.2.3.4",), quarantine=True),
        Bad("delimiter-not-hex", ("LEEF:2.0|V|P|1|id|xZZ|src=1.2.3.4",), quarantine=True),
        Bad("delimiter-out-of-range", ("LEEF:2.0|V|P|1|id|x110000|src=1.2.3.4",), quarantine=True),
        Bad("delimiter-surrogate", ("LEEF:2.0|V|P|1|id|xD800|src=1.2.3.4",)),
        Bad("delimiter-nul", ("LEEF:2.0|V|P|1|id|x0|src=1.2.3.4",)),
        Bad("delimiter-multi", ("LEEF:2.0|V|P|1|id|ab|src=1.2.3.4",), quarantine=True),
        Bad("delimiter-empty", ("LEEF:2.0|V|P|1|id||src=1.2.3.4",)),
        Bad("leef2-missing-delimiter", ("LEEF:2.0|V|P|1|id",), quarantine=True),
        Bad("leef1-missing-fields", ("LEEF:1.0|V|P",), quarantine=True),
        Bad("version-3", ("LEEF:3.0|V|P|1|id|src=1.2.3.4",)),
        Bad("devtime-overflow", ("LEEF:1.0|V|P|1|id|devTime=99999999999999999",)),
        Bad("devtime-garbage", ("LEEF:1.0|V|P|1|id|devTime=Feb 30 2024 99:99:99",)),
        Bad("no-prefix", ("not leef",), quarantine=True),
    ],
    "access": [
        Bad(
            "bad-month",
            ('1.2.3.4 - - [32/Foo/2024:00:00:00 +0000] "GET / HTTP/1.1" 200 1',),
            quarantine=True,
        ),
        Bad(
            "year-0",
            ('1.2.3.4 - - [01/Jan/0000:00:00:00 +0000] "GET / HTTP/1.1" 200 1',),
            quarantine=True,
        ),
        Bad("year-9999-west", ('1.2.3.4 - - [31/Dec/9999:23:59:59 -2359] "GET / H" 200 1',)),
        Bad("year-1-east", ('1.2.3.4 - - [01/Jan/0001:00:00:00 +2359] "GET / H" 200 1',)),
        Bad(
            "no-quotes", ("1.2.3.4 - - [01/Mar/2026:10:00:00 +0000] GET / 200 1",), quarantine=True
        ),
        Bad(
            "status-text",
            ('1.2.3.4 - - [01/Mar/2026:10:00:00 +0000] "GET /" abc 1',),
            quarantine=True,
        ),
        Bad("bytes-huge", ('1.2.3.4 - - [01/Mar/2026:10:00:00 +0000] "G /" 200 ' + "9" * 5000,)),
        Bad("ipv6-zone", ('fe80::1%eth0 - - [01/Mar/2026:10:00:00 +0000] "GET /" 200 1',)),
        Bad("escaped-quotes", ('1.2.3.4 - - [01/Mar/2026:10:00:00 +0000] "\\"\\"" 200 1',)),
        Bad(
            "proxy-chain",
            ("1.1.1.1, " * 500 + '2.2.2.2 - - [01/Mar/2026:10:00:00 +0000] "G" 200 1',),
        ),
    ],
    "json": [
        Bad("message-object", ('{"message": {"a": [1, {"b": null}]}, "msg": [1]}',)),
        Bad("ecs-wrong-types", ('{"event": "x", "source": 5, "tags": "x", "socapp": 1}',)),
        Bad("ecs-wrong-types-2", ('{"event": {"category": [[1]]}, "network": {"transport": {}}}',)),
        Bad("event-type-huge", (json.dumps({"event_type": "t" * 10_000}),)),
        Bad("event-type-nul", ('{"event_type": "a\\u0000b\\ud800"}',)),
        Bad("ports-absurd", ('{"src_port": 1e400, "dst_port": -1, "source": {"port": "x"}}',)),
    ],
    "suricata": [
        Bad("no-event-type", ('{"src_ip": "1.2.3.4"}',), quarantine=True),
        Bad("alert-without-alert", ('{"event_type": "alert", "alert": 5}',), quarantine=True),
        Bad(
            "eve-ts-year-0",
            ('{"event_type": "flow", "timestamp": "0000-01-01T00:00:00"}',),
            quarantine=True,
        ),
        Bad("dns-queries-int", ('{"event_type": "dns", "dns": {"queries": [1]}}',)),
        Bad("dns-queries-text", ('{"event_type": "dns", "dns": {"queries": "x"}}',)),
        Bad("tls-odd", ('{"event_type": "tls", "tls": {"fingerprint": 5, "sni": 1}}',)),
        Bad("http-bad-url", ('{"event_type": "http", "http": {"url": "http://[::1"}}',)),
        Bad("flow-bytes-text", ('{"event_type": "flow", "flow": {"bytes_toserver": "x"}}',)),
        Bad("vlan-odd", ('{"event_type": "flow", "vlan": [[]], "proto": 6}',)),
    ],
    "zeek": [
        Bad("separator-bad-escape", ("#separator \\xZZ",)),
        Bad("separator-empty", ("#separator ",)),
        Bad("set-separator-empty", ("#set_separator\t",)),
        Bad("tsv-before-fields", ("1.0\tC1\t10.0.0.1",)),
        Bad("ts-1e300", ('{"ts": 1e300, "uid": "x", "_path": "conn"}',), quarantine=True),
        Bad("zeek-ts-negative", ('{"ts": -1e20, "uid": "x"}',), quarantine=True),
        Bad("ts-text", ('{"ts": "x", "uid": "x"}',), quarantine=True),
        Bad("uid-object", ('{"ts": 1.0, "uid": {"a": 1}, "conn_state": [1], "qclass_name": []}',)),
        Bad("duration-infinite", ('{"ts": 1.0, "_path": "conn", "duration": 1e308}',)),
        Bad("smb-times", ('{"ts": 1.0, "_path": "smb_files", "times.modified": 1e300}',)),
    ],
    "windows": [
        Bad("no-event-id", ('{"Channel": "Security"}',), quarantine=True),
        Bad("event-id-text", ('{"EventID": "abc"}',), quarantine=True),
        Bad("event-id-huge", ('{"EventID": ' + "9" * 40 + "}",)),
        Bad("time-1e20", ('{"EventID": 1, "TimeCreated": 1e20}',)),
        Bad("system-text", ('{"Event": {"System": "x", "EventData": [1]}}',)),
        Bad("provider-list", ('{"Event": {"System": {"EventID": 1, "Provider": [1]}}}',)),
        Bad(
            "event-data-list", ('{"Event": {"System": {"EventID": 1}, "EventData": {"Data": 5}}}',)
        ),
        Bad("winlog-odd", ('{"winlog": {"event_id": [1], "event_data": []}}',)),
    ],
    "cloudtrail": [
        Bad("no-event-name", ('{"eventTime": "2026-03-01T10:00:00Z"}',), quarantine=True),
        Bad("time-negative", ('{"eventName": "x", "eventTime": -99999999999}',)),
        Bad("time-1e20", ('{"eventName": "x", "eventTime": 1e20}',)),
        Bad("identity-text", ('{"eventName": "x", "eventTime": "t", "userIdentity": "x"}',)),
        Bad("records-nested", ('{"Records": [{"Records": [1]}, 5]}',), extra_rows=1),
    ],
    "snort": [
        # alert_json
        Bad("json-no-rule-no-sid", ('{"msg": "x", "proto": "TCP"}',), quarantine=True),
        Bad("json-rule-not-gid-sid-rev", ('{"rule": "1:2:x", "msg": "x"}',), quarantine=True),
        Bad("json-rule-5000-digits", ('{"rule": "' + "9" * 5000 + ':1:1"}',), quarantine=True),
        Bad("json-rule-number-sid-text", ('{"rule": 5, "sid": "x"}',), quarantine=True),
        Bad("json-sid-absurd", ('{"sid": 1e300, "gid": -1, "rev": "x", "priority": 1e300}',)),
        Bad("json-sid-5000-digits", ('{"sid": ' + "9" * 5000 + ', "pkt_num": -1}',)),
        Bad("json-seconds-1e20", ('{"rule": "1:1:1", "seconds": 1e20}',)),
        Bad("json-seconds-negative", ('{"rule": "1:1:1", "seconds": -99999999999}',)),
        Bad("json-seconds-text", ('{"rule": "1:1:1", "seconds": "x", "timestamp": "x"}',), True),
        Bad("json-ts-feb-30", ('{"rule": "1:1:1", "timestamp": "02/30-10:00:00.0"}',), True),
        Bad("json-ts-absurd", ('{"rule": "1:1:1", "timestamp": "99/13/32-25:61:61"}',), True),
        Bad("json-ts-feb-29-2023", ('{"rule": "1:1:1", "timestamp": "23/02/29-10:00:00"}',), True),
        Bad("json-ts-iso", ('{"rule": "1:1:1", "timestamp": "2026-03-01T10:00:00Z"}',), True),
        Bad(
            "json-ts-7-digit-fraction",
            ('{"rule": "1:1:1", "timestamp": "03/01-10:00:00.1234567"}',),
            True,
        ),
        Bad("json-ts-object", ('{"rule": "1:1:1", "timestamp": {"$date": [1]}}',), True),
        Bad(
            "json-ts-unicode-digits",
            ('{"rule": "1:1:1", "timestamp": "' + SNORT_ARABIC_TIME + '"}',),
        ),
        Bad(
            "json-ap-odd",
            ('{"rule": "1:1:1", "src_ap": "::::", "dst_ap": "[::1]:99999", "src_port": "x"}',),
        ),
        Bad(
            "json-wrong-types",
            (
                '{"rule": "1:1:1", "src_addr": [1], "dst_addr": {"a": 1}, "proto": 5, "vlan": "x", '
                '"iface": [], "eth_src": 5, "msg": ["x"], "class": {}, "action": 5, "service": 1}',
            ),
        ),
        Bad(
            "json-pkt-num-past-64-bits",
            ('{"rule": "1:1:1", "pkt_num": 18446744073709551616, "timestamp": "03/01-10:00:00"}',),
        ),
        Bad(
            "json-msg-5000-cves", (json.dumps({"rule": "1:1:1", "msg": "CVE-2021-44228 " * 5000}),)
        ),
        Bad("json-b64-garbage", ('{"rule": "1:1:1", "b64_data": "!!! not base64 \\u0000"}',)),
        # alert_fast
        Bad("fast-no-rule", ("03/01-10:00:00.000000 [**] no rule here [**]",), quarantine=True),
        Bad("fast-rule-11-digits", ("03/01-10:00:00.000000 [**] [1:99999999999:1] m",), True),
        Bad("fast-truncated-in-rule", ("03/01-10:00:00.000000 [**] [1:20",), quarantine=True),
        Bad("fast-truncated-in-time", ("03/01-10:0",), quarantine=True),
        Bad("fast-truncated-after-message", ("03/01-10:00:00.000000 [**] [1:2019401:3] ET tr",)),
        Bad("fast-feb-30", ("02/30-10:00:00.000000 [**] [1:1:1] m [**]",), quarantine=True),
        Bad("fast-25h", ("03/01-25:00:00.000000 [**] [1:1:1] m",), quarantine=True),
        Bad("fast-feb-29-2001", ("01/02/29-10:00:00.000000 [**] [1:1:1] m",), quarantine=True),
        Bad(
            "fast-unicode-digits",
            (SNORT_ARABIC_TIME + ".\u0660 [**] [\u0661:\u0661:\u0661] m [Priority: \u00b2]",),
        ),
        Bad("fast-priority-200-digits", ("[1:1:1] m [**] [Priority: " + "9" * 200 + "]",)),
        Bad("fast-endpoints-odd", ("[1:1:1] m {TCP} 999.1.1.1:99999 -> [::1:x",)),
        Bad("fast-proto-empty", ("[1:1:1] m {} 1.2.3.4:1 -> 5.6.7.8:2",)),
        Bad("fast-brace-spam", ("[1:1:1] m " + "{" * 5000 + "} a -> b",)),
        Bad("fast-bracket-spam", ("[1:1:1] m " + "[Classification: x]" * 3000,)),
        Bad("fast-interface-long", ("[1:1:1] m [**] [Priority: 1] <" + "e" * 5000 + "> {TCP}",)),
        Bad("fast-over-64k-line", ("[1:1:1] " + "m" * 70_000,), quarantine=True),
        # snort[pid]: syslog lines
        Bad("syslog-not-snort", ("<13>Feb  1 10:00:00 h sshd[1]: Accepted password for x",), True),
        Bad(
            "syslog-snort-startup",
            ("<13>Feb  1 10:00:00 h snort[1]: Commencing packet processing",),
            True,
        ),
        Bad("syslog-pri-999", ("<999>Feb  1 10:00:00 h snort[1]: [1:1:1] m",), quarantine=True),
        Bad("syslog-bsd-feb-30", ("<33>Feb 30 10:00:00 h snort[1]: [1:1:1] m",)),
        Bad(
            "syslog-pid-5000-digits",
            ("<33>Feb  1 10:00:00 h snort[" + "9" * 5000 + "]: [1:1:1] m",),
        ),
        Bad(
            "syslog-rfc5424",
            ("<33>1 2026-03-01T10:00:00Z h snort 1 - - [1:1:1] m {TCP} 1.2.3.4:1 -> 5.6.7.8:2",),
        ),
        Bad(
            "syslog-rfc5424-ts-year-0",
            ("<33>1 0000-01-01T00:00:00Z h snort 1 - - [1:1:1] m",),
            True,
        ),
        Bad("syslog-snort3-no-body", ("<33>Feb  1 10:00:00 h snort3[1]:",), quarantine=True),
    ],
}


def bad_records(log_format: str) -> list[Bad]:
    """Every kind of bad record for ``log_format``, the injections into each field included
    (CR/LF, ANSI escapes, bidi overrides: a stored value shown later must stay inert)."""
    json_bad = [
        Bad(b.name, b.records, b.quarantine, b.extra_rows, transports=NOT_JSON_VARIANTS)
        for b in JSON_BAD
    ]
    bads = list(COMMON) + (json_bad if log_format in JSON_FORMATS else []) + PER_FORMAT[log_format]
    for field_name in FIELDS[log_format]:
        for kind, text in INJECTIONS.items():
            record = template(log_format, {"m": "inj", "i": 0, "inject": text}, field_name)
            # Through a file the bytes arrive as through REST: REST, HEC and syslog suffice.
            injected = (record,)
            bads.append(Bad(f"inject-{kind}-{field_name}", injected, transports=INJECTED_VIA))
    return bads


# ---- cases -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    id: str
    log_format: str
    transport: str
    body: bytes
    goods: tuple[str, ...]  # markers of the good records in the body
    max_rows: int  # events + quarantine rows this case may cost, at most
    quarantined: int = 0  # at least this many quarantine rows
    exact: bool = False  # ... exactly, and exactly the good records stored
    refused: bool = False  # unreadable as a whole: a 4xx / a command error, nothing stored
    partial: bool = False  # ... except, maybe, the complete records before a truncation
    file_name: str = "case.log"
    content_type: str = ""
    headers: tuple[tuple[str, str], ...] = field(default_factory=tuple)


def encode(record: Any) -> bytes:
    if isinstance(record, bytes):
        return record
    if isinstance(record, str):
        return record.encode("utf-8", errors="surrogatepass")
    return json.dumps(record).encode()


def _lines(body: bytes) -> int:
    return sum(1 for line in body.splitlines() if line.strip())


def _goods(log_format: str, index: int) -> tuple[list[Any], tuple[str, str]]:
    markers = (f"good-{index:05d}-1", f"good-{index:05d}-2")
    return [good_record(log_format, m, 2 * index + n) for n, m in enumerate(markers)], markers


def _line_case(index: int, log_format: str, transport: str, bad: Bad) -> Case:
    goods, markers = _goods(log_format, index)
    bad_bytes = b"\n".join(encode(r) for r in bad.records)
    body = encode(goods[0]) + b"\n" + bad_bytes + b"\n" + encode(goods[1]) + b"\n"
    bad_lines = _lines(bad_bytes)
    # The .jsonl name tells a file's readers to take JSON formats line by line.
    name = "case.jsonl" if log_format in JSON_FORMATS else "case.log"
    return Case(
        id=f"{transport}/{log_format}/{bad.name}",
        log_format=log_format,
        transport=transport,
        body=body,
        goods=markers,
        max_rows=2 + bad_lines + bad.extra_rows,
        quarantined=bad_lines if bad.quarantine else 0,
        exact=bad.quarantine,
        file_name=name,
        content_type="application/x-ndjson" if log_format in JSON_FORMATS else "text/plain",
    )


def _hec_event_case(index: int, log_format: str, bad: Bad) -> Case:
    goods, markers = _goods(log_format, index)
    envelopes = [json.dumps({"event": goods[0], "host": "h"}).encode()]
    for record in bad.records:
        if isinstance(record, bytes):
            text = record.decode("utf-8", errors="surrogateescape")
            record = text.encode("utf-8", errors="replace").decode()
        envelopes.append(json.dumps({"event": record}).encode())
    envelopes.append(json.dumps({"event": goods[1], "time": 1772359200}).encode())
    return Case(
        id=f"hec_event/{log_format}/{bad.name}",
        log_format=log_format,
        transport="hec_event",
        body=b"\n".join(envelopes),
        goods=markers,
        max_rows=len(envelopes) + bad.extra_rows,
        quarantined=0,
    )


def _syslog_frames(messages: list[bytes], octet_counted: bool) -> bytes:
    if octet_counted:
        return b"".join(b"%d %s" % (len(m), m) for m in messages)
    return b"".join(m + b"\n" for m in messages)


def _syslog_case(index: int, log_format: str, bad: Bad, octet_counted: bool) -> Case:
    goods, markers = _goods(log_format, index)
    bad_messages = [encode(r) for r in bad.records]
    if not octet_counted:  # newline framing: a record's own line breaks split it
        bad_messages = [line for m in bad_messages for line in m.splitlines()]
    messages = [encode(goods[0]), *bad_messages, encode(goods[1])]
    framing = "octets" if octet_counted else "lf"
    return Case(
        id=f"syslog-{framing}/{log_format}/{bad.name}",
        log_format=log_format,
        transport="syslog",
        body=_syslog_frames(messages, octet_counted),
        goods=markers,
        max_rows=len(messages),
    )


FRAMING_BAD = {
    "oversized-octet-count": b"99999 <13>Feb  1 10:00:00 h app: claims to be long\n",
    "octet-count-short": b"5 <13>Feb  1 10:00:00 h app: longer than five\n",
    "octet-count-zero": b"0 <13>Feb  1 10:00:00 h app: zero\n",
    "octet-count-leading-zero": b"007 <13>abc\n",
    "octet-count-not-number": b"12a <13>Feb  1 10:00:00 h app: x\n",
    "octet-count-huge": b"999999999 " + b"x" * 100 + b"\n",
    "nul-framed": b"\x00\x00<13>Feb  1 10:00:00 h app: nul framed\x00\n",
    "endless-line": b"<13>Feb  1 10:00:00 h app: " + b"z" * 70_000 + b"\n",
    "crlf-framed": b"<13>Feb  1 10:00:00 h app: crlf\r\n\r\n",
    "binary": bytes(range(1, 256)) + b"\n",
}
# An octet count claims the next N bytes of the connection: a count larger than what
# follows swallows the rest of that sender's own stream (RFC 6587 leaves no way to find
# the next frame). Only the good record before it can be expected.
SWALLOWS_THE_REST = {"oversized-octet-count", "octet-count-huge"}


def _framing_case(index: int, log_format: str, name: str, bad: bytes) -> Case:
    goods, markers = _goods(log_format, index)
    body = encode(goods[0]) + b"\n" + bad + encode(goods[1]) + b"\n"
    return Case(
        id=f"syslog-framing/{log_format}/{name}",
        log_format=log_format,
        transport="syslog",
        body=body,
        goods=markers[:1] if name in SWALLOWS_THE_REST else markers,
        max_rows=3 + bad.count(b"\n"),  # a count can cut a line in two
    )


def _gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(zipfile.ZipInfo(name, (2026, 1, 1, 0, 0, 0)), data)
    return buffer.getvalue()


def _request_cases(number: Callable[[], int], log_format: str) -> Iterator[Case]:
    """Requests that are unreadable as a whole, and files inside archives. Each case that
    stores anything has good records of its own: the same records sent twice would be
    duplicates (natural keys), the same file twice "already ingested"."""
    goods, markers = _goods(log_format, number())
    lines = encode(goods[0]) + b"\n" + encode(goods[1]) + b"\n"
    truncated_gz = _gz(lines * 50)[:-30]
    evtx_random = bytes((n * 131 + 7) % 256 for n in range(70_000))
    ct = "application/x-ndjson" if log_format in JSON_FORMATS else "text/plain"
    base: dict[str, Any] = {"log_format": log_format, "max_rows": 0, "goods": ()}
    for transport in ("rest", "hec_raw"):
        for name, body, headers in (
            ("truncated-gzip", truncated_gz, (("Content-Encoding", "gzip"),)),
            ("gzip-header-only", b"\x1f\x8b\x08\x00garbage", (("Content-Encoding", "gzip"),)),
            ("declared-gzip-plain", lines, (("Content-Encoding", "gzip"),)),
        ):
            yield Case(
                id=f"{transport}/{log_format}/{name}",
                transport=transport,
                body=body,
                refused=True,
                headers=headers,
                content_type=ct,
                **base,
            )
    yield Case(
        id=f"hec_event/{log_format}/empty", transport="hec_event", body=b"", refused=True, **base
    )
    yield Case(
        id=f"hec_event/{log_format}/spaces",
        transport="hec_event",
        body=b" \n ",
        refused=True,
        **base,
    )
    yield Case(id=f"rest/{log_format}/empty", transport="rest", body=b"", content_type=ct, **base)
    for wrong in (
        "application/xml",
        "multipart/form-data; boundary=x",
        "text/html",
        "image/png",
        "application/json",  # declared JSON, sent lines (NDJSON or text)
    ):
        kind = wrong.split("/")[1].split(";")[0]
        goods, markers = _goods(log_format, number())
        lines = encode(goods[0]) + b"\n" + encode(goods[1]) + b"\n"
        yield Case(
            id=f"rest/{log_format}/content-type-{kind}",
            log_format=log_format,
            transport="rest",
            body=lines,
            goods=markers,
            max_rows=2,
            exact=True,
            content_type=wrong,
        )
    for transport in ("upload", "command"):
        for name, file_name, data in (
            ("random-evtx", "case.evtx", evtx_random),
            ("evtx-magic-then-junk", "case.evtx", b"ElfFile\x00" + evtx_random[:5000]),
            ("empty-evtx", "case.evtx", b""),
            ("truncated-gz", "case.log.gz", truncated_gz),
            ("gz-garbage", "case.log.gz", b"\x1f\x8bnot gzip at all"),
            ("zip-garbage", "case.zip", b"PK\x03\x04" + evtx_random[:3000]),
        ):
            truncated = name == "truncated-gz"
            yield Case(
                id=f"{transport}/{log_format}/{name}",
                transport=transport,
                body=data,
                refused=True,
                partial=truncated,
                file_name=file_name,
                **{**base, "max_rows": 100 if truncated else 0},
            )
        for name, file_name, pack in (
            ("gz-with-bad-lines", "case.log.gz", _gz),
            ("zip-with-bad-lines", "case.zip", lambda d: _zip({"a.log": d, "empty/": b""})),
            ("zip-in-gz", "case.zip.gz", lambda d: _gz(_zip({"a.log": d}))),
        ):
            goods, markers = _goods(log_format, number())
            bad = encode("\ud800 bad") + b"\n" + b"\xff\xfe\n"
            data = pack(encode(goods[0]) + b"\n" + bad + encode(goods[1]) + b"\n")
            yield Case(
                id=f"{transport}/{log_format}/{name}",
                log_format=log_format,
                transport=transport,
                body=data,
                goods=markers,
                max_rows=4,
                file_name=file_name,
            )


def build_cases() -> list[Case]:
    cases: list[Case] = []
    index = 0

    def number() -> int:
        nonlocal index
        index += 1
        return index

    for log_format in FORMATS:
        for bad in bad_records(log_format):
            for transport in LINE_TRANSPORTS:
                if transport in bad.transports:
                    cases.append(_line_case(number(), log_format, transport, bad))
            if "hec_event" in bad.transports:
                cases.append(_hec_event_case(number(), log_format, bad))
            if log_format in SYSLOG_FORMATS and "syslog" in bad.transports:
                cases.append(_syslog_case(number(), log_format, bad, octet_counted=True))
                cases.append(_syslog_case(number(), log_format, bad, octet_counted=False))
        cases += list(_request_cases(number, log_format))
        if log_format in SYSLOG_FORMATS:
            for name, data in FRAMING_BAD.items():
                cases.append(_framing_case(number(), log_format, name, data))
    return cases


CASES = build_cases()


def main(directory: str) -> None:
    """Write every case's body to DIR/<transport>/<format>/<case>.bin."""
    for case in CASES:
        path = Path(directory) / f"{case.id.replace('/', '__')}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(case.body)
    print(f"{len(CASES)} cases written to {directory}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "corpus")
