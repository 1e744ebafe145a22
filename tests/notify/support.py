"""Settings and practices for the notification tests (helpers, not fixtures)."""

from __future__ import annotations

from pathlib import Path

from receptionist.domain.practice import Practice
from receptionist.settings import Settings
from tests.notify.rigs import SMTP_PASSWORD, SMTP_USER, SmtpRig, WebhookReceiver
from tests.support.profiles import practice as _practice

SECRET = "4f1d0c2b9a8e7d6c5b4a39281706f5e4d3c2b1a0"  # the practice's WEBHOOK_SECRET
APP_URL = "https://staff.lakeside.test"
DESK, ONCALL = "desk@lakeside.test", "oncall@lakeside.test"
# What a caller left: none of it may leave the building unless the practice opts in.
CALLER, NUMBER, REASON = "Ann Lee", "+14145550123", "Severe swelling on the left side since noon"
PATIENT_DATA = (CALLER, NUMBER, "4145550123", "555-0123", "swelling")


def make_settings(smtp: SmtpRig, ca_file: Path | None, **overrides: object) -> Settings:
    """Settings pointing at the test SMTP server (STARTTLS, login, the test CA) and signing
    webhooks with SECRET; `.env` and the environment's notification settings are ignored."""
    values: dict[str, object] = {
        "smtp_host": "127.0.0.1",
        "smtp_port": smtp.port,
        "smtp_from": "receptionist@lakeside.test",
        "smtp_username": SMTP_USER,
        "smtp_password": SMTP_PASSWORD,
        "smtp_ca_file": ca_file,
        "smtp_starttls": True,
        "webhook_secret": SECRET,
        "staff_app_url": APP_URL,
    }
    return Settings(_env_file=None, **{**values, **overrides})  # type: ignore[call-arg]


def practice_with(receiver: WebhookReceiver | None, **policy: object) -> Practice:
    """The test practice (America/Chicago), announcing to two addresses and the receiver."""
    notifications: dict[str, object] = {"email": [DESK, ONCALL]}
    if receiver is not None:
        notifications["webhook"] = receiver.url
    return _practice(notifications={**notifications, **policy})


def leaks(text: str | bytes) -> list[str]:
    """The pieces of patient data found in `text` (empty when there are none)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return [piece for piece in PATIENT_DATA if piece.lower() in text.lower()]
