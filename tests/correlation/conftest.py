"""Fixtures shared by the correlation tests."""

from __future__ import annotations

import pytest

from socapp.roof.bootstrap import BootstrapReport, ensure_rule_pack


@pytest.fixture
def pack(reference_data) -> None:
    """The default rule pack, loaded as ``manage.py bootstrap`` loads it."""
    ensure_rule_pack(BootstrapReport())
