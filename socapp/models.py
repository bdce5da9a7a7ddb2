"""Teams, personal API tokens, roles and the append-only audit log.

Users, roles and permissions are Django's own User, Group and Permission; a role is a
Group (shown as "Role" in the admin through a proxy). Teams are not roles: a team says
which analysts work which sources, alerts and cases.
"""

from __future__ import annotations

import uuid
from binascii import unhexlify
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from .crypto import code_digests, is_sealed, open_secret, seal_secret

# The team that owns what nobody else was given (catch-all sources, the demo).
DEFAULT_TEAM = "SOC"


class Team(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="teams", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Role(Group):
    """A Django Group used as a role (analyst, incident manager, ...)."""

    class Meta:
        proxy = True
        verbose_name = "role"
        verbose_name_plural = "roles"


class ApiToken(models.Model):
    """A personal API token: acts with its user's permissions until it expires or is revoked."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, blank=True)
    lookup_prefix = models.CharField(max_length=32, editable=False)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.lookup_prefix}… ({self.user})"

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def is_usable(self) -> bool:
        return self.revoked_at is None and not self.is_expired and self.user.is_active


class AuditEntry(models.Model):
    """One append-only, HMAC-chained record of an access or change.

    ``mac = HMAC(AUDIT_HMAC_KEY, prev_mac || canonical form of this row)``; database
    triggers refuse UPDATE, DELETE and TRUNCATE, ``AuditAnchor`` checkpoints the head,
    and ``audit_verify`` detects any edit, deletion, truncation or reordering done
    around them (see socapp/audit.py and socapp/audit_canonical.py).
    """

    class Result(models.TextChoices):
        ALLOWED = "allowed", "allowed"
        DENIED = "denied", "denied"  # a permission refusal (403)
        FAILED = "failed", "failed"  # a failed login or token

    seq = models.BigIntegerField(primary_key=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,  # the log outlives the users it names
    )
    actor_name = models.CharField(max_length=150, blank=True, db_index=True)  # audit log filter
    action = models.CharField(max_length=64, db_index=True)
    object_type = models.CharField(max_length=100, blank=True, db_index=True)
    object_id = models.CharField(max_length=64, blank=True, db_index=True)
    object_repr = models.CharField(max_length=200, blank=True)
    changes = models.JSONField(default=dict, blank=True)
    remote_addr = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)
    result = models.CharField(
        max_length=10, choices=Result.choices, default=Result.ALLOWED, db_index=True
    )
    # Which canonical form the MAC covers (socapp/audit_canonical.py); 1 = before
    # user_agent and result existed, kept so that old chains still verify.
    mac_version = models.PositiveSmallIntegerField(default=2)
    prev_mac = models.CharField(max_length=64)
    mac = models.CharField(max_length=64)

    class Meta:
        ordering = ["-seq"]
        verbose_name = "audit entry"
        verbose_name_plural = "audit log"

    def __str__(self) -> str:
        return f"#{self.seq} {self.actor_name or 'system'} {self.action} {self.object_repr}"


class AuditAnchor(models.Model):
    """A signed checkpoint of the audit chain's head: which entry was newest, its MAC
    and how many entries there were. Written every few minutes (and to the log stream,
    which leaves the machine), so deleting or truncating the newest entries leaves a
    chain shorter than an anchor saw. Append-only like the log itself."""

    id = models.BigAutoField(primary_key=True)
    at = models.DateTimeField(db_index=True)
    head_seq = models.BigIntegerField()
    head_mac = models.CharField(max_length=64)
    entry_count = models.BigIntegerField()
    signature = models.CharField(max_length=64)

    class Meta:
        ordering = ["-at"]
        verbose_name = "audit anchor"

    def __str__(self) -> str:
        return f"anchor {self.at:%Y-%m-%d %H:%M:%S} #{self.head_seq} ({self.entry_count} entries)"


class SavedView(models.Model):
    """A named filter of a list page (the alert queue, event search), kept per user and
    optionally shared with everyone who can open that page."""

    class Page(models.TextChoices):
        ALERTS = "alerts", "Alert queue"
        EVENTS = "events", "Event search"
        INCIDENTS = "incidents", "Incidents"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views"
    )
    page = models.CharField(max_length=20, choices=Page.choices)
    name = models.CharField(max_length=100)
    query = models.TextField(help_text="The page's query string, e.g. status=open&severity=high.")
    shared = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["page", "name"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "page", "name"], name="saved_view_name_once")
        ]

    def __str__(self) -> str:
        return f"{self.get_page_display()}: {self.name}"


class UserPreference(models.Model):
    """A user's own settings for the console: for now their time zone, in which pages
    show moments and read the times typed into them (the API stays in UTC). A user
    without a row has the defaults."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="preference",
    )
    time_zone = models.CharField(
        max_length=64, default="UTC", help_text="An IANA zone name, e.g. Europe/Berlin."
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.user}: {self.time_zone}"


class JwtSession(models.Model):
    """One exchange of a password for JWTs, and the chain of refresh tokens after it.

    Every token of the session names it (``sid``); each refresh token also carries the
    generation it was issued at. A refresh moves the generation on, so the refresh
    tokens already used are exactly those of an older generation: presenting one again
    means it was copied, and the whole session is revoked (its access tokens too, as
    every request looks the session up with the user)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="jwt_sessions"
    )
    generation = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    refreshed_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField()  # of the newest refresh token
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoke_reason = models.CharField(max_length=200, blank=True)
    created_addr = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "JWT session"

    def __str__(self) -> str:
        return f"JWT session {str(self.id)[:8]} of {self.user_id}"

    @property
    def is_live(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()


# ---- the second factor: django-otp's devices, their secrets kept sealed ----------------
# django-otp keeps a TOTP secret as hex and backup codes as typed, in plain columns: a
# copy of the database would be every user's second factor. These proxies keep the same
# rows with the secret sealed (socapp.crypto, under FIELD_ENCRYPTION_KEYS, bound to its
# user) and backup codes as keyed digests; socapp uses only them (socapp.second_factor).


class AuthenticatorApp(TOTPDevice):
    key: str  # django-otp's column (untyped there): here, the sealed secret

    class Meta:
        proxy = True
        verbose_name = "authenticator app"

    @property
    def secret_context(self) -> str:
        return f"totp:{self.user_id}"

    @property
    def bin_key(self) -> bytes:  # read by verify_token and config_url
        return open_secret(self.key, self.secret_context)

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not is_sealed(self.key):  # django-otp's default: 20 random bytes, as hex
            self.key = seal_secret(unhexlify(self.key), self.secret_context)
        super().save(*args, **kwargs)


class BackupCodes(StaticDevice):
    class Meta:
        proxy = True
        verbose_name = "backup codes"

    def add_codes(self, codes: list[str]) -> None:
        newest = [code_digests(code)[0] for code in codes]
        StaticToken.objects.bulk_create(StaticToken(device=self, token=d) for d in newest)

    def verify_token(self, token: str) -> bool:
        """django-otp's, matching the code's digest instead of the code."""
        allowed, _ = self.verify_is_allowed()
        if not allowed:
            return False
        match = self.token_set.filter(token__in=code_digests(token)).first()
        if match is None:
            self.throttle_increment()
            return False
        match.delete()
        self.throttle_reset(commit=False)
        self.set_last_used_timestamp(commit=False)
        self.save()
        return True
