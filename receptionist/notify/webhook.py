"""Webhook notifications: signed JSON POSTed to the practice's chat tool or on-call service.

The receiver can check three things: who sent it (`X-Receptionist-Signature`, an HMAC-SHA256 of
`<timestamp>.<body>` under WEBHOOK_SECRET), when (`X-Receptionist-Timestamp`, Unix seconds, inside
the signature so a captured request cannot be replayed later), and whether it has seen it before
(`Idempotency-Key` and the body's `id`, the same on every retry). Only a 2xx answer counts as
delivered; redirects are not followed (a signed body is for the URL the practice configured).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import httpx

from receptionist.notify.content import Content

TIMEOUT = httpx.Timeout(10.0, connect=5.0)
USER_AGENT = "dental-receptionist-notify/1"


class WebhookRejected(Exception):
    """The receiver answered, but not with 2xx: try again later."""


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """`sha256=<hex>`: HMAC-SHA256 of `<timestamp>.<body>` under `secret`."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def encode(content: Content) -> bytes:
    return json.dumps(content.payload, ensure_ascii=False, separators=(",", ":")).encode()


async def post_webhook(content: Content, *, notification_id: str, url: str, secret: str) -> None:
    """POSTs one notification; raises `WebhookRejected` or an httpx error unless it got 2xx."""
    body = encode(content)
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Idempotency-Key": notification_id,
        "X-Receptionist-Timestamp": timestamp,
        "X-Receptionist-Signature": signature(secret, timestamp, body),
    }
    async with httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=False) as client:
        response = await client.post(url, content=body, headers=headers)
    if not response.is_success:
        raise WebhookRejected(f"HTTP {response.status_code}")
