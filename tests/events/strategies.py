"""Hypothesis strategies for what senders can send: arbitrary text and bytes, text built
from the tokens each format's parser looks for (so examples reach past the first check),
and JSON values with every awkward thing JSON allows (lone surrogates, NaN, huge numbers,
deep nesting, duplicate-looking keys, the field names the parsers read)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

from events.parsers.jsonlog import ALIASES, TIME_KEYS, TYPE_KEYS

# Every character, lone surrogates and control characters included.
ANY_CHAR = st.characters(codec=None, categories=None, exclude_categories=())
ANY_TEXT = st.text(ANY_CHAR, max_size=24)

AWKWARD = [
    "\x00", "\r", "\n", "\r\n", "\t", "\x1b[31m", "\u202e", "\u2066", "\ufeff", "\ud800",
    "\udfff", "\\", '"', "'", "|", "=", "[", "]", "{", "}", "<", ">", ":", ";", ",", " ",
    "  ", "-", ".", "%", "²", "٣", "x", "0", "-1", "99999999999999999999", "1e309",
    "9" * 60, "NaN", "Infinity",
]  # fmt: skip
TIMES = [
    "2024-02-29T12:00:00Z", "2024-02-29T12:00:00.123456789+05:30", "0000-01-01T00:00:00Z",
    "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "9999-12-31T23:59:59Z",
    "1970-01-01T00:00:00Z", "1969-12-31T23:59:59Z", "Feb 29 12:00:00", "Jan  1 00:00:00",
    "Dec 31 23:59:59.999999", "Feb 30 00:00:00", "1700000000", "1700000000000",
    "-99999999999", "1e20", "253402300800", "31/Dec/9999:23:59:59 -2359",
    "01/Jan/0001:00:00:00 +2359", "2024-13-45 25:61:61",
]  # fmt: skip
FORMAT_TOKENS = {
    "syslog": [
        "<0>", "<13>", "<191>", "<192>", "<999>", "<>", "<-1>", "1 ", "2 ", "- ", "host ",
        "app ", "sshd[123]: ", "sudo: ", "kernel: ", "audit: ", "[", "]", '[id@1 a="b"]',
        '[x a="\\"]', '[a b="c" d=e]', "type=SYSCALL msg=audit(1700000000.1:5): ",
        "msg=audit(", "argc=999999999 ", "a0=414243 ", "Failed password for root from ",
        "1.2.3.4 port 22 ssh2", "pam_unix(sshd:auth): ", "SRC=10.0.0.1 DST=::1 PROTO=TCP ",
        "IN=eth0 MAC=00:11:22:33:44:55:66:77:88:99:aa:bb:08:00 ", "Accepted publickey for ",
        "session opened for user root by (uid=0)", "COMMAND=/bin/sh", " : TTY=pts/0 ; PWD=/ ;",
        " USER=root ;", "new user: name=x, UID=1, GID=1, home=/, shell=/bin/sh",
    ],
    "cef": [
        "CEF:", "CEF:0|", "CEF:1|", "CEF:9|", "|", "\\|", "\\\\", "\\=", "=", " ", "rt=",
        "end=", "start=", "src=", "dst=", "spt=", "dpt=", "cn1=", "cnt=", "suser=", "act=",
        "deviceDirection=", "c6a1=", "c6a1Label=Source IPv6 Address ", "proto=", "slat=",
        "Very-High", "10", "-5", "99999999999999999999999", "Jan 01 2024 00:00:00 UTC",
    ],
    "leef": [
        "LEEF:", "LEEF:1.0|", "LEEF:2.0|", "|", "\\|", "\t", "^", "x5E", "0x5E", "\\x",
        "xZZ", "x110000", "xD800", "x0", "devTime=", "src=", "dst=", "srcPort=", "sev=",
        "cat=", "usrName=", "=", "devTimeFormat=", "MMM dd yyyy HH:mm:ss",
    ],
    "access": [
        "1.2.3.4 ", "10.0.0.1, 8.8.8.8 ", "::1 ", "- ", "user ", '"-" ', "[", "]",
        "10/Oct/2000:13:55:36 -0700", "31/Feb/2024:00:00:00 +0000", '"GET / HTTP/1.1" ',
        '"\\"" ', "200 ", "-1 ", "2326", ' "http://x/" "curl/8"', "vhost:443 ",
    ],
    "snort": [
        "08/28-12:34:56.789012 ", "26/02/29-00:00:00 ", "13/45-25:61:61.1 ", "[**] ", "[Drop] ",
        "[WDrop] ", "[1:2019401:3] ", "[119:4:1] ", "[1:99999999999:1] ", "[1:2:", '"msg" ',
        "CVE-2021-44228 ", "CVE_2021_44228", "[Classification: X] ", "[Priority: 1] ",
        "[Priority: 99999999999999999999] ", "[AppID: HTTP] ", ": <eth0> ", "{TCP} ", "{ICMP} ",
        "{", "}", "1.2.3.4:80", "2001:db8::1:80", "::1", " -> ", "5.6.7.8:99999", "->",
        "<33>Feb 28 12:00:00 ids snort[1]: ", "snort: ",
    ],
    "zeek": [
        "#separator \\x09", "#separator \\xZZ", "#separator ", "#set_separator\t",
        "#set_separator\t,", "#fields\tts\tuid\tid.orig_h\tid.orig_p\tquery",
        "#types\ttime\tstring\taddr\tport\tstring", "#types\tset[string]\tvector[count]",
        "#path\tconn", "#path\tdns", "\t", "-", "(empty)", "1700000000.5", "1e300", "T",
        "C1", "10.0.0.1", "53", "set[", "vector[", "{", "}", ",",
    ],
}  # fmt: skip

# The JSON field names the parsers read, so generated objects are taken for events.
KEYS = sorted(
    {*TIME_KEYS, *TYPE_KEYS, *(k for names in ALIASES.values() for k in names), *ALIASES}
    | {
        "event", "event.category", "event.id", "source", "destination", "ip", "port",
        "network", "transport", "tags", "socapp", "json", "message", "@timestamp",
        # Suricata EVE
        "event_type", "flow_id", "src_ip", "dest_ip", "src_port", "dest_port", "proto",
        "app_proto", "vlan", "alert", "signature_id", "severity", "action", "dns",
        "queries", "answers", "rrname", "rdata", "http", "hostname", "url", "status",
        "length", "protocol", "tls", "sni", "fingerprint", "ja3", "ja3s", "hash",
        "fileinfo", "size", "flow", "bytes_toserver", "anomaly", "community_id",
        # Windows
        "Event", "System", "EventData", "UserData", "Data", "#attributes", "#text", "Name",
        "EventID", "EventId", "Channel", "Computer", "Provider", "TimeCreated",
        "SystemTime", "EventRecordID", "Execution", "Security", "winlog", "event_id",
        "event_data", "channel", "LogonType", "Image", "CommandLine", "TargetUserName",
        "IpAddress", "IpPort", "Threat Name",
        # CloudTrail
        "eventName", "eventTime", "eventSource", "eventID", "awsRegion", "userIdentity",
        "sessionContext", "sessionIssuer", "userName", "arn", "sourceIPAddress",
        "errorCode", "responseElements", "ConsoleLogin", "Records",
        # Snort alert_json
        "pkt_num", "pkt_gen", "pkt_len", "dir", "src_addr", "dst_addr", "src_ap", "dst_ap",
        "dst_port", "service", "rule", "priority", "class", "msg", "b64_data", "seconds",
        "gid", "sid", "rev", "eth_src", "iface",
        # Zeek
        "_path", "@stream", "uid", "fuid", "id", "orig_h", "id.orig_h", "id.resp_h",
        "id.orig_p", "id.resp_p", "id_orig_h", "conn_state", "duration", "orig_ip_bytes",
        "query", "qtype_name", "trans_id", "rtt", "method", "uri", "status_code",
        "server_name", "cipher", "version", "established", "mime_type", "tx_hosts",
        "conn_uids", "total_bytes", "client", "success", "request_type", "share_type",
        "path", "name", "times.modified", "operation", "endpoint",
        # dotted and odd names
        "a.b", ".a", "a.", "a..b", "", " ", "\x00", "\ud800",
    }
)  # fmt: skip

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(10**80), max_value=10**80),
    st.sampled_from([2**63, 2**64, -(2**63) - 1, 10**20, -99999999999, 1700000000]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([1e20, -1e20, 1e308, 5e-324, 1.7e9, 1.7e12]),
    ANY_TEXT,
    st.sampled_from(TIMES + AWKWARD),
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), ANY_TEXT), children, max_size=5),
    ),
    max_leaves=12,
)
JSON_OBJECTS = st.dictionaries(st.one_of(st.sampled_from(KEYS), ANY_TEXT), JSON_VALUES, max_size=6)


def deep(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = {"a": value}
    return value


def shaped_text(log_format: str) -> st.SearchStrategy[str]:
    """Text made of the tokens ``log_format``'s parser looks for, awkward characters and
    times, in any order."""
    tokens = FORMAT_TOKENS.get(log_format, [])
    pieces = st.one_of(
        st.sampled_from(tokens) if tokens else ANY_TEXT,
        st.sampled_from(AWKWARD),
        st.sampled_from(TIMES),
        ANY_TEXT,
    )
    return st.lists(pieces, max_size=14).map("".join)


def json_text(value: Any) -> str:
    """As Python writes JSON: NaN/Infinity and lone surrogates as escapes are let through,
    which is what a sender can put on the wire."""
    return json.dumps(value)


def record_data(log_format: str) -> st.SearchStrategy[str | dict[str, Any]]:
    """One record as a reader hands it to a parser: a line of text, or a decoded object."""
    return st.one_of(
        shaped_text(log_format),
        ANY_TEXT,
        JSON_OBJECTS,
        JSON_OBJECTS.map(json_text),
        st.sampled_from(["", " ", "\t", "\r\n", "#", "{}", "[]", "null", "{", '{"a":']),
    )


def body_bytes(log_format: str) -> st.SearchStrategy[bytes]:
    """A request body or a file: records joined by newlines, or plain bytes."""
    line = st.one_of(
        record_data(log_format)
        .map(lambda r: r if isinstance(r, str) else json_text(r))
        .map(lambda text: text.encode("utf-8", errors="surrogatepass")),
        st.binary(max_size=40),
    )
    separators = st.sampled_from([b"\n", b"\r\n", b"\r", b"\n\n"])
    return st.tuples(st.lists(line, max_size=8), separators).map(lambda t: t[1].join(t[0]))
