"""Templates stay readable and carry no inline style: no line of a template is longer than
160 characters (the aim is 120; a longer line is broken between tags or attributes, or
its logic moves to a view or a partial), no template has a style attribute or a <style>
element, and no script sets a style attribute (style-src 'self' would block them all).
Each problem is named by file and line."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from tests.conftest import ROOT
from tests.socapp.test_security_headers import FORBIDDEN_IN_TEMPLATES

TEMPLATES = ROOT / "templates"
SCRIPTS = ROOT / "static" / "js"
LONGEST_LINE = 160
INLINE_STYLE_IN_TEMPLATES = {
    what: FORBIDDEN_IN_TEMPLATES[what] for what in ("style attribute", "style element")
}
# How a script could give an element a style attribute. Setting properties of
# element.style (the CSSOM) is not one: the policy allows it.
INLINE_STYLE_IN_SCRIPTS = {
    "setAttribute('style')": re.compile(r"""setAttribute\(\s*["'`]style["'`]""", re.IGNORECASE),
    "style attribute in markup": re.compile(r"""(?<![\w.])style\s*=\s*\\?["'`]""", re.IGNORECASE),
    "style key of an attribute object": re.compile(r"""[{,]\s*["'`]?style["'`]?\s*:"""),
}


def line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def matches_by_line(text: str, patterns: dict[str, re.Pattern[str]]) -> list[tuple[int, str]]:
    # The line of a match's end: a tag written over several lines is named by the line
    # that holds its style attribute.
    return [
        (line_of(text, match.end() - 1), what)
        for what, pattern in patterns.items()
        for match in pattern.finditer(text)
    ]


def template_problems(text: str) -> list[tuple[int, str]]:
    """(line, problem) for each over-long line and each inline style of a template."""
    too_long = [
        (number, f"line of {len(line)} characters (at most {LONGEST_LINE})")
        for number, line in enumerate(text.splitlines(), 1)
        if len(line) > LONGEST_LINE
    ]
    return sorted(too_long + matches_by_line(text, INLINE_STYLE_IN_TEMPLATES))


def script_problems(text: str) -> list[tuple[int, str]]:
    """(line, problem) for each way a script sets a style attribute."""
    return sorted(matches_by_line(text, INLINE_STYLE_IN_SCRIPTS))


def problems_in(paths: list[Path], check: Callable[[str], list[tuple[int, str]]]) -> list[str]:
    return [
        f"{path.relative_to(ROOT)}:{number}: {problem}"
        for path in paths
        for number, problem in check(path.read_text())
    ]


def test_no_template_has_an_over_long_line_or_an_inline_style():
    templates = sorted(TEMPLATES.rglob("*.html"))
    assert len(templates) > 20
    assert problems_in(templates, template_problems) == []


def test_no_script_sets_a_style_attribute():
    scripts = sorted(SCRIPTS.rglob("*.js"))
    assert scripts
    assert problems_in(scripts, script_problems) == []


def test_the_template_check_names_the_line_of_each_problem():
    """The control of the scan above."""
    sample = "\n".join(
        [
            "{% block content %}",
            "<p>" + "x" * 160 + "</p>",
            '<span class="badge"',
            '      style="--sev: red">high</span>',
            "<STYLE>p { color: red }</STYLE>",
            "<p>" + "x" * 150 + "</p>",
        ]
    )
    assert template_problems(sample) == [
        (2, "line of 167 characters (at most 160)"),
        (4, "style attribute"),
        (5, "style element"),
    ]
    assert template_problems('<p class="help">a style="guide" in the text</p>') == []


def test_the_script_check_names_the_line_of_each_problem():
    sample = "\n".join(
        [
            "box.style.backgroundColor = colour; // CSSOM: allowed",
            'box.setAttribute("style", "color: red");',
            "holder.innerHTML = '<b style=\"color: red\">x</b>';",
            'svg("rect", { style: "fill: red" });',
            "node.setAttribute(key, String(value));",
        ]
    )
    assert script_problems(sample) == [
        (2, "setAttribute('style')"),
        (3, "style attribute in markup"),
        (4, "style key of an attribute object"),
    ]
