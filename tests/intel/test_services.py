"""Indicators analysts name: how a typed or pasted value is read, and the IOC it gets."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from intel.models import IOC
from intel.services import indicator, ioc_for_analyst
from tests.factories import IOCFactory


@pytest.mark.parametrize(
    ("kind", "typed", "ioc_type", "value"),
    [
        ("url", "https://[2001:DB8::1]:8443/x", "url", "https://[2001:db8::1]:8443/x"),
        ("url", "http://intranet/login#frag", "url", "http://intranet/login"),
        ("domain", "evil(.)example{.}com", "domain", "evil.example.com"),
        ("email", "ceo[@]Example.com", "email", "ceo@example.com"),
        ("hash", " " + "B" * 40 + " ", "sha1", "b" * 40),
    ],
)
def test_values_are_read_and_normalized(kind, typed, ioc_type, value):
    found = indicator(kind, typed)
    assert (found.ioc_type, found.value) == (ioc_type, value)


@pytest.mark.parametrize(
    ("kind", "typed"),
    [("domain", "a" * 64 + ".example"), ("domain", "example.123"), ("ip", "a\x00b"), ("x", "1")],
)
def test_values_that_are_not_indicators_are_refused(kind, typed):
    with pytest.raises(ValidationError):
        indicator(kind, typed)


@pytest.mark.django_db
def test_the_analyst_source_is_made_once_and_known_iocs_are_reused(analyst_a):
    first, created = ioc_for_analyst(actor=analyst_a, found=indicator("ip", "198.51.100.5"))
    again, created_again = ioc_for_analyst(actor=analyst_a, found=indicator("ip", "198.51.100.5"))
    assert created and not created_again and first == again
    feed = IOCFactory(ioc_type="domain", value="known.example")
    reused, made = ioc_for_analyst(actor=analyst_a, found=indicator("domain", "KNOWN.example"))
    assert reused == feed and not made
    assert IOC.objects.filter(intel__source_name="analyst").count() == 1
