"""The formula guard every CSV download shares (socapp/csvsafe.py)."""

from __future__ import annotations

import pytest

from socapp.csvsafe import safe_cell


@pytest.mark.parametrize(
    "typed", ['=HYPERLINK("http://x")', "+1", "-2", "@SUM(A1)", "\tcmd", "\r=1"]
)
def test_text_a_spreadsheet_would_run_is_quoted(typed):
    assert safe_cell(typed) == "'" + typed


def test_numbers_stay_numbers_and_plain_values_read_plainly():
    assert [safe_cell(v) for v in (-2, 2.5, 0, None, True, False, "plain")] == [
        -2,
        2.5,
        0,
        "",
        "yes",
        "no",
        "plain",
    ]


def test_structured_values_are_json_and_still_guarded():
    assert safe_cell({"a": 1}) == '{"a": 1}'
    assert safe_cell(["=1"]) == '["=1"]'  # a JSON list starts with "[": not a formula
    assert safe_cell("-cmd|' /C calc'!A0") == "'-cmd|' /C calc'!A0"
