"""The providers' webhooks: patients' texts and delivery statuses, from Twilio and Telnyx.

The only routes of the staff app without a session or a CSRF token: the provider is not a
browser, so each request is verified by its signature instead (texts/signatures.py) before
anything in it is read, and refused with 403 when it does not match (Telnyx's also when its
timestamp is outside the replay window). An inbound text is stored once per provider message id
and acknowledged at once (Telnyx retries after 2 s); what it does is done after the answer
(a background task), and `run_text_sender` picks up any the task did not finish.

    POST /texts/twilio/inbound   the number's "A message comes in" webhook (answers empty TwiML)
    POST /texts/twilio/status    each message's StatusCallback (`?text=` our id)
    POST /texts/telnyx/events    the messaging profile's webhook: message.received / .sent /
                                 .finalized (`?text=` our id on a message's own webhook_url)
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import APIRouter
from starlette.background import BackgroundTasks
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from receptionist.domain.phone import normalize
from receptionist.domain.practice import Practice
from receptionist.domain.texts import TextProvider
from receptionist.texts import inbound
from receptionist.texts.config import telnyx_public_key
from receptionist.texts.signatures import telnyx_valid, twilio_valid
from receptionist.web.context import Web, web_of

log = logging.getLogger(__name__)
router = APIRouter(prefix="/texts")
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
BODY_LENGTH = 1600  # what a text can hold; more is not a patient's text
FORGED = "The signature does not match: this request did not come from the provider."


def _practice_for(web: Web, provider: TextProvider, to: str) -> Practice:
    """The practice texting from the number this text was sent to (404: none, so the provider's
    log shows the number is not set up here)."""
    for practice in web.directory:
        texts = practice.texts
        if (
            texts.enabled
            and texts.provider is provider
            and texts.sender == normalize(to, practice.region)
        ):
            return practice
    raise HTTPException(404, "No practice texts from this number.")


async def _handle_later(web: Web, inbound_id: str) -> None:
    """After the answer: what the text does. A failure waits for the sender loop's next pass."""
    try:
        row = await web.store.texts.inbound(inbound_id)
        if row is not None:
            await inbound.handle(web.store, web.directory, row, now=web.now())
    except Exception as exc:
        log.error("inbound text left for the next pass (%s)", type(exc).__name__)


async def _store(web: Web, background: BackgroundTasks, values: dict[str, Any]) -> None:
    body = str(values["body"])[:BODY_LENGTH]
    inbound_id = await web.store.texts.receive({**values, "body": body, "received_at": web.now()})
    if inbound_id is not None:  # None: this provider message was stored already (a retry)
        background.add_task(_handle_later, web, inbound_id)


# --- Twilio -------------------------------------------------------------------------------------


async def _twilio_form(request: Request, web: Web) -> dict[str, str]:
    """The POSTed parameters, once `X-Twilio-Signature` matches the public URL Twilio used."""
    form = await request.form()
    params = {name: value for name, value in form.items() if isinstance(value, str)}
    url = web.settings.texts_public_url + request.url.path
    if request.url.query:
        url += "?" + request.url.query
    token = web.settings.twilio_auth_token.get_secret_value()
    if not twilio_valid(token, url, params, request.headers.get("x-twilio-signature", "")):
        log.warning("a Twilio webhook refused: bad signature")
        raise HTTPException(403, FORGED)
    return params


@router.post("/twilio/inbound")
async def twilio_inbound(request: Request, background: BackgroundTasks) -> Response:
    web = web_of(request)
    params = await _twilio_form(request, web)
    sid, sender, to = params.get("MessageSid", ""), params.get("From", ""), params.get("To", "")
    if not sid or not sender or not to:
        raise HTTPException(400, "MessageSid, From and To are required.")
    practice = _practice_for(web, TextProvider.TWILIO, to)
    number = normalize(sender, practice.region)
    await _store(
        web,
        background,
        {
            "practice_id": practice.id,
            "provider": TextProvider.TWILIO.value,
            "provider_message_id": sid[:64],
            "from_number": number,
            "to_number": practice.texts.sender,
            "body": params.get("Body", ""),
        },
    )
    return Response(EMPTY_TWIML, media_type="text/xml")


@router.post("/twilio/status")
async def twilio_status(request: Request, text: str = "") -> Response:
    web = web_of(request)
    params = await _twilio_form(request, web)
    sid = params.get("MessageSid", "")
    if not sid:
        raise HTTPException(400, "MessageSid is required.")
    await web.store.texts.delivery(
        TextProvider.TWILIO.value,
        sid,
        params.get("MessageStatus", ""),
        error=params.get("ErrorCode", ""),
        text_id=text,
        now=web.now(),
    )
    return Response(status_code=204)


# --- Telnyx -------------------------------------------------------------------------------------


@router.post("/telnyx/events")
async def telnyx_events(request: Request, background: BackgroundTasks, text: str = "") -> Response:
    web = web_of(request)
    body = await request.body()
    if not telnyx_valid(
        telnyx_public_key(web.settings),
        body,
        request.headers.get("telnyx-signature-ed25519", ""),
        request.headers.get("telnyx-timestamp", ""),
        now=web.now(),
    ):
        log.warning("a Telnyx webhook refused: bad signature or outside the replay window")
        raise HTTPException(403, FORGED)
    try:
        event = json.loads(body)["data"]
        kind, payload = str(event["event_type"]), event["payload"]
        message_id = str(payload["id"])
    except (ValueError, KeyError, TypeError):
        raise HTTPException(
            400, "Not a Telnyx event: data.event_type and data.payload.id."
        ) from None
    if kind == "message.received":
        try:
            sender = str(payload["from"]["phone_number"])
            to = str(payload["to"][0]["phone_number"])
        except (KeyError, IndexError, TypeError):
            raise HTTPException(400, "A message.received needs from and to numbers.") from None
        practice = _practice_for(web, TextProvider.TELNYX, to)
        await _store(
            web,
            background,
            {
                "practice_id": practice.id,
                "provider": TextProvider.TELNYX.value,
                "provider_message_id": message_id[:64],
                "from_number": normalize(sender, practice.region),
                "to_number": practice.texts.sender,
                "body": str(payload.get("text") or ""),
            },
        )
    elif kind in ("message.sent", "message.finalized"):
        recipients = payload.get("to") or [{}]
        status = str(recipients[0].get("status", "")) if isinstance(recipients[0], dict) else ""
        errors = payload.get("errors") or []
        code = str(errors[0].get("code", "")) if errors and isinstance(errors[0], dict) else ""
        await web.store.texts.delivery(
            TextProvider.TELNYX.value, message_id, status, error=code, text_id=text, now=web.now()
        )
    return Response(status_code=204)
