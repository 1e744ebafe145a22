"""A strict simulator of Twilio Programmable Messaging, written from its public pages
(twilio.com/docs/messaging/api/message-resource, /docs/usage/webhooks/webhooks-security,
/docs/api/errors), on loopback (aiohttp), reached through TWILIO_API_URL as a practice reaches
api.twilio.com.

Strict where Twilio is: HTTP Basic auth with the account SID and auth token, the SID in the path
the same as the one authenticating (20003 otherwise), form-encoded bodies, `To` and `From` in
E.164 (21211 / 21606: `From` must be a number of this account), `Body` required (21602) and at
most 1,600 characters (21617); a recipient who answered STOP is refused with 21610 and a landline
with 21614. Unknown parameters are refused too (Twilio ignores them; a typo here would be a
field our sender never sets).

It records every message it took, and posts what Twilio posts, signed as Twilio signs
(`X-Twilio-Signature`: base64 HMAC-SHA1 under the auth token of the full URL followed by each POST
parameter's name and value, sorted by name): inbound messages to the number's webhook, and status
callbacks to each message's `StatusCallback`. Faults: an outage (503, or the connection refused
by stopping), and a lost answer (the message taken, the connection dropped before the answer).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
from aiohttp import web

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "sim-twilio-auth-token-0123456789"
E164 = re.compile(r"^\+[1-9]\d{7,14}$")
ALLOWED = {"To", "From", "Body", "StatusCallback", "MessagingServiceSid"}


def signature(token: str, url: str, params: dict[str, str]) -> str:
    """Twilio's X-Twilio-Signature for a POST of `params` to `url`."""
    payload = url + "".join(f"{name}{params[name]}" for name in sorted(params))
    digest = hmac.new(token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _error(status: int, code: int, message: str) -> web.Response:
    return web.json_response(
        {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        },
        status=status,
    )


@dataclass
class TwilioSim:
    account_sid: str = ACCOUNT_SID
    auth_token: str = AUTH_TOKEN
    numbers: set[str] = field(default_factory=set)  # this account's numbers (senders)
    opted_out: set[str] = field(default_factory=set)  # recipients who answered STOP
    landlines: set[str] = field(default_factory=set)
    sent: list[dict[str, str]] = field(default_factory=list)  # every message taken
    requests: int = 0
    outage: int = 0  # the next N sends answer 503
    lose_answers: int = 0  # the next N sends are taken, then the connection drops
    base_url: str = ""
    _runner: web.AppRunner | None = None

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/2010-04-01/Accounts/{sid}/Messages.json", self._create)
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

    def _authorised(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return hmac.compare_digest(header, f"Basic {expected}")

    async def _create(self, request: web.Request) -> web.StreamResponse:
        self.requests += 1
        if not self._authorised(request) or request.match_info["sid"] != self.account_sid:
            return _error(401, 20003, "Authenticate")
        if self.outage > 0:
            self.outage -= 1
            return _error(503, 20500, "Service Unavailable")
        if request.content_type != "application/x-www-form-urlencoded":
            return _error(400, 12300, "Invalid Content-Type: send form-encoded parameters")
        form = {k: str(v) for k, v in (await request.post()).items()}
        unknown = set(form) - ALLOWED
        if unknown:
            return _error(400, 21000, f"Unknown parameters: {', '.join(sorted(unknown))}")
        to, sender, body = form.get("To", ""), form.get("From", ""), form.get("Body", "")
        if not to:
            return _error(400, 21604, "A 'To' phone number is required.")
        if not E164.match(to):
            return _error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if not E164.match(sender) or sender not in self.numbers:
            return _error(400, 21606, "The From phone number is not a valid, SMS-capable number.")
        if not body:
            return _error(400, 21602, "Message body is required.")
        if len(body) > 1600:
            return _error(400, 21617, "The concatenated message body exceeds 1600 characters.")
        if to in self.opted_out:
            return _error(400, 21610, "Attempt to send to unsubscribed recipient")
        if to in self.landlines:
            return _error(400, 21614, "'To' number is not a valid mobile number")
        sid = "SM" + uuid.uuid4().hex
        self.sent.append({"sid": sid, **form})
        answer = web.json_response(
            {
                "sid": sid,
                "account_sid": self.account_sid,
                "to": to,
                "from": sender,
                "body": body,
                "status": "queued",
                "num_segments": "1",
                "direction": "outbound-api",
            },
            status=201,
        )
        if self.lose_answers > 0:
            self.lose_answers -= 1
            assert request.transport is not None
            request.transport.close()  # taken, but the answer never reaches the client
        return answer

    # --- what Twilio posts to the practice ----------------------------------------------------

    def signed(self, url: str, params: dict[str, str]) -> dict[str, str]:
        return {"X-Twilio-Signature": signature(self.auth_token, url, params)}

    async def post_inbound(
        self, url: str, *, sender: str, to: str, body: str, sid: str = ""
    ) -> httpx.Response:
        """An inbound message, as Twilio posts it to the number's messaging webhook."""
        params = {
            "MessageSid": sid or "SM" + uuid.uuid4().hex,
            "SmsSid": sid or "SM" + uuid.uuid4().hex,
            "AccountSid": self.account_sid,
            "From": sender,
            "To": to,
            "Body": body,
            "NumMedia": "0",
            "NumSegments": "1",
            "ApiVersion": "2010-04-01",
        }
        return await self.post(url, params)

    async def post_status(self, sid: str, status: str, error_code: str = "") -> httpx.Response:
        """A status callback for a message it took, to that message's StatusCallback."""
        message = next(m for m in self.sent if m["sid"] == sid)
        params = {
            "MessageSid": sid,
            "SmsSid": sid,
            "AccountSid": self.account_sid,
            "MessageStatus": status,
            "SmsStatus": status,
            "To": message["To"],
            "From": message["From"],
            "ApiVersion": "2010-04-01",
        }
        if error_code:
            params["ErrorCode"] = error_code
        return await self.post(message["StatusCallback"], params)

    async def post(
        self, url: str, params: dict[str, str], headers: dict[str, str] | None = None
    ) -> httpx.Response:
        async with httpx.AsyncClient() as client:
            return await client.post(
                url, data=params, headers=self.signed(url, params) if headers is None else headers
            )


def form_of(message: dict[str, Any]) -> dict[str, str]:
    return {k: str(v) for k, v in message.items() if k != "sid"}
