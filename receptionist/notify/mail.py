"""Email notifications over SMTP, encrypted and with the server's certificate verified.

STARTTLS is required (SMTP_STARTTLS, the default): a server that does not offer it fails the
attempt rather than receive mail in the clear. Port 465 uses TLS from the first byte instead. The
certificate is checked against the system's CAs, or against SMTP_CA_FILE alone for a practice's
private CA. The `Message-ID` is the notification's id, so a mail sent twice (a sender died after
sending and before recording) is recognisably the same mail.
"""

from __future__ import annotations

import ssl
from email.message import EmailMessage
from email.utils import format_datetime

import aiosmtplib

from receptionist.notify.config import IMPLICIT_TLS_PORT
from receptionist.notify.content import Content
from receptionist.settings import Settings
from receptionist.store.models import utcnow

SMTP_TIMEOUT_S = 10.0  # each SMTP step; the sender bounds the whole attempt too
MESSAGE_ID_DOMAIN = "receptionist"


def message_id(notification_id: str) -> str:
    return f"<{notification_id}@{MESSAGE_ID_DOMAIN}>"


def build_email(content: Content, *, notification_id: str, sender: str, to: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = to
    mail["Subject"] = content.subject
    mail["Date"] = format_datetime(utcnow())
    mail["Message-ID"] = message_id(notification_id)
    mail["Auto-Submitted"] = "auto-generated"  # no out-of-office replies to a robot
    mail.set_content(content.text)
    return mail


def tls_context(settings: Settings) -> ssl.SSLContext:
    """Verifies the server's certificate and name; SMTP_CA_FILE replaces the system's CAs."""
    cafile = str(settings.smtp_ca_file) if settings.smtp_ca_file else None
    return ssl.create_default_context(cafile=cafile)


async def send_email(
    content: Content, *, notification_id: str, to: str, settings: Settings
) -> None:
    """Sends one mail; raises on any failure (the sender retries with the same Message-ID)."""
    implicit = settings.smtp_port == IMPLICIT_TLS_PORT
    mail = build_email(content, notification_id=notification_id, sender=settings.smtp_from, to=to)
    password = settings.smtp_password.get_secret_value()
    await aiosmtplib.send(
        mail,
        hostname=settings.smtp_host,
        port=settings.smtp_port,
        use_tls=implicit,
        start_tls=False if implicit else settings.smtp_starttls,
        tls_context=tls_context(settings),
        username=settings.smtp_username or None,
        password=password if settings.smtp_username else None,
        timeout=SMTP_TIMEOUT_S,
    )
