"""Real receivers for the notification tests: an SMTP server and a webhook endpoint.

The SMTP server is aiosmtpd in its own thread, requiring STARTTLS with a certificate from a test CA
(trustme) and a login before it takes mail: a mail it received was encrypted and authenticated.
The webhook receiver is an aiohttp app on 127.0.0.1 that checks each request's HMAC signature the
way a real receiver would and keeps every request, so tests can see both the raw deliveries and
the de-duplicated view (by `Idempotency-Key`) a receiver acts on.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import hashlib
import hmac
import json
import logging
import socket
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import trustme
from aiohttp import web
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

HOST = "127.0.0.1"
SMTP_USER, SMTP_PASSWORD = "mailer", "mail-password"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


# --- SMTP ---------------------------------------------------------------------------------------


@dataclass
class SmtpRig:
    """An SMTP server requiring STARTTLS and login; `messages` is every mail it accepted."""

    ca: trustme.CA
    tls: bool = True
    port: int = field(default_factory=free_port)
    messages: list[EmailMessage] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)
    _controller: Controller | None = None

    def start(self) -> None:
        # aiosmtpd warns about its own use of a deprecated attribute on every login.
        logging.getLogger("mail.log").setLevel(logging.ERROR)
        context = None
        if self.tls:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            self.ca.issue_cert(HOST, "localhost").configure_cert(context)
        controller = Controller(
            self,
            hostname=HOST,
            port=self.port,
            tls_context=context,
            require_starttls=self.tls,
            authenticator=self._authenticate,
            auth_required=self.tls,
            auth_require_tls=True,
        )
        controller.start()
        self._controller = controller

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def _authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and (
            auth_data.login.decode(),
            auth_data.password.decode(),
        ) == (SMTP_USER, SMTP_PASSWORD)
        if ok:
            self.logins.append(auth_data.login.decode())
        return AuthResult(success=ok)

    async def handle_DATA(self, server, session, envelope) -> str:
        mail = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append(mail)  # type: ignore[arg-type]
        return "250 OK"

    def message_ids(self) -> list[str]:
        return [str(m["Message-ID"]) for m in self.messages]


# --- webhook ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    key: str
    payload: dict[str, Any]
    raw: bytes
    headers: dict[str, str]
    status: int

    @property
    def accepted(self) -> bool:
        return 200 <= self.status < 300


@dataclass
class WebhookReceiver:
    """A signature-checking webhook endpoint. `status` is what it answers a well-signed request
    with; `delay` makes it slow (to overlap two senders)."""

    secret: str
    status: int = 200
    delay: float = 0.0
    port: int = field(default_factory=free_port)
    requests: list[Request] = field(default_factory=list)
    _runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/hooks/dental"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hooks/dental", self._handle)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, HOST, self.port, reuse_address=True).start()
        self._runner = runner

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        timestamp = request.headers.get("X-Receptionist-Timestamp", "")
        expected = hmac.new(self.secret.encode(), f"{timestamp}.".encode() + raw, hashlib.sha256)
        given = request.headers.get("X-Receptionist-Signature", "")
        signed = hmac.compare_digest(given, "sha256=" + expected.hexdigest())
        status = self.status if signed else 401
        if self.delay:
            await asyncio.sleep(self.delay)
        self.requests.append(
            Request(
                key=request.headers.get("Idempotency-Key", ""),
                payload=json.loads(raw),
                raw=raw,
                headers=dict(request.headers),
                status=status,
            )
        )
        return web.Response(status=status)

    @property
    def accepted(self) -> list[Request]:
        return [r for r in self.requests if r.accepted]

    def deduplicated(self) -> dict[str, Request]:
        """What a receiver acts on: the first accepted request of each idempotency key."""
        seen: dict[str, Request] = {}
        for r in self.accepted:
            seen.setdefault(r.key, r)
        return seen
