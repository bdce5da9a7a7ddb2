"""Changing threat intel: indicators analysts name while they work a case.

``indicator`` turns what a person typed (or pasted from a report, defanged or not) into
an indicator's type and canonical value, or refuses it with a message; ``ioc_for_analyst``
finds the IOC with that value in any source or creates one in the "analyst" source.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from socapp.audit import audit_record
from socapp.text import refuse_nul
from socapp.users import User

from .choices import IntelType, IocType
from .models import IOC, ThreatIntel

ANALYST_SOURCE = "analyst"

# What the analyst picks -> how the value is read.
INDICATOR_KINDS = ("ip", "domain", "hash", "user", "url", "email")

HASH_TYPES = {32: IocType.MD5, 40: IocType.SHA1, 64: IocType.SHA256}
_HEX = re.compile(r"^[0-9a-f]+$")
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
URL_SCHEMES = {"http", "https", "ftp", "ftps", "sftp", "ws", "wss"}


@dataclass(frozen=True)
class Indicator:
    ioc_type: str
    value: str


def _refang(text: str) -> str:
    """Undo the usual defanging of reports: ``1.2.3[.]4``, ``evil(.)com``, ``hxxps://``,
    ``user[@]example.com``."""
    for fanged, plain in (("[.]", "."), ("(.)", "."), ("{.}", "."), ("[@]", "@"), ("[:]", ":")):
        text = text.replace(fanged, plain)
    return re.sub(r"^hxxp", "http", text, flags=re.IGNORECASE)


def _ip(text: str) -> Indicator:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        raise ValidationError({"value": f"{text!r} is not an IPv4 or IPv6 address."}) from None
    kind = IocType.IPV4 if address.version == 4 else IocType.IPV6
    return Indicator(kind, str(address))


def domain_name(text: str) -> str:
    """A domain in its canonical form: lower case, no trailing dot, IDNA (punycode)."""
    name = text.strip().rstrip(".").lower()
    try:
        name = name.encode("idna").decode("ascii")
    except UnicodeError:
        raise ValidationError({"value": f"{text!r} is not a valid domain name."}) from None
    labels = name.split(".")
    if (
        len(name) > 253
        or len(labels) < 2
        or not all(_LABEL.match(label) for label in labels)
        or labels[-1].isdigit()
    ):
        raise ValidationError(
            {"value": f"{text!r} is not a domain name (like example.com or a.b.example.org)."}
        )
    return name


def _hash(text: str) -> Indicator:
    digest = text.lower()
    kind = HASH_TYPES.get(len(digest))
    if kind is None or not _HEX.match(digest):
        raise ValidationError(
            {"value": "A hash is 32 (MD5), 40 (SHA-1) or 64 (SHA-256) hexadecimal characters."}
        )
    return Indicator(kind, digest)


def _url(text: str) -> Indicator:
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme not in URL_SCHEMES or not parts.hostname:
        raise ValidationError(
            {"value": f"{text!r} is not a URL with a scheme and a host (https://host/path)."}
        )
    host = parts.hostname
    try:
        host = str(ipaddress.ip_address(host))
        host = f"[{host}]" if ":" in host else host
    except ValueError:
        host = domain_name(host) if "." in host else host.lower()
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    return Indicator(IocType.URL, urlunsplit((scheme, netloc, parts.path, parts.query, "")))


def _email(text: str) -> Indicator:
    try:
        validate_email(text)
    except ValidationError:
        raise ValidationError({"value": f"{text!r} is not an e-mail address."}) from None
    local, _, domain = text.rpartition("@")
    return Indicator(IocType.EMAIL, f"{local}@{domain_name(domain)}")


def _user(text: str) -> Indicator:
    if len(text) > 256:
        raise ValidationError({"value": "A user name is at most 256 characters."})
    # Case-insensitive where it matters (Windows, most directories), as alert entities are.
    return Indicator(IocType.USER, text.lower())


READERS = {
    "ip": _ip,
    "domain": lambda text: Indicator(IocType.DOMAIN, domain_name(text)),
    "hash": _hash,
    "user": _user,
    "url": _url,
    "email": _email,
}


def indicator(kind: str, value: str) -> Indicator:
    """The IOC type and canonical value of ``value`` read as ``kind`` (one of
    ``INDICATOR_KINDS``); a ValidationError under ``value`` says what is wrong."""
    refuse_nul(value=value)
    reader = READERS.get(kind)
    if reader is None:
        raise ValidationError({"kind": f"Unknown kind {kind!r}: one of {', '.join(READERS)}."})
    text = _refang(value.strip())
    if not text:
        raise ValidationError({"value": "Give a value."})
    if _CONTROL.search(text) or len(text) > 2048:
        raise ValidationError({"value": "A value is one line of at most 2,048 characters."})
    return reader(text)


def _analyst_source() -> ThreatIntel:
    source, _ = ThreatIntel.objects.get_or_create(
        source_name=ANALYST_SOURCE,
        defaults={
            "intel_type": IntelType.MANUAL,
            "description": "Indicators analysts named while working incidents.",
        },
    )
    return source


def ioc_for_analyst(*, actor: User, found: Indicator, note: str = "") -> tuple[IOC, bool]:
    """The IOC for ``found``: an existing one of any source (the oldest), else a new one in
    the "analyst" source (audited). Returns it and whether it was created."""
    existing = (
        IOC.objects.filter(ioc_type=found.ioc_type, value=found.value)
        .order_by("created_at")
        .first()
    )
    if existing is not None:
        return existing, False
    with transaction.atomic():
        ioc, created = IOC.objects.get_or_create(
            intel=_analyst_source(),
            ioc_type=found.ioc_type,
            value=found.value,
            defaults={"description": note[:2000]},
        )
        if created:
            audit_record(
                actor=actor,
                action="ioc.create",
                target=ioc,
                changes={"type": ioc.ioc_type, "value": ioc.value, "source": ANALYST_SOURCE},
            )
    return ioc, created
