"""Where the public test data lives (``../shared/data`` beside the project, never copied
into it). Tests and benchmarks read it from there; a clone elsewhere finds it through
``SOCAPP_SHARED_DATA`` or the workspace's usual place."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def shared_data_dir() -> Path:
    candidates = [
        os.environ.get("SOCAPP_SHARED_DATA", ""),
        str(ROOT.parent / "shared" / "data"),
        "/work/shared/data",
    ]
    for candidate in filter(None, candidates):
        path = Path(candidate)
        if (path / "README.md").is_file():
            return path
    raise FileNotFoundError(
        "The shared test data is missing: set SOCAPP_SHARED_DATA to the folder that holds "
        f"beats-module-tests/, sigma/, ... (looked in: {', '.join(filter(None, candidates))})"
    )
