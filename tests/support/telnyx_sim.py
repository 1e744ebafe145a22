"""A strict simulator of Telnyx Messaging, written from its public pages
(developers.telnyx.com: Send a message, Receiving webhooks, Webhook signing, messaging error
codes), on loopback (aiohttp), reached through TELNYX_API_URL as a practice reaches
api.telnyx.com.

Strict where Telnyx is: `Authorization: Bearer <API key>` (10009 otherwise), a JSON body with
`from`, `to` (E.164) and `text` (at most 1,600 characters), `from` a number of this account
(40305), unknown fields refused; a recipient who answered STOP is refused with 40300, a landline
with 40001 ("Not routable"), a malformed `to` with 40310.

It records every message it took, and posts what Telnyx posts, signed as Telnyx signs: Ed25519
over `"{timestamp}|{body}"` with a private key the tests own (its public key, base64, is what a
practice copies from the portal into TELNYX_PUBLIC_KEY), in `telnyx-signature-ed25519` (base64)
and `telnyx-timestamp` (Unix seconds) headers: `message.received` events for inbound texts, and
`message.sent` / `message.finalized` to each message's `webhook_url`. Faults as Twilio's: an
outage (503) and a lost answer.
"""

from __future__ import annotations

import base64
import json
import re
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

API_KEY = "KEYsimtelnyx0123456789"
E164 = re.compile(r"^\+[1-9]\d{7,14}$")
ALLOWED = {
    "from",
    "to",
    "text",
    "messaging_profile_id",
    "webhook_url",
    "webhook_failover_url",
    "use_profile_webhooks",
    "type",
    "subject",
    "media_urls",
    "auto_detect",
}


def _error(status: int, code: str, title: str) -> web.Response:
    return web.json_response({"errors": [{"code": code, "title": title}]}, status=status)


@dataclass
class TelnyxSim:
    api_key: str = API_KEY
    private_key: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)
    numbers: set[str] = field(default_factory=set)
    opted_out: set[str] = field(default_factory=set)
    landlines: set[str] = field(default_factory=set)
    sent: list[dict[str, Any]] = field(default_factory=list)
    requests: int = 0
    outage: int = 0
    lose_answers: int = 0
    base_url: str = ""
    _runner: web.AppRunner | None = None

    @property
    def public_key(self) -> str:
        """The base64 public key a practice copies from the portal (TELNYX_PUBLIC_KEY)."""
        raw = self.private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return base64.b64encode(raw).decode()

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/v2/messages", self._create)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}"
        return self.base_url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _create(self, request: web.Request) -> web.StreamResponse:
        self.requests += 1
        if request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return _error(401, "10009", "Authentication failed")
        if self.outage > 0:
            self.outage -= 1
            return _error(503, "10011", "Service unavailable")
        if request.content_type != "application/json":
            return _error(400, "10015", "Bad Request: send a JSON body")
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "10015", "Bad Request: invalid JSON")
        if not isinstance(body, dict):
            return _error(400, "10015", "Bad Request: the body must be an object")
        unknown = set(body) - ALLOWED
        if unknown:
            return _error(422, "10015", f"Unknown fields: {', '.join(sorted(unknown))}")
        to, sender, text = body.get("to", ""), body.get("from", ""), body.get("text", "")
        if not isinstance(to, str) or not E164.match(to):
            return _error(400, "40310", "Invalid 'to' address")
        if not isinstance(sender, str) or sender not in self.numbers:
            return _error(400, "40305", "Invalid 'from' address")
        if not isinstance(text, str) or not text:
            return _error(422, "40002", "'text' is required")
        if len(text) > 1600:
            return _error(400, "40012", "Message too long")
        if to in self.opted_out:
            return _error(400, "40300", "Blocked due to STOP message")
        if to in self.landlines:
            return _error(400, "40001", "Not routable")
        message_id = str(uuid.uuid4())
        self.sent.append({"id": message_id, **body})
        answer = web.json_response(
            {
                "data": {
                    "record_type": "message",
                    "id": message_id,
                    "direction": "outbound",
                    "type": "SMS",
                    "from": {"phone_number": sender},
                    "to": [{"phone_number": to, "status": "queued"}],
                    "text": text,
                    "parts": 1,
                    "webhook_url": body.get("webhook_url"),
                }
            }
        )
        if self.lose_answers > 0:
            self.lose_answers -= 1
            assert request.transport is not None
            request.transport.close()
        return answer

    # --- what Telnyx posts to the practice ----------------------------------------------------

    def signed(self, body: bytes, timestamp: int | None = None) -> dict[str, str]:
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        signed = self.private_key.sign(f"{stamp}|".encode() + body)
        return {
            "telnyx-signature-ed25519": base64.b64encode(signed).decode(),
            "telnyx-timestamp": stamp,
            "content-type": "application/json",
        }

    @staticmethod
    def event(event_type: str, payload: dict[str, Any], event_id: str = "") -> bytes:
        data = {
            "data": {
                "event_type": event_type,
                "id": event_id or str(uuid.uuid4()),
                "occurred_at": datetime.now(UTC).isoformat(),
                "payload": payload,
                "record_type": "event",
            },
            "meta": {"attempt": 1},
        }
        return json.dumps(data).encode()

    @staticmethod
    def inbound_event(sender: str, to: str, text: str, message_id: str = "") -> bytes:
        return TelnyxSim.event(
            "message.received",
            {
                "id": message_id or str(uuid.uuid4()),
                "direction": "inbound",
                "type": "SMS",
                "from": {"phone_number": sender},
                "to": [{"phone_number": to, "status": "webhook_delivered"}],
                "text": text,
                "record_type": "message",
            },
        )

    def status_event(self, message_id: str, status: str) -> tuple[str, bytes]:
        """(webhook_url, body) of a `message.finalized` for a message it took."""
        message = next(m for m in self.sent if m["id"] == message_id)
        body = self.event(
            "message.finalized" if status != "sent" else "message.sent",
            {
                "id": message_id,
                "direction": "outbound",
                "from": {"phone_number": message["from"]},
                "to": [{"phone_number": message["to"], "status": status}],
                "text": message["text"],
                "record_type": "message",
            },
        )
        return message["webhook_url"], body

    async def post(
        self,
        url: str,
        body: bytes,
        *,
        timestamp: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        async with httpx.AsyncClient() as client:
            return await client.post(
                url,
                content=body,
                headers=self.signed(body, timestamp) if headers is None else headers,
            )
