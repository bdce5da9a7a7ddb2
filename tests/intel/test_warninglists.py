"""Warning lists keep benign indicators quiet without blinding socapp to attacker
infrastructure: shared front ends (public resolvers, top sites, CDNs, scanners) are
skipped with the list named; rented address space (VPN, cloud, hosting), platforms whose
subdomains belong to anyone (dynamic DNS, "living off trusted sites") and paths on a
listed site still import and still match, and the indicator's page says what it is."""

from __future__ import annotations

import pytest

from events.models import Event
from intel import warninglists
from intel.models import IOC, IocMatch
from tests.conftest import client_for
from tests.events.test_ingest_api import post
from tests.events.test_ioc_matching import feed, json_source, ndjson  # noqa: F401 - fixtures
from tests.factories import IOCFactory
from tests.intel.test_pages import page

URL = "/api/v1/intel/import/"
VPN_LIST = (
    "Specialized list of vpn-ipv4 addresses belonging to common VPN providers and datacenters"
)
DYNAMIC_DNS_LIST = "List of known dynamic DNS domains"
RESOLVERS_LIST = "List of known IPv4 public DNS resolvers"

# Each value as a feed would send it, and whether the import keeps it.
KEPT = [
    "185.220.101.5",  # a Tor exit on MISP's VPN/datacenter list: attacker infrastructure
    "3.5.140.2",  # an Amazon EC2 address: rented by one tenant at a time
    "evil-c2.duckdns.org",  # a dynamic-DNS name: the subdomain is the attacker's
    "payload.blogspot.com",  # blogspot.com is a top site; its blogs are anyone's
    "https://github.com/someone/tool/releases/download/v1/x.exe",  # a path on a top site
    "https://bit.ly/3xYzAbC",  # a short link, not the shortener
    "http://evil.example/analyze.intezer.com/x",  # a listed substring in the path only
    "http://104.16.1.1/drop/x.exe",  # a path on a CDN address: one customer's content
]
SKIPPED = {
    "8.8.8.8": RESOLVERS_LIST,
    "github.com": "Top 1000 website from Alexa",
    "https://bit.ly/": "Top 10 000 websites from Cisco Umbrella",
    "mail.google.com": "Top 1000 websites from Cisco Umbrella",
    "10.20.30.40": warninglists.PRIVATE_LIST,
    "http://104.16.1.1/": "List of known Cloudflare IP ranges",
}


@pytest.fixture(autouse=True)
def _fresh_lists():
    warninglists.reset()
    yield
    warninglists.reset()


@pytest.mark.django_db
def test_an_import_skips_shared_infrastructure_and_keeps_attacker_infrastructure(manager):
    from tests.factories import ThreatIntelFactory

    ThreatIntelFactory(source_name="partners")
    body = "\n".join([*KEPT, *SKIPPED]).encode()
    response = client_for(manager).post(
        f"{URL}?format=list&feed=partners", body, content_type="text/plain"
    )
    assert response.status_code == 200, response.content
    assert set(IOC.objects.values_list("value", flat=True)) == {
        "185.220.101.5", "3.5.140.2", "evil-c2.duckdns.org", "payload.blogspot.com",
        "https://github.com/someone/tool/releases/download/v1/x.exe", "https://bit.ly/3xYzAbC",
        "http://evil.example/analyze.intezer.com/x", "http://104.16.1.1/drop/x.exe",
    }  # fmt: skip
    reasons = {skip["value"]: skip["reason"] for skip in response.json()["skips"]}
    assert reasons == {value: f"on the warning list {name!r}" for value, name in SKIPPED.items()}


@pytest.mark.django_db
def test_the_indicator_page_names_the_lists_that_only_inform(analyst_a):
    tor_exit = IOCFactory(ioc_type="ipv4", value="185.220.101.5")
    dyndns = IOCFactory(ioc_type="domain", value="evil-c2.duckdns.org")
    plain = IOCFactory(ioc_type="ipv4", value="45.9.148.77")
    assert VPN_LIST in page(analyst_a, f"/intel/iocs/{tor_exit.pk}/")
    assert DYNAMIC_DNS_LIST in page(analyst_a, f"/intel/iocs/{dyndns.pk}/")
    assert 'id="ioc-known-as">—' in page(analyst_a, f"/intel/iocs/{plain.pk}/")


@pytest.mark.django_db(transaction=True)
def test_an_address_on_an_informing_list_still_matches_at_ingest(api, json_source, feed):  # noqa: F811
    _, token = json_source
    tor_exit = IOCFactory(intel=feed, ioc_type="ipv4", value="185.220.101.5")
    resolver = IOCFactory(intel=feed, ioc_type="ipv4", value="8.8.8.8")
    events = ndjson(
        {"host": {"name": "ws-1"}, "destination": {"ip": "185.220.101.5"}},
        {"host": {"name": "ws-2"}, "destination": {"ip": "8.8.8.8"}},
    )
    assert post(api, token, events).json()["accepted"] == 2
    assert Event.objects.count() == 2
    assert set(IocMatch.objects.values_list("ioc_id", flat=True)) == {tor_exit.pk}
    assert resolver.pk not in IocMatch.objects.values_list("ioc_id", flat=True)


def test_an_admin_can_make_an_informing_list_silence_again(settings):
    assert warninglists.hit("ipv4", "185.220.101.5") is None
    assert warninglists.context_lists("ipv4", "185.220.101.5") == [VPN_LIST]
    settings.INTEL_WARNINGLISTS_CONTEXT = []
    warninglists.reset()
    assert warninglists.hit("ipv4", "185.220.101.5") == VPN_LIST
    assert warninglists.context_lists("ipv4", "185.220.101.5") == []


def test_a_dotted_entry_covers_subdomains_and_a_plain_one_only_itself():
    # bank-website lists ".<bank>" (the bank and its hosts); top-site lists plain names.
    assert warninglists.hit("domain", "online.chase.com") is not None
    assert warninglists.hit("domain", "blogspot.com") is not None
    assert warninglists.hit("domain", "someone.blogspot.com") is None
