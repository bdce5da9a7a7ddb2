"""The second factor's secrets at rest: TOTP secrets sealed, backup codes as digests.

Enrolments made before keep working: their secret is sealed in place, and each unused
backup code is replaced by its digest (a code is 8 characters; a digest 16).
"""

from binascii import unhexlify

from django.db import migrations

from socapp.crypto import code_digests, is_sealed, open_secret, seal_secret

PLAIN_CODE_LENGTH = 8


def seal(apps, schema_editor):
    TOTPDevice = apps.get_model("otp_totp", "TOTPDevice")
    StaticToken = apps.get_model("otp_static", "StaticToken")
    for device in TOTPDevice.objects.all():
        if not is_sealed(device.key):
            device.key = seal_secret(unhexlify(device.key), f"totp:{device.user_id}")
            device.save(update_fields=["key"])
    for token in StaticToken.objects.all():
        if len(token.token) == PLAIN_CODE_LENGTH:
            token.token = code_digests(token.token)[0]
            token.save(update_fields=["token"])


def unseal(apps, schema_editor):
    """Back to django-otp's plain columns; digested backup codes cannot be recovered and
    are dropped (users make new ones)."""
    TOTPDevice = apps.get_model("otp_totp", "TOTPDevice")
    StaticToken = apps.get_model("otp_static", "StaticToken")
    for device in TOTPDevice.objects.all():
        if is_sealed(device.key):
            device.key = open_secret(device.key, f"totp:{device.user_id}").hex()
            device.save(update_fields=["key"])
    StaticToken.objects.exclude(token__regex=r"^[a-z2-7]{8}$").delete()  # noqa: S106 (a pattern)


class Migration(migrations.Migration):
    dependencies = [
        ("otp_static", "0003_add_timestamps"),
        ("otp_totp", "0003_add_timestamps"),
        ("socapp", "0006_jwt_sessions"),
    ]

    operations = [
        migrations.CreateModel(
            name="AuthenticatorApp",
            fields=[],
            options={
                "verbose_name": "authenticator app",
                "proxy": True,
                "indexes": [],
                "constraints": [],
            },
            bases=("otp_totp.totpdevice",),
        ),
        migrations.CreateModel(
            name="BackupCodes",
            fields=[],
            options={
                "verbose_name": "backup codes",
                "proxy": True,
                "indexes": [],
                "constraints": [],
            },
            bases=("otp_static.staticdevice",),
        ),
        migrations.RunPython(seal, unseal),
    ]
