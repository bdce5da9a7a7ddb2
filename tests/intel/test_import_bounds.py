"""Imports cost bounded work and memory: counted, not assumed. Plus MISP events, and
parsers that answer malformed input with a clear refusal, never another exception."""

from __future__ import annotations

import contextlib
import io
import json
import zipfile

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from intel.imports import ImportRefused, ImportTooLarge, Limits, collect
from intel.imports.base import DECODED
from socapp.inflate import INFLATED

SMALL = Limits(max_bytes=64 * 1024 * 1024, max_objects=10_000, max_indicators=100)


def test_a_million_tiny_objects_are_refused_before_they_are_all_built():
    data = b'{"type": "bundle", "objects": [' + b",".join([b"{}"] * 1_000_000) + b"]}"
    before = DECODED.objects
    with pytest.raises(ImportTooLarge, match="more than 10,000 JSON objects"):
        collect("stix", data, limits=SMALL)
    assert DECODED.objects - before == 10_001


def test_too_many_indicators_are_refused_naming_where():
    lines = b"\n".join(f"host{n}.example.net".encode() for n in range(101))
    with pytest.raises(ImportTooLarge, match=r"line 101: more than 100 indicators"):
        collect("list", lines, limits=SMALL)


def test_too_many_lines_and_too_many_bytes_are_refused():
    with pytest.raises(ImportTooLarge, match="INTEL_IMPORT_MAX_OBJECTS"):
        collect("list", b"# comment\nx\n" * 10_001, limits=SMALL)
    with pytest.raises(ImportTooLarge, match="INTEL_IMPORT_MAX_BYTES"):
        collect("list", b"x" * 101, limits=Limits(100, 10, 10))


def test_a_zip_bomb_in_a_misp_feed_is_refused_early(settings):
    settings.DECOMPRESSION_MAX_RATIO = 200
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", "{}")
        with archive.open("11111111-1111-4111-8111-111111111111.json", "w", force_zip64=True) as m:
            for _ in range(1024):
                m.write(b"\0" * (1024 * 1024))  # 1 GiB of zeros, ~1 MiB compressed
    before = INFLATED.bytes
    limits = Limits(max_bytes=10 * 1024 * 1024, max_objects=1000, max_indicators=100)
    with pytest.raises(ImportTooLarge):
        collect("misp_feed", buffer.getvalue(), limits=limits)
    assert INFLATED.bytes - before <= 10 * 1024 * 1024 + 1


def misp(attributes, tags=(), objects=()):
    event = {"uuid": "e1", "info": "phish wave", "Tag": [{"name": t} for t in tags],
             "Attribute": attributes, "Object": list(objects)}  # fmt: skip
    return json.dumps({"Event": event}).encode()


def test_misp_attributes_map_by_type_and_to_ids():
    collector = collect(
        "misp",
        misp(
            [
                {"uuid": "a1", "type": "ip-dst|port", "value": "45.9.148.30|443", "to_ids": True},
                {
                    "uuid": "a2",
                    "type": "filename|sha256",
                    "value": "x.exe|" + "b" * 64,
                    "to_ids": "1",
                },
                {"uuid": "a3", "type": "domain", "value": "ctx.example.net", "to_ids": False},
                {"uuid": "a4", "type": "regkey", "value": "HKLM\\x", "to_ids": True},
                {
                    "uuid": "a5",
                    "type": "ja3-fingerprint-md5",
                    "value": "C" * 32,
                    "to_ids": True,
                    "Tag": [{"name": "tlp:red"}],
                },
            ],
            tags=[
                "tlp:green",
                'misp-galaxy:mitre-attack-pattern="Phishing - T1566"',
                'misp-galaxy:threat-actor="APT-Test"',
                "campaign:x",
            ],
        ),
    )
    found = dict(collector.candidates.items())
    assert set(found) == {("ipv4", "45.9.148.30"), ("filename", "x.exe"),
                          ("sha256", "b" * 64), ("ja3", "c" * 32)}  # fmt: skip
    ip = found[("ipv4", "45.9.148.30")]
    assert (ip.tlp, ip.attack_techniques, ip.tags) == ("green", ["T1566"], ["campaign:x"])
    assert ip.context == {"event": ["phish wave"], "threat_actor": ["APT-Test"]}
    assert found[("ja3", "c" * 32)].tlp == "red"
    reasons = [skip.reason for skip in collector.skips]
    assert any("to_ids is off" in r for r in reasons) and any("regkey" in r for r in reasons)


def test_misp_object_references_that_loop_are_refused():
    objects = [
        {"uuid": "o1", "Attribute": [], "ObjectReference": [{"referenced_uuid": "o2"}]},
        {"uuid": "o2", "Attribute": [], "ObjectReference": [{"referenced_uuid": "o1"}]},
    ]
    with pytest.raises(ImportRefused, match="o1 -> o2 -> o1"):
        collect("misp", misp([], objects=objects))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "type",
                    "id",
                    "objects",
                    "Event",
                    "Attribute",
                    "value",
                    "pattern",
                    "spec_version",
                    "to_ids",
                    "Object",
                    "uuid",
                    "Tag",
                    "name",
                ]
            ),
            children,
            max_size=5,
        )
    ),
    max_leaves=20,
)


@hypothesis_settings(max_examples=150, deadline=None,
                     suppress_health_check=[HealthCheck.too_slow])  # fmt: skip
@given(document=json_values, fmt=st.sampled_from(["stix", "misp"]))
def test_any_json_is_read_or_refused_clearly(document, fmt):
    with contextlib.suppress(ImportRefused):
        collect(fmt, json.dumps(document).encode(), limits=SMALL)


@hypothesis_settings(max_examples=150, deadline=None)
@given(data=st.binary(max_size=300), fmt=st.sampled_from(["stix", "misp", "csv", "list",
                                                          "misp_feed"]))  # fmt: skip
def test_any_bytes_are_read_or_refused_clearly(data, fmt):
    with contextlib.suppress(ImportRefused):
        collect(fmt, data, limits=SMALL, mapping="value=value")
