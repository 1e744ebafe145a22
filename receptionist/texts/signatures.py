"""Verifying that a webhook came from the provider, and recently (before anything is read from it).

- Twilio: `X-Twilio-Signature` is base64(HMAC-SHA1(auth token, the full URL Twilio requested +
  each POST parameter's name and value, sorted by name)). The URL is the public one Twilio was
  given (TEXTS_WEBHOOK_URL or STAFF_APP_URL + the path and query), not what a proxy in front of
  the app rewrote it to. Twilio signs no time: a replay is harmless because handling is
  idempotent on its MessageSid.
- Telnyx: `telnyx-signature-ed25519` is base64(Ed25519(`"{telnyx-timestamp}|{raw body}"`)) under
  the key whose public half is TELNYX_PUBLIC_KEY; a timestamp further than `REPLAY_WINDOW` from
  now is refused, so a captured request cannot be replayed later.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime, timedelta

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

REPLAY_WINDOW = timedelta(minutes=5)


def twilio_valid(token: str, url: str, params: Mapping[str, str], signature: str) -> bool:
    if not token or not signature:
        return False
    payload = url + "".join(f"{name}{params[name]}" for name in sorted(params))
    expected = base64.b64encode(
        hmac.new(token.encode(), payload.encode(), hashlib.sha1).digest()
    ).decode()
    return hmac.compare_digest(expected.encode(), signature.encode())


def telnyx_valid(
    public_key: bytes | None, body: bytes, signature: str, timestamp: str, *, now: datetime
) -> bool:
    if public_key is None or not signature or not timestamp.isdigit():
        return False
    sent = datetime.fromtimestamp(int(timestamp), tz=now.tzinfo)
    if abs(now - sent) > REPLAY_WINDOW:
        return False
    try:
        raw = base64.b64decode(signature, validate=True)
        Ed25519PublicKey.from_public_bytes(public_key).verify(raw, f"{timestamp}|".encode() + body)
    except (binascii.Error, ValueError, InvalidSignature):
        return False
    return True
