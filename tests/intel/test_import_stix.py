"""STIX 2.1 bundles imported into a feed: what becomes an IOC, what is skipped and why,
what is refused whole, and re-imports that update rather than duplicate."""

from __future__ import annotations

import pytest

from intel.imports import ImportRefused, collect
from intel.models import IOC
from intel.services import intel_import
from tests.factories import ThreatIntelFactory

from .stix_fixtures import TLP_GREEN, TLP_RED, bundle, indicator, relationship, sco, sdo

pytestmark = pytest.mark.django_db


def run(soc_admin, data: bytes, feed: str = "stix-feed"):
    return intel_import(actor=soc_admin, data=data, fmt="stix", feed_name=feed)


def test_simple_patterns_become_normalized_iocs_with_their_context(soc_admin):
    evil = indicator(
        "[ipv4-addr:value = '45.9.148.7' OR ipv4-addr:value = '91.92.240.0/24'] OR "
        "[domain-name:value = 'Evil.Example.NET'] OR [file:hashes.'SHA-256' = '" + "A" * 64 + "']",
        confidence=80,
        valid_until="2099-01-01T00:00:00Z",
        labels=["malicious-activity"],
        object_marking_refs=[TLP_GREEN],
        name="C2 of the campaign",
    )
    malware = sdo("malware", "BadRAT")
    actor = sdo("threat-actor", "FIN-Test")
    technique = sdo(
        "attack-pattern",
        "Command and Scripting Interpreter",
        external_references=[{"source_name": "mitre-attack", "external_id": "T1059"}],
    )
    result = run(
        soc_admin,
        bundle(
            evil,
            malware,
            actor,
            technique,
            relationship(evil["id"], malware["id"]),
            relationship(malware["id"], actor["id"], "attributed-to"),
            relationship(malware["id"], technique["id"], "uses"),
        ),
    )
    assert (result.created, result.updated, result.skipped) == (4, 0, 0)
    iocs = {(i.ioc_type, i.value): i for i in IOC.objects.filter(intel__source_name="stix-feed")}
    assert set(iocs) == {
        ("ipv4", "45.9.148.7"),
        ("cidr", "91.92.240.0/24"),
        ("domain", "evil.example.net"),
        ("sha256", "a" * 64),
    }
    ioc = iocs[("domain", "evil.example.net")]
    assert ioc.confidence_score == 0.8
    assert ioc.tlp == "green"
    assert ioc.expires_at.year == 2099
    assert ioc.external_id == evil["id"]
    assert ioc.tags == ["malicious-activity"]
    assert ioc.context == {
        "malware": ["BadRAT"],
        "threat_actor": ["FIN-Test"],
        "attack_pattern": ["Command and Scripting Interpreter"],
    }
    assert ioc.attack_techniques == ["T1059"]


def test_patterns_that_are_not_value_lists_are_skipped_with_the_reason(soc_admin):
    within = indicator("[ipv4-addr:value = '45.9.148.8'] WITHIN 60 SECONDS")
    both = indicator("[ipv4-addr:value = '45.9.148.9' AND ipv4-addr:value = '45.9.148.10']")
    like = indicator("[url:value LIKE 'http://%.example.net/%']")
    registry = indicator("[windows-registry-key:key = 'HKEY_LOCAL_MACHINE\\\\Run']")
    result = run(soc_admin, bundle(within, both, like, registry))
    assert result.created == 0 and result.skipped == 4
    reasons = {skip["where"]: skip["reason"] for skip in result.skips}
    assert "WITHIN" in reasons[within["id"]]
    assert "AND between comparisons" in reasons[both["id"]]
    assert "LIKE" in reasons[like["id"]]
    assert "windows-registry-key:key" in reasons[registry["id"]]


def test_observables_and_revoked_indicators(soc_admin):
    revoked = indicator("[url:value = 'HTTP://Bad.Example.net/x']", revoked=True)
    file_ = sco("file", name="dropper.exe", hashes={"MD5": "0" * 31 + "1"})
    result = run(
        soc_admin,
        bundle(revoked, sco("ipv6-addr", value="2001:DB8::1"), file_, sco("mutex", name="m")),
    )
    values = dict(IOC.objects.values_list("value", "status"))
    assert values["http://bad.example.net/x"] == "revoked"
    assert "2001:db8::1" not in values  # documentation range: on our private warning list
    assert {"dropper.exe", "0" * 31 + "1"} <= set(values)
    reasons = " ".join(skip["reason"] for skip in result.skips)
    assert "mutex observable" in reasons and "private and reserved" in reasons


def test_a_reimport_updates_what_changed_and_leaves_the_rest(soc_admin):
    first = indicator("[domain-name:value = 'a.example.net']", confidence=50)
    steady = indicator("[domain-name:value = 'b.example.net']", confidence=50)
    assert run(soc_admin, bundle(first, steady)).created == 2
    changed = {**first, "confidence": 90, "modified": "2026-02-01T00:00:00.000Z"}
    result = run(soc_admin, bundle(changed, steady))
    assert (result.created, result.updated, result.unchanged) == (0, 1, 1)
    assert IOC.objects.get(value="a.example.net").confidence_score == 0.9
    assert IOC.objects.count() == 2


def test_a_value_the_publisher_corrected_keeps_its_row(soc_admin):
    first = indicator("[domain-name:value = 'typo.example.net']")
    run(soc_admin, bundle(first))
    row = IOC.objects.get()
    fixed = {**first, "pattern": "[domain-name:value = 'fixed.example.net']"}
    result = run(soc_admin, bundle(fixed))
    assert (result.created, result.updated) == (0, 1)
    assert IOC.objects.get().pk == row.pk and IOC.objects.get().value == "fixed.example.net"


def test_tlp_takes_the_most_restrictive_marking(soc_admin):
    both = indicator(
        "[domain-name:value = 'tlp.example.net']", object_marking_refs=[TLP_GREEN, TLP_RED]
    )
    run(soc_admin, bundle(both))
    assert IOC.objects.get().tlp == "red"


@pytest.mark.parametrize(
    ("objects", "named"),
    [
        ([{"type": "weird-thing", "id": "weird-thing--1"}], "weird-thing--1"),
        ([{"type": "indicator", "id": "indicator--2"}], "indicator--2"),
        ([indicator("[ipv4-addr:value = ")], "not a valid"),
        ([{"type": "malware", "id": "tool--3"}], "tool--3"),
    ],
)
def test_malformed_objects_refuse_the_whole_bundle_naming_the_object(soc_admin, objects, named):
    good = indicator("[domain-name:value = 'kept-out.example.net']")
    with pytest.raises(ImportRefused, match=named.replace("--", "-+")):
        run(soc_admin, bundle(good, *objects))
    assert not IOC.objects.exists()


def test_cyclic_references_are_refused_naming_the_loop(soc_admin):
    one, two = sdo("malware", "One"), sdo("malware", "Two")
    with pytest.raises(ImportRefused, match="cyclic") as refused:
        run(soc_admin, bundle(one, two, relationship(one["id"], two["id"], "variant-of"),
                              relationship(two["id"], one["id"], "variant-of")))  # fmt: skip
    assert one["id"] in str(refused.value) and two["id"] in str(refused.value)
    report = sdo("report", "R", published="2026-01-01T00:00:00Z")
    report["object_refs"] = [report["id"]]
    with pytest.raises(ImportRefused, match=report["id"]):
        run(soc_admin, bundle(report))


def test_custom_objects_are_skipped_not_refused(soc_admin):
    result = run(
        soc_admin,
        bundle(
            {"type": "x-acme-note", "id": "x-acme-note--1", "text": "hi"},
            indicator("[domain-name:value = 'c.example.net']"),
        ),
    )
    assert result.created == 1 and "custom object type" in result.skips[0]["reason"]


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not json",
        b"[]",
        b'{"type": "report"}',
        b'{"type": "bundle", "objects": 3}',
        b'{"type": "bundle", "objects": [1]}',
        "\ufffe".encode("utf-16"),
    ],
)
def test_documents_that_are_not_bundles_are_refused_clearly(data):
    with pytest.raises(ImportRefused):
        collect("stix", data)


def test_an_import_is_one_transaction(soc_admin):
    ThreatIntelFactory(source_name="stix-feed")
    good = indicator("[domain-name:value = 'first.example.net']")
    bad = indicator("[domain-name:value = ")
    with pytest.raises(ImportRefused):
        run(soc_admin, bundle(good, bad))
    assert not IOC.objects.exists()
