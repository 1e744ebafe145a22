"""Whether each channel's settings let it send, and what to change when they do not.

A channel with broken settings is not tried at all: its notifications wait, untouched and not
counted as failures, until the settings are fixed (nothing is lost, and a day of guaranteed
failures does not end in "gave up"). The command line refuses to start with the fix in hand; the
staff app's sender logs it and keeps sending on the channels that work.
"""

from __future__ import annotations

import ssl
from pathlib import Path

from receptionist.domain.practice import PracticeDirectory
from receptionist.settings import Settings
from receptionist.store.models import EMAIL, WEBHOOK

CHANNELS = (EMAIL, WEBHOOK)
MIN_SECRET_LENGTH = 32  # characters: e.g. 16 random bytes as hex
IMPLICIT_TLS_PORT = 465
NEW_SECRET = "python -c 'import secrets; print(secrets.token_hex(32))'"


def channel_problems(settings: Settings) -> dict[str, str]:
    """Each channel whose settings cannot work, with what to change (at most one per channel)."""
    problems: dict[str, str] = {}
    if email := _email_problem(settings):
        problems[EMAIL] = email
    if webhook := _webhook_problem(settings):
        problems[WEBHOOK] = webhook
    return problems


def ready_channels(settings: Settings) -> tuple[str, ...]:
    """The channels the sender may try."""
    broken = channel_problems(settings)
    return tuple(c for c in CHANNELS if c not in broken)


def problems_for(settings: Settings, directory: PracticeDirectory) -> list[str]:
    """The problems of the channels some practice's `[notifications]` uses, naming who waits."""
    users = {
        EMAIL: [p.id for p in directory if p.notifications.email],
        WEBHOOK: [p.id for p in directory if p.notifications.webhook],
    }
    return [
        f"{problem} Until then {channel} notifications for {', '.join(users[channel])} wait "
        "unsent (none are lost)."
        for channel, problem in channel_problems(settings).items()
        if users[channel]
    ]


def _email_problem(settings: Settings) -> str:
    if not settings.smtp_host.strip():
        return (
            "SMTP_HOST is not set: set it (and SMTP_FROM) in .env to the mail server that sends "
            "the practice's notifications, or remove `email` from [notifications] in practice.toml."
        )
    if "@" not in settings.smtp_from:
        return (
            "SMTP_FROM is not an email address: set it in .env to the sender the mail server "
            "accepts, e.g. receptionist@example-dental.com."
        )
    ca_file = settings.smtp_ca_file
    if ca_file is not None and (why := _ca_file_problem(ca_file)):
        return (
            f"SMTP_CA_FILE names {ca_file}, which {why}: point it at the PEM certificate "
            "(-----BEGIN CERTIFICATE-----) of the CA that signed the mail server's certificate, "
            "or leave it empty to trust the system's CAs."
        )
    encrypted = settings.smtp_starttls or settings.smtp_port == IMPLICIT_TLS_PORT
    if settings.smtp_username and not encrypted:
        return (
            "SMTP_USERNAME is set but SMTP_STARTTLS is false: the password would cross the "
            "network unencrypted. Set SMTP_STARTTLS=true (or use port 465, TLS from the start)."
        )
    return ""


def _webhook_problem(settings: Settings) -> str:
    secret = settings.webhook_secret.get_secret_value().strip()
    if len(secret) < MIN_SECRET_LENGTH:
        state = "not set" if not secret else f"shorter than {MIN_SECRET_LENGTH} characters"
        return (
            f"WEBHOOK_SECRET is {state}: receivers could not tell our requests from forged ones. "
            f"Set it in .env to a long random value (e.g. `{NEW_SECRET}`) and give the same "
            "value to the receiver."
        )
    return ""


def _ca_file_problem(path: Path) -> str:
    """Why `path` cannot verify the mail server, or "" if it can. It is loaded the way every
    email loads it (`mail.tls_context`): a file that merely exists (a key, a DER file, the wrong
    file) passed before, and then every email failed until the notifications gave up."""
    if not path.is_file():
        return "is not a readable file"
    try:
        context = ssl.create_default_context(cafile=str(path))
    except ssl.SSLError:
        return "holds no PEM certificate that loads"
    except OSError as exc:  # e.g. PermissionError
        return f"cannot be read ({exc.strerror or type(exc).__name__})"
    if not context.cert_store_stats()["x509"]:  # e.g. a PEM file with only a CRL
        return "holds no certificate"
    return ""
