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
    USER = "user", "User account"


class IocStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    EXPIRED = "expired", "Expired"
    REVOKED = "revoked", "Revoked"
    ALLOWLISTED = "allowlisted", "Allow-listed (known good)"
