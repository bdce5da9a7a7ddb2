from django.db import models


class IntelType(models.TextChoices):
    FEED = "feed", "Feed (pulled on a schedule)"
    STIX_TAXII = "stix_taxii", "STIX/TAXII collection"
    MISP = "misp", "MISP instance"
    REPORT = "report", "Report"
    MANUAL = "manual", "Entered by hand"


class IocType(models.TextChoices):
    IPV4 = "ipv4", "IPv4 address"
    IPV6 = "ipv6", "IPv6 address"
    CIDR = "cidr", "Network (CIDR)"
    DOMAIN = "domain", "Domain"
    URL = "url", "URL"
    EMAIL = "email", "E-mail address"
    MD5 = "md5", "MD5 hash"
    SHA1 = "sha1", "SHA-1 hash"
    SHA256 = "sha256", "SHA-256 hash"
    FILENAME = "filename", "File name"
    USER_AGENT = "user_agent", "User agent"
    JA3 = "ja3", "JA3 fingerprint"
    JA4 = "ja4", "JA4 fingerprint"
    USER = "user", "User account"


class IocStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    EXPIRED = "expired", "Expired"
    REVOKED = "revoked", "Revoked"
    ALLOWLISTED = "allowlisted", "Allow-listed (known good)"
    FALSE_POSITIVE = "false_positive", "Retired as a false positive"


class Tlp(models.TextChoices):
    """Traffic Light Protocol 2.0: who may see an indicator beyond the SOC."""

    CLEAR = "clear", "TLP:CLEAR"
    GREEN = "green", "TLP:GREEN"
    AMBER = "amber", "TLP:AMBER"
    AMBER_STRICT = "amber+strict", "TLP:AMBER+STRICT"
    RED = "red", "TLP:RED"


class FeedFormat(models.TextChoices):
    """How a feed's documents are read (imports and polling)."""

    STIX = "stix", "STIX 2.1 bundle"
    TAXII = "taxii", "TAXII 2.1 collection"
    MISP = "misp", "MISP event(s)"
    MISP_FEED = "misp_feed", "MISP feed (manifest and events)"
    CSV = "csv", "CSV with a column mapping"
    LIST = "list", "Plain list, one indicator a line"


class SightingKind(models.TextChoices):
    """MISP's sighting types: seen in our data, judged a false positive, expired."""

    SEEN = "seen", "Seen"
    FALSE_POSITIVE = "false_positive", "False positive"
    EXPIRED = "expired", "Expired"
