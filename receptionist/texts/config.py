"""Whether each practice's texts can work with the keys this process has, and the fix when not.

Read at start-up (the staff app's sender logs them; `receptionist sms doctor` will print them) and
before each send: a practice whose provider has no keys keeps its texts waiting, never lost.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable

from receptionist.domain.practice import Practice
from receptionist.domain.texts import TextProvider
from receptionist.settings import Settings


def telnyx_public_key(settings: Settings) -> bytes | None:
    """The portal's public key (base64, 32 bytes), or None when missing or malformed."""
    try:
        raw = base64.b64decode(settings.telnyx_public_key.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) == 32 else None


def provider_problems(settings: Settings, provider: TextProvider) -> list[str]:
    """What keeps this process from sending and verifying webhooks over `provider`."""
    if provider is TextProvider.TWILIO:
        found = []
        if not settings.twilio_account_sid:
            found.append(
                "TWILIO_ACCOUNT_SID is not set: copy the Account SID (AC...) from "
                "console.twilio.com, Account info, into .env"
            )
        if not settings.twilio_auth_token.get_secret_value().strip():
            found.append(
                "TWILIO_AUTH_TOKEN is not set: copy the Auth Token from console.twilio.com, "
                "Account info, into .env (it also verifies Twilio's webhooks)"
            )
        return found
    found = []
    if not settings.telnyx_api_key.get_secret_value().strip():
        found.append(
            "TELNYX_API_KEY is not set: create one at portal.telnyx.com, API Keys, and put it "
            "in .env"
        )
    if telnyx_public_key(settings) is None:
        found.append(
            "TELNYX_PUBLIC_KEY is missing or not a base64 Ed25519 key: copy the Public Key from "
            "portal.telnyx.com, Keys & Credentials, into .env (it verifies Telnyx's webhooks)"
        )
    return found


def key_problems(settings: Settings, practices: Iterable[Practice]) -> list[str]:
    """Every practice with texts on whose provider's keys are missing, each with the fix."""
    found: list[str] = []
    for practice in practices:
        if practice.texts.enabled:
            found += [
                f"{practice.id} texts over {practice.texts.provider}: {problem}"
                for problem in provider_problems(settings, practice.texts.provider)
            ]
    return found
