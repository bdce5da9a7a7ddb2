"""Indicators in their canonical form: what importers, analysts and the matcher share.

``indicator(kind, value)`` reads what a person typed by the kind they picked (see
``INDICATOR_KINDS``); ``typed(ioc_type, value)`` reads a value a feed says is of an IOC
type; ``guess(value)`` reads a bare line of a plain list. All three refang reports'
spellings (``1.2.3[.]4``, ``hxxps://``), canonicalise (IP text, lower-case IDNA domains,
URLs with a lower-case scheme and host), and raise ``ValidationError`` under ``value``
with a message for people when the value is not what it claims to be.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from socket import AF_INET, AF_INET6, inet_pton
from urllib.parse import urlsplit, urlunsplit

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from socapp.text import refuse_nul

from .choices import IocType

# What the analyst picks -> how the value is read.
INDICATOR_KINDS = ("ip", "domain", "hash", "user", "url", "email")

HASH_TYPES = {32: IocType.MD5, 40: IocType.SHA1, 64: IocType.SHA256}
_HEX = re.compile(r"^[0-9a-f]+$")
_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# JA4: protocol, TLS version, SNI, counts and ALPN, then two truncated SHA-256s.
_JA4 = re.compile(r"^[tqd][0-9a-z]{9}_[0-9a-f]{12}_[0-9a-f]{12}$")
URL_SCHEMES = {"http", "https", "ftp", "ftps", "sftp", "ws", "wss"}
MAX_VALUE = 2048


@dataclass(frozen=True)
class Indicator:
    ioc_type: str
    value: str


def network_bits(value: str) -> tuple[int, int, int] | None:
    """(IP version, prefix length, network address as an integer) of a canonical address
    or network ("45.9.148.7", "45.9.148.0/24", "2001:db8::/32"), or None. ``inet_pton``
    reads in a fraction of ``ipaddress``'s time: an index build reads every address
    indicator, 100,000 of them, once per change of the set and per process."""
    address, slash, length = value.partition("/")
    version, family, width = (6, AF_INET6, 128) if ":" in address else (4, AF_INET, 32)
    try:
        number = int.from_bytes(inet_pton(family, address.strip("[]")), "big")
        prefix = int(length) if slash else width
    except (OSError, ValueError):
        return None
    if not 0 <= prefix <= width:
        return None
    host_bits = width - prefix
    return version, prefix, number >> host_bits << host_bits


def _refuse(message: str) -> ValidationError:
    return ValidationError({"value": message})


def refang(text: str) -> str:
    """Undo the usual defanging of reports: ``1.2.3[.]4``, ``evil(.)com``, ``hxxps://``,
    ``user[@]example.com``."""
    for fanged, plain in (("[.]", "."), ("(.)", "."), ("{.}", "."), ("[@]", "@"), ("[:]", ":")):
        text = text.replace(fanged, plain)
    return re.sub(r"^hxxp", "http", text, flags=re.IGNORECASE)


def _ip(text: str) -> Indicator:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        raise _refuse(f"{text!r} is not an IPv4 or IPv6 address.") from None
    kind = IocType.IPV4 if address.version == 4 else IocType.IPV6
    return Indicator(kind, str(address))


def _cidr(text: str) -> Indicator:
    """A network in canonical form; a single-address network is that address (the
    matcher looks addresses up exactly, networks in a prefix tree)."""
    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise _refuse(f"{text!r} is not a network (CIDR like 192.0.2.0/24).") from None
    if network.num_addresses == 1:
        return _ip(str(network.network_address))
    return Indicator(IocType.CIDR, str(network))


def _ip_or_cidr(text: str) -> Indicator:
    return _cidr(text) if "/" in text else _ip(text)


def domain_name(text: str) -> str:
    """A domain in its canonical form: lower case, no trailing dot, IDNA (punycode)."""
    name = text.strip().rstrip(".").lower()
    try:
        name = name.encode("idna").decode("ascii")
    except UnicodeError:
        raise _refuse(f"{text!r} is not a valid domain name.") from None
    labels = name.split(".")
    if (
        len(name) > 253
        or len(labels) < 2
        or not all(_LABEL.match(label) for label in labels)
        or labels[-1].isdigit()
    ):
        raise _refuse(f"{text!r} is not a domain name (like example.com or a.b.example.org).")
    return name


def _domain(text: str) -> Indicator:
    return Indicator(IocType.DOMAIN, domain_name(text))


def _hash(text: str, expected: str | None = None) -> Indicator:
    digest = text.lower()
    kind = HASH_TYPES.get(len(digest))
    if kind is None or not _HEX.match(digest):
        raise _refuse("A hash is 32 (MD5), 40 (SHA-1) or 64 (SHA-256) hexadecimal characters.")
    if expected is not None and kind != expected:
        raise _refuse(f"{text!r} is not a {expected} hash (it has {len(digest)} characters).")
    return Indicator(kind, digest)


def _url(text: str) -> Indicator:
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise _refuse(f"{text!r} is not a URL.") from None
    scheme = parts.scheme.lower()
    if scheme not in URL_SCHEMES or not parts.hostname:
        raise _refuse(f"{text!r} is not a URL with a scheme and a host (https://host/path).")
    host = parts.hostname
    try:
        host = str(ipaddress.ip_address(host))
        host = f"[{host}]" if ":" in host else host
    except ValueError:
        host = domain_name(host) if "." in host else host.lower()
    netloc = host if port is None else f"{host}:{port}"
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    return Indicator(IocType.URL, urlunsplit((scheme, netloc, parts.path, parts.query, "")))


def _email(text: str) -> Indicator:
    try:
        validate_email(text)
    except ValidationError:
        raise _refuse(f"{text!r} is not an e-mail address.") from None
    local, _, domain = text.rpartition("@")
    return Indicator(IocType.EMAIL, f"{local}@{domain_name(domain)}")


def _user(text: str) -> Indicator:
    if len(text) > 256:
        raise _refuse("A user name is at most 256 characters.")
    # Case-insensitive where it matters (Windows, most directories), as alert entities are.
    return Indicator(IocType.USER, text.lower())


def _filename(text: str) -> Indicator:
    if "/" in text or "\\" in text or len(text) > 255:
        raise _refuse(f"{text!r} is not a file name (no directories, at most 255 characters).")
    return Indicator(IocType.FILENAME, text)


def _ja3(text: str) -> Indicator:
    digest = text.lower()
    if len(digest) != 32 or not _HEX.match(digest):
        raise _refuse("A JA3 fingerprint is an MD5: 32 hexadecimal characters.")
    return Indicator(IocType.JA3, digest)


def _ja4(text: str) -> Indicator:
    if not _JA4.match(text.lower()):
        raise _refuse(f"{text!r} is not a JA4 fingerprint (like t13d1516h2_8daaf6152771_...).")
    return Indicator(IocType.JA4, text.lower())


READERS: dict[str, Callable[[str], Indicator]] = {
    "ip": _ip,
    "domain": _domain,
    "hash": _hash,
    "user": _user,
    "url": _url,
    "email": _email,
}

TYPED_READERS: dict[str, Callable[[str], Indicator]] = {
    IocType.IPV4: _ip_or_cidr,
    IocType.IPV6: _ip_or_cidr,
    IocType.CIDR: _cidr,
    IocType.DOMAIN: _domain,
    IocType.URL: _url,
    IocType.EMAIL: _email,
    IocType.MD5: lambda text: _hash(text, IocType.MD5),
    IocType.SHA1: lambda text: _hash(text, IocType.SHA1),
    IocType.SHA256: lambda text: _hash(text, IocType.SHA256),
    IocType.FILENAME: _filename,
    IocType.USER_AGENT: lambda text: Indicator(IocType.USER_AGENT, text),
    IocType.JA3: _ja3,
    IocType.JA4: _ja4,
    IocType.USER: _user,
}


def _clean(value: str) -> str:
    refuse_nul(value=value)
    text = refang(value.strip())
    if not text:
        raise _refuse("Give a value.")
    if _CONTROL.search(text) or len(text) > MAX_VALUE:
        raise _refuse("A value is one line of at most 2,048 characters.")
    return text


def indicator(kind: str, value: str) -> Indicator:
    """The IOC type and canonical value of ``value`` read as ``kind`` (one of
    ``INDICATOR_KINDS``); a ValidationError under ``value`` says what is wrong."""
    reader = READERS.get(kind)
    if reader is None:
        refuse_nul(value=value)
        raise ValidationError({"kind": f"Unknown kind {kind!r}: one of {', '.join(READERS)}."})
    return reader(_clean(value))


def typed(ioc_type: str, value: str) -> Indicator:
    """``value`` read as the IOC type a feed gave it (an IPv4 type holding a network
    comes out as a CIDR, a one-address network as an address)."""
    reader = TYPED_READERS.get(ioc_type)
    if reader is None:
        raise ValidationError({"type": f"Unknown indicator type {ioc_type!r}."})
    return reader(_clean(value))


def guess(value: str) -> Indicator:
    """A bare indicator, its type guessed from its shape: a URL has a scheme, an address
    or network parses as one, an e-mail address has an @, a hash is hex of a hash's
    length; anything else must be a domain name."""
    text = _clean(value)
    if "://" in text:
        return _url(text)
    try:
        return _ip_or_cidr(text)
    except ValidationError:
        pass
    if "@" in text:
        return _email(text)
    if len(text) in HASH_TYPES and _HEX.match(text.lower()):
        return _hash(text)
    try:
        return _domain(text)
    except ValidationError:
        raise _refuse(
            f"{text!r} is not an address, network, domain, URL, e-mail address or hash."
        ) from None


def refusal_text(error: ValidationError) -> str:
    """The message of a ValidationError raised here, as one line."""
    if hasattr(error, "message_dict"):
        return " ".join(" ".join(messages) for messages in error.message_dict.values())
    return " ".join(error.messages)
