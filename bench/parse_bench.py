"""CPU cost per record of the ingest path in front of the database: read, parse,
normalize, encode for jsonb (no COPY, no event-type lookups: bench/ingest_bench.py
measures the whole path).

    .venv/bin/python bench/parse_bench.py [--records 5000] [--runs 15] [--root PATH]

--root runs the code of another checkout (say the main branch) with this script's
datasets, to compare two versions on the same machine: run both, interleaved, a few
times. Prints the median and the best run (CPU time of this process; on a shared
machine the best run is the steadier figure) in microseconds per record.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
DATASETS = (("sshd", "syslog"), ("suricata", "suricata"), ("windows", "windows"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--root", default=str(BENCH.parent), help="the checkout to measure")
    args = parser.parse_args()
    sys.path[:0] = [args.root, str(BENCH)]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "socapp.settings.test")
    os.environ.setdefault("SECRET_KEY", "bench-only")
    import django

    django.setup()
    import datasets

    from events.normalize import json_for_postgres, to_record
    from events.parsers import ParseContext, Rejected, parser_for
    from events.readers import read_lines

    context = ParseContext(received_at=datetime.now(UTC))
    print(f"{args.root}: µs per record, {args.records} records, {args.runs} runs")
    for name, log_format in DATASETS:
        lines = getattr(datasets, name)(args.records)
        times = []
        for _ in range(args.runs):
            started = time.process_time()
            decoded = read_lines(lines, log_format)
            for result in parser_for(log_format)(decoded.records, context):
                if not isinstance(result, Rejected):
                    record = to_record(result, received_at=context.received_at)
                    json_for_postgres(record.normalized_data)
            times.append((time.process_time() - started) * 1e6 / args.records)
        print(f"  {name:9} median {statistics.median(times):6.1f}  best {min(times):6.1f}")


if __name__ == "__main__":
    main()
