"""Coverage-guided fuzzing (atheris, libFuzzer) of every parser and reader.

    .venv/bin/python bench/fuzz_parsers.py [--seconds 180] [--target NAME ...]
    .venv/bin/python bench/fuzz_parsers.py --list

Each target runs in a process of its own for --seconds. A target takes libFuzzer's bytes
the way a transport does (a request body, a file, a HEC body, a TCP syslog stream) and
runs them through the reader, the parser, normalization and the jsonb encoding. What is
a finding ("crash"):

- any exception escaping (the readers and ``parser_for`` must answer with records and
  rejections, never raise);
- a rejection that came from the safety net (``failure_reason`` on an exception no parser
  expected: the record is still isolated, but its reason is "a value of an unexpected
  type (TypeError: ...)" instead of words about the record: a gap to fix);
- accepted output PostgreSQL would refuse (NUL, lone surrogates, a time outside the
  events table's range) or a record answered twice.

No database is used (event types and enrichment, which read it, are left out). Findings
are written to bench/results/fuzz/<target>/ (libFuzzer's crash-* files, replayable with
``--target NAME -- <crash file>``); a Markdown table of execs and findings per target is
printed and the raw figures appended to bench/results/fuzz.jsonl. Atheris wheels exist
for Linux x86-64 (requirements-dev.txt installs it there); elsewhere build it from source
with clang (https://github.com/google/atheris#installation).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PARSER_FORMATS = [
    "syslog", "cef", "leef", "json", "suricata", "snort", "zeek", "access", "windows",
    "cloudtrail",
]  # fmt: skip
TARGETS = [
    *(f"parser:{name}" for name in PARSER_FORMATS),
    "reader:body",
    "reader:hec",
    "reader:framing",
    "reader:evtx",
]


# ---- the targets (run inside the fuzzing process) ------------------------------------


def _setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "socapp.settings.test")
    os.environ.setdefault("SECRET_KEY", "fuzz-only")
    import django

    django.setup()


class Finding(AssertionError):
    """What the fuzzer reports as a crash."""


def _checker():
    from datetime import timedelta

    import orjson

    from events.normalize import EARLIEST, MAX_FUTURE_SKEW, json_for_postgres, to_record
    from events.parsers import ParseContext, ParsedEvent, Rejected, base, parser_for

    received = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    context = ParseContext(received_at=received)

    def has_nul(value: object) -> bool:
        if isinstance(value, str):
            return "\x00" in value
        if isinstance(value, dict):
            return any(has_nul(k) or has_nul(v) for k, v in value.items())
        if isinstance(value, list):
            return any(has_nul(v) for v in value)
        return False

    latest = received + MAX_FUTURE_SKEW + timedelta(seconds=0)

    def check_parsed(log_format: str, records: list) -> None:
        before = sum(base.unexpected_failures.values())
        seen: set[int] = set()
        for result in parser_for(log_format)(records, context):
            if result.number in seen:
                raise Finding(f"record {result.number} answered twice")
            seen.add(result.number)
            if isinstance(result, Rejected):
                if not result.reason.strip():
                    raise Finding("a rejection without a reason")
                continue
            if not isinstance(result, ParsedEvent):
                raise Finding(f"neither an event nor a rejection: {result!r}")
            record = to_record(result, received_at=received)
            encoded = json_for_postgres(record.normalized_data)
            encoded.decode("utf-8")
            if has_nul(orjson.loads(encoded)):
                raise Finding("NUL in a stored document")
            for text in (record.raw_data, record.event_type, record.protocol):
                if "\x00" in text:
                    raise Finding("NUL in a stored text column")
                text.encode("utf-8")
            if not EARLIEST <= record.event_time <= latest:
                raise Finding(f"event time {record.event_time} outside the stored range")
        if sum(base.unexpected_failures.values()) != before:
            raise Finding(f"the safety net caught: {dict(base.unexpected_failures)}")

    return check_parsed


def make_target(name: str):
    """The function libFuzzer calls with each input, for target ``name``."""
    import atheris

    _setup_django()
    with atheris.instrument_imports(include=["events"]):
        from events.api.ingest import hec_events
        from events.files import _evtx_records
        from events.readers import read_body
        from events.syslogd.framing import FrameDecoder

    check_parsed = _checker()
    kind, _, log_format = name.partition(":")

    if kind == "parser":

        def target(data: bytes) -> None:
            decoded = read_body(data, log_format)
            check_parsed(log_format, decoded.records)

    elif log_format == "body":

        def target(data: bytes) -> None:
            provider = atheris.FuzzedDataProvider(data)
            chosen = PARSER_FORMATS[provider.ConsumeIntInRange(0, len(PARSER_FORMATS) - 1)]
            content_type = provider.PickValueInList(
                ["", "application/json", "application/x-ndjson", "text/plain"]
            )
            decoded = read_body(provider.ConsumeBytes(1 << 20), chosen, content_type)
            check_parsed(chosen, decoded.records)

    elif log_format == "hec":

        def target(data: bytes) -> None:
            provider = atheris.FuzzedDataProvider(data)
            chosen = PARSER_FORMATS[provider.ConsumeIntInRange(0, len(PARSER_FORMATS) - 1)]
            decoded = hec_events(provider.ConsumeBytes(1 << 20), chosen)
            numbers = [r.number for r in decoded.records] + [r.number for r in decoded.rejected]
            if sorted(numbers) != list(range(1, len(numbers) + 1)):
                raise Finding(f"HEC envelopes numbered {numbers}")
            check_parsed(chosen, decoded.records)

    elif log_format == "framing":

        def target(data: bytes) -> None:
            provider = atheris.FuzzedDataProvider(data)
            decoder = FrameDecoder(max_message=256)
            while provider.remaining_bytes():
                chunk = provider.ConsumeBytes(provider.ConsumeIntInRange(1, 64))
                for frame in decoder.feed(chunk):
                    if len(frame.data) > 512 or not (frame.data or frame.problem):
                        raise Finding(f"a frame of {len(frame.data)} bytes")
                if len(decoder.buffer) > 256 + 11:
                    raise Finding(f"the decoder holds {len(decoder.buffer)} bytes")
            decoder.close()

    elif log_format == "evtx":
        from events.files import UnreadableFile

        def target(data: bytes) -> None:
            try:
                items = list(_evtx_records(io.BytesIO(b"ElfFile\x00" + data)))
            except UnreadableFile:
                return
            records = [item for item in items if not hasattr(item, "reason")]
            check_parsed("windows", records)

    else:
        raise SystemExit(f"unknown target {name!r}; --list shows them")
    return target


def run_one(name: str, libfuzzer_args: list[str]) -> None:
    import atheris

    target = make_target(name)
    atheris.Setup([sys.argv[0], *libfuzzer_args], target)
    atheris.Fuzz()


# ---- seeds and dictionaries --------------------------------------------------------------

# Where each target's seed inputs come from in the shared test data (read from there, never
# copied into the repository): a good start lets the fuzzer mutate real records.
SEEDS = {
    "syslog": ["beats-module-tests/filebeat/module/system/*/test/*.log",
               "beats-module-tests/filebeat/module/auditd/log/test/*.log",
               "beats-module-tests/x-pack/filebeat/module/iptables/log/test/*.log"],
    "cef": ["beats-module-tests/x-pack/filebeat/module/cef/log/test/*.log",
            "beats-module-tests/x-pack/filebeat/processors/decode_cef/testdata/samples.log"],
    "json": ["beats-module-tests/x-pack/filebeat/module/aws/cloudtrail/test/*.log",
             "sigma/regression_data/rules/windows/process_creation/*/*.json"],
    "suricata": ["beats-module-tests/x-pack/filebeat/module/suricata/eve/test/*.log"],
    "zeek": ["beats-module-tests/x-pack/filebeat/module/zeek/*/test/*.log",
             "otrf/datasets/compound/apt29/day1/zeek/individual_zeek_logs/*.log"],
    "access": ["beats-module-tests/filebeat/module/apache/access/test/*.log",
               "beats-module-tests/filebeat/module/nginx/access/test/*.log"],
    "windows": ["sigma/regression_data/rules/windows/process_creation/*/*.json"],
    "cloudtrail": ["beats-module-tests/x-pack/filebeat/module/aws/cloudtrail/test/*.log"],
    "evtx": ["sigma/regression_data/rules/windows/process_creation/*/*.evtx"],
}  # fmt: skip
LEEF_SEEDS = [
    b"LEEF:1.0|Microsoft|MSExchange|4.0 SP1|15345|src=10.50.1.1\tdst=2.10.20.20\tsev=5",
    b"LEEF:2.0|Lancope|StealthWatch|1.0|41|^|src=10.0.1.8^dst=10.0.0.5^sev=5^devTime=May 1 2024 "
    b"10:00:00^devTimeFormat=MMM dd yyyy HH:mm:ss",
    b"<13>Jan 18 11:07:53 host LEEF:2.0|Vendor|Product|1|id|x7C|src=1.2.3.4|usrName=bob",
]
# The shared test data holds no Snort output: seeds of each form it writes.
SNORT_SEEDS = [
    b'{"timestamp": "08/18-11:18:21.000000", "pkt_num": 4, "proto": "TCP", "pkt_gen": "raw",'
    b' "pkt_len": 60, "dir": "C2S", "src_ap": "10.1.2.3:48620", "dst_ap": "10.9.8.7:80",'
    b' "rule": "1:2000000:1", "action": "allow"}',
    b'{"seconds": 1700000000, "src_addr": "2001:db8::1", "src_port": 1, "dst_addr": "::1",'
    b' "dst_port": 2, "rule": "119:4:1", "priority": 3, "class": "x", "msg": "CVE-2021-44228",'
    b' "service": "http", "b64_data": "AAAA", "vlan": 7}',
    b"08/28-12:34:56.789012  [**] [1:2019401:3] ET POLICY CVE-2014-6271 [**]"
    b" [Classification: Attempted Admin] [Priority: 1] {TCP} 1.2.3.4:80 -> 5.6.7.8:1234",
    b'26/08/28-12:34:56.1 [Drop] [**] [1:1:1] "msg" [**] [Priority: 2] [AppID: HTTP]'
    b" {ICMP} 1.2.3.4 -> 5.6.7.8",
    b"<33>Feb 28 12:00:00 ids snort[123]: [1:2019401:3] MSG [Classification: X]"
    b" [Priority: 1]: <eth0> {UDP} 2001:db8::1:53 -> 10.0.0.1:1234",
]
TOKENS = [
    "CEF:0|", "LEEF:2.0|", "LEEF:1.0|", "<13>", "<191>", '[id@1 a="b"]', "msg=audit(",
    "type=SYSCALL ", "rt=", "devTime=", "src=", "dst=", "#separator ", "#fields\t",
    "#types\t", "#path\t", '"@timestamp":', '"event":', '"EventID":', '"Event":',
    '"System":', '"eventName":', '"eventTime":', '"event_type":', '"ts":', '"Records":',
    "[**] ", "[1:2019401:3] ", "[Priority: 1] ", "[Classification: ", "{TCP} ", " -> ",
    '"rule": "1:1:1"', '"src_ap":', "08/28-12:34:56.789012 ", "snort[1]: ",
    "\\ud800", "\\u0000", "1e309", "99999999999999999999", "NaN", "Infinity", "\\x",
]  # fmt: skip


def write_seeds(name: str, directory: Path) -> int:
    """Seed inputs for target ``name`` (a few records each) into ``directory``."""
    from socapp.shared_data import shared_data_dir

    directory.mkdir(parents=True, exist_ok=True)
    what = name.partition(":")[2]
    key = {"body": "json", "hec": "syslog", "framing": "syslog"}.get(what, what)
    blobs: list[bytes] = {"leef": list(LEEF_SEEDS), "snort": list(SNORT_SEEDS)}.get(key, [])
    try:
        data = shared_data_dir()
    except FileNotFoundError:
        data = None
    paths = (
        [path for pattern in SEEDS.get(key, []) for path in sorted(data.glob(pattern))[:40]]
        if data is not None
        else []
    )
    for path in paths:
        content = path.read_bytes()
        if key == "evtx":
            blobs.append(content[8:65536])  # the target puts the magic back
            continue
        if path.suffix == ".json":  # one pretty-printed document: whole, as one line
            with contextlib.suppress(ValueError):
                blobs.append(json.dumps(json.loads(content)).encode())
            continue
        lines = content.splitlines()
        blobs += [b"\n".join(lines[i : i + 4]) for i in range(0, min(len(lines), 40), 4)]
    if what == "hec":
        blobs = [json.dumps({"event": b.decode(errors="replace")}).encode() for b in blobs]
    if what == "framing":
        blobs = [b"%d " % len(b) + b + b"\n" + b for b in blobs]
    for index, blob in enumerate(blobs):
        (directory / f"seed-{index:04d}").write_bytes(blob[:65536])
    return len(blobs)


def write_dictionary(path: Path) -> None:
    """TOKENS in libFuzzer's dictionary syntax: quoted, other bytes as \\xNN."""

    def quoted(token: str) -> str:
        data = token.encode("utf-8", errors="surrogatepass")
        return "".join(
            chr(b) if 0x20 <= b < 0x7F and b not in b'"\\' else f"\\x{b:02x}" for b in data
        )

    path.write_text("".join(f'"{quoted(token)}"\n' for token in TOKENS))


# ---- the driver -----------------------------------------------------------------------

_DONE = re.compile(r"Done (\d+) runs in (\d+) second")
_STAT = re.compile(r"#(\d+)\s+(?:pulse|NEW|REDUCE|DONE)\s+cov: (\d+)")


def drive(targets: list[str], seconds: int, rss_limit_mb: int) -> list[dict]:
    sys.path.insert(0, str(ROOT))
    rows = []
    for name in targets:
        workdir = RESULTS / "fuzz" / name.replace(":", "_")
        corpus = workdir / "corpus"
        corpus.mkdir(parents=True, exist_ok=True)
        seeds = workdir / "seeds"
        write_seeds(name, seeds)
        write_dictionary(workdir / "tokens.dict")
        started = time.monotonic()
        completed = subprocess.run(
            [
                sys.executable,
                __file__,
                "--run",
                name,
                "--",
                str(corpus),
                str(seeds),
                f"-dict={workdir / 'tokens.dict'}",
                f"-max_total_time={seconds}",
                f"-rss_limit_mb={rss_limit_mb}",
                "-timeout=20",
                "-max_len=65536",
                f"-artifact_prefix={workdir}/",
                "-print_final_stats=1",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        log = completed.stderr
        (workdir / "last.log").write_text(log[-200_000:])
        execs = int(_DONE.findall(log)[-1][0]) if _DONE.findall(log) else 0
        if not execs:
            stats = _STAT.findall(log)
            execs = int(stats[-1][0]) if stats else 0
        coverage = _STAT.findall(log)
        crashes = sorted(p.name for p in workdir.glob("crash-*"))
        timeouts = sorted(p.name for p in workdir.glob("timeout-*"))
        ooms = sorted(p.name for p in workdir.glob("oom-*"))
        rows.append(
            {
                "target": name,
                "seconds": round(time.monotonic() - started),
                "execs": execs,
                "coverage": int(coverage[-1][1]) if coverage else None,
                "exit": completed.returncode,
                "crashes": len(crashes),
                "timeouts": len(timeouts),
                "ooms": len(ooms),
                "findings": crashes + timeouts + ooms,
            }
        )
        print(
            f"{name}: {execs:,} execs, exit {completed.returncode}, "
            f"{len(crashes)} crashes, {len(timeouts)} timeouts, {len(ooms)} ooms",
            file=sys.stderr,
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=180, help="per target")
    parser.add_argument("--target", action="append", help="default: every target")
    parser.add_argument("--rss-limit-mb", type=int, default=2048)
    parser.add_argument("--list", action="store_true")
    parser.add_argument("--run", help=argparse.SUPPRESS)  # inside the fuzzing process
    args, rest = parser.parse_known_args()
    if args.list:
        print("\n".join(TARGETS))
        return
    if args.run:
        run_one(args.run, [a for a in rest if a != "--"])
        return
    targets = args.target or TARGETS
    rows = drive(targets, args.seconds, args.rss_limit_mb)
    RESULTS.mkdir(parents=True, exist_ok=True)
    with (RESULTS / "fuzz.jsonl").open("a") as out:
        stamp = datetime.now(UTC).isoformat()
        for row in rows:
            out.write(json.dumps({**row, "at": stamp, "host": platform.node()}) + "\n")
    print("\n| target | seconds | execs | crashes | timeouts | ooms |")
    print("|---|---:|---:|---:|---:|---:|")
    for row in rows:
        print(
            f"| {row['target']} | {row['seconds']} | {row['execs']:,} | {row['crashes']} "
            f"| {row['timeouts']} | {row['ooms']} |"
        )


if __name__ == "__main__":
    main()
