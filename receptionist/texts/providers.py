"""The providers' REST APIs: sending one text over Twilio or Telnyx, and what their answers mean.

Both are reached with httpx at the address the settings give (TWILIO_API_URL / TELNYX_API_URL:
the providers' own by default; the tests' simulators otherwise), so tests exercise exactly the
requests production makes. An answer is read into one of four outcomes, because each asks the
sender for something different:

- `Accepted`: the provider took the text (its message id);
- `Unreachable`: it certainly did not take it (no connection, 429, 5xx, our keys refused):
  try again after a backoff;
- `Uncertain`: it may have taken it (the request went out and no answer came back): never sent
  again automatically, because a patient texted twice is worse than a status to settle;
- `Refused`: it never will (invalid number, landline, the number opted out with the provider):
  the text fails and the number's state is recorded.

Error texts from the providers are never kept (they can quote the number): codes only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from receptionist.domain.texts import TextProvider
from receptionist.settings import Settings
from receptionist.store.models import NumberState

TIMEOUT = httpx.Timeout(10.0, connect=5.0)
USER_AGENT = "dental-receptionist-texts/1"

# Twilio error codes (twilio.com/docs/api/errors) and what they say of the number.
TWILIO_OPTED_OUT = {"21610"}  # "Attempt to send to unsubscribed recipient"
TWILIO_NUMBER = {
    "21211": NumberState.INVALID,  # "Invalid 'To' Phone Number"
    "21614": NumberState.LANDLINE,  # "'To' number is not a valid mobile number"
}
# Telnyx messaging error codes (developers.telnyx.com, messaging error codes).
TELNYX_OPTED_OUT = {"40300"}  # "Blocked due to STOP message"
TELNYX_NUMBER = {
    "40310": NumberState.INVALID,  # "Invalid 'to' address"
    "40001": NumberState.LANDLINE,  # "Not routable": a landline or a number without SMS
}


@dataclass(frozen=True)
class Accepted:
    message_id: str


class SendFailed(Exception):
    """A text not sent; `code` is the provider's error code or an exception type (never text)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class Unreachable(SendFailed):
    """The provider did not take it: try again later."""


class Uncertain(SendFailed):
    """The request went out and no answer came back: the provider may have taken it."""


class Refused(SendFailed):
    """The provider will never take it; what that says of the number, if anything."""

    def __init__(
        self, code: str, *, opted_out: bool = False, number_state: NumberState | None = None
    ) -> None:
        super().__init__(code)
        self.opted_out = opted_out
        self.number_state = number_state


@dataclass(frozen=True)
class Outgoing:
    """One text as a provider needs it; `callback_url` receives its delivery status."""

    text_id: str
    to: str
    sender: str
    body: str
    callback_url: str
    messaging_profile_id: str = ""


class Provider(Protocol):
    name: TextProvider

    async def send(self, text: Outgoing) -> Accepted: ...


async def _post(client: httpx.AsyncClient, url: str, **kwargs: Any) -> httpx.Response:
    """One POST, its transport failures read as not sent or maybe sent."""
    try:
        return await client.post(url, **kwargs)
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
        raise Unreachable(type(exc).__name__) from exc
    except httpx.TransportError as exc:  # read/write timeouts, a dropped connection
        raise Uncertain(type(exc).__name__) from exc


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _not_taken(response: httpx.Response) -> SendFailed | None:
    """429, 5xx and our credentials refused: the provider did not take the text."""
    if response.status_code == 429 or response.status_code >= 500:
        return Unreachable(f"HTTP{response.status_code}")
    if response.status_code in (401, 403):  # the keys: fixed by the operator, then retried
        return Unreachable(f"HTTP{response.status_code}")
    return None


class Twilio:
    """Twilio Programmable Messaging: `POST /2010-04-01/Accounts/{sid}/Messages.json`, HTTP Basic
    auth with the account SID and auth token, form-encoded `To`, `From`, `Body`,
    `StatusCallback`."""

    name = TextProvider.TWILIO

    def __init__(self, settings: Settings, client: httpx.AsyncClient) -> None:
        self.sid = settings.twilio_account_sid
        self.token = settings.twilio_auth_token.get_secret_value()
        self.url = f"{settings.twilio_api_url}/2010-04-01/Accounts/{self.sid}/Messages.json"
        self.client = client

    async def send(self, text: Outgoing) -> Accepted:
        response = await _post(
            self.client,
            self.url,
            auth=(self.sid, self.token),
            data={
                "To": text.to,
                "From": text.sender,
                "Body": text.body,
                "StatusCallback": text.callback_url,
            },
        )
        if failed := _not_taken(response):
            raise failed
        data = _json(response)
        if response.status_code in (200, 201) and isinstance(data.get("sid"), str):
            return Accepted(data["sid"])
        code = str(data.get("code") or f"HTTP{response.status_code}")
        raise Refused(
            code, opted_out=code in TWILIO_OPTED_OUT, number_state=TWILIO_NUMBER.get(code)
        )


class Telnyx:
    """Telnyx Messaging: `POST /v2/messages`, `Authorization: Bearer <API key>`, JSON `from`,
    `to`, `text`, `messaging_profile_id`, `webhook_url`."""

    name = TextProvider.TELNYX

    def __init__(self, settings: Settings, client: httpx.AsyncClient) -> None:
        self.key = settings.telnyx_api_key.get_secret_value()
        self.url = f"{settings.telnyx_api_url}/v2/messages"
        self.client = client

    async def send(self, text: Outgoing) -> Accepted:
        body: dict[str, str] = {
            "from": text.sender,
            "to": text.to,
            "text": text.body,
            "webhook_url": text.callback_url,
        }
        if text.messaging_profile_id:
            body["messaging_profile_id"] = text.messaging_profile_id
        response = await _post(
            self.client, self.url, headers={"Authorization": f"Bearer {self.key}"}, json=body
        )
        if failed := _not_taken(response):
            raise failed
        data = _json(response)
        message = data.get("data")
        taken = response.status_code in (200, 201, 202) and isinstance(message, dict)
        if taken and isinstance(message, dict) and isinstance(message.get("id"), str):
            return Accepted(message["id"])
        errors = data.get("errors")
        first = errors[0] if isinstance(errors, list) and errors else {}
        code = str(first.get("code") if isinstance(first, dict) else "") or (
            f"HTTP{response.status_code}"
        )
        raise Refused(
            code, opted_out=code in TELNYX_OPTED_OUT, number_state=TELNYX_NUMBER.get(code)
        )


def client() -> httpx.AsyncClient:
    """The HTTP client every provider call goes through (redirects not followed: a text is
    for the address the settings name)."""
    return httpx.AsyncClient(
        timeout=TIMEOUT, follow_redirects=False, headers={"User-Agent": USER_AGENT}
    )


def provider_for(kind: TextProvider, settings: Settings, http: httpx.AsyncClient) -> Provider:
    if kind is TextProvider.TELNYX:
        return Telnyx(settings, http)
    return Twilio(settings, http)
