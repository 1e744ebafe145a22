"""The providers' webhooks on the real staff app (uvicorn on loopback), posted and signed by the
simulators exactly as Twilio and Telnyx do: STOP, START, HELP, C, R and anything else; forged,
replayed and retried webhooks; delivery statuses settling what the sender left unknown."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest

from receptionist.domain.practice import PracticeDirectory
from receptionist.settings import Settings
from receptionist.store import Store
from receptionist.store.models import TextStatus
from receptionist.texts import providers
from receptionist.texts.inbound import handle_pending
from receptionist.texts.sender import Sender
from receptionist.web.app import create_app
from tests.support.telnyx_sim import TelnyxSim
from tests.support.twilio_sim import TwilioSim
from tests.texts.support import PATIENT, PRACTICE_NUMBER, a_text, texting
from tests.web.live import live_server


@dataclass
class App:
    url: str
    store: Store
    settings: Settings
    directory: PracticeDirectory

    async def settled(self) -> None:
        """Waits for the background handling of what was posted (bounded; the final state is
        then asserted), and handles anything left as the sender loop would."""
        for _ in range(200):
            if not await self.store.texts.unhandled():
                return
            await asyncio.sleep(0.025)
        await handle_pending(self.store, self.directory)

    async def send(self) -> None:
        """A sender's pass at noon tomorrow in Chicago: later than anything queued, and never
        inside the quiet hours, whenever the test runs."""
        tomorrow = datetime.now(UTC).date() + timedelta(days=1)
        noon = datetime.combine(tomorrow, datetime.min.time(), tzinfo=UTC) + timedelta(hours=18)
        async with providers.client() as http:
            sender = Sender(self.store, self.settings, self.directory, http, clock=lambda: noon)
            await sender.send_due()


@pytest.fixture(params=["twilio", "telnyx"])
def provider(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
async def app(store: Store, settings: Settings, provider: str) -> AsyncIterator[App]:
    directory = PracticeDirectory([texting(provider)])
    web_app = create_app(settings, store=store, directory=directory, background=False)
    async with live_server(web_app) as url:
        # The providers are given the public address; here that is the live server itself.
        public = settings.model_copy(update={"texts_webhook_url": url})
        web_app.state.web.settings = public
        yield App(url, store, public, directory)


async def _text_in(
    app: App, twilio: TwilioSim, telnyx: TelnyxSim, provider: str, body: str, mid: str = ""
) -> int:
    if provider == "twilio":
        response = await twilio.post_inbound(
            f"{app.url}/texts/twilio/inbound",
            sender=PATIENT,
            to=PRACTICE_NUMBER,
            body=body,
            sid=mid,
        )
        assert response.headers["content-type"].startswith("text/xml")
    else:
        event = telnyx.inbound_event(PATIENT, PRACTICE_NUMBER, body, mid)
        response = await telnyx.post(f"{app.url}/texts/telnyx/events", event)
    return response.status_code


def _sent(twilio: TwilioSim, telnyx: TelnyxSim, provider: str) -> list[str]:
    if provider == "twilio":
        return [m["Body"] for m in twilio.sent]
    return [m["text"] for m in telnyx.sent]


async def _patient(store: Store, starts_in: timedelta | None = None) -> tuple[str, str | None]:
    patient, _ = await store.appointments.register_patient(
        "lakeside", "Ann Example", date(1980, 5, 17), PATIENT
    )
    if starts_in is None:
        return patient.id, None
    starts = (datetime.now(UTC) + starts_in).replace(minute=0, second=0, microsecond=0)
    visit = await store.appointments.book(
        practice_id="lakeside",
        provider_id="dr-a",
        patient_id=patient.id,
        visit_type="exam",
        starts_at=starts,
        ends_at=starts + timedelta(minutes=30),
    )
    return patient.id, visit.id


async def test_stop_opts_the_number_out_at_once_and_nothing_is_texted_after(
    app: App, twilio: TwilioSim, telnyx: TelnyxSim, provider: str
):
    patient_id, _ = await _patient(app.store)
    assert await _text_in(app, twilio, telnyx, provider, "Stop") in (200, 204)
    await app.settled()
    number = await app.store.texts.number("lakeside", PATIENT)
    assert number is not None and number.opted_out_at is not None
    assert [p.patient_id for p, _ in await app.store.reminders.opt_outs("lakeside")] == [
        patient_id
    ]  # the practice promised one opt-out: reminder calls stop too

    await app.store.texts.queue(a_text(provider, id="later"), now=datetime.now(UTC))
    await app.send()
    assert _sent(twilio, telnyx, provider) == []  # no reply to STOP either: the provider sends it
    assert (await app.store.texts.get("later")).status == TextStatus.BLOCKED  # type: ignore[union-attr]

    assert await _text_in(app, twilio, telnyx, provider, "START") in (200, 204)
    await app.settled()
    await app.send()
    assert _sent(twilio, telnyx, provider) == [
        "Lakeside Test Dental: texts are on again. Reply STOP to opt out, HELP for help."
    ]


async def test_help_answers_with_the_practices_name_and_number(
    app: App, twilio: TwilioSim, telnyx: TelnyxSim, provider: str
):
    assert await _text_in(app, twilio, telnyx, provider, "help") in (200, 204)
    await app.settled()
    await app.send()
    assert _sent(twilio, telnyx, provider) == [
        "Lakeside Test Dental: appointment texts. Call us at (414) 555-0100. Reply STOP to opt out."
    ]


async def test_c_confirms_the_patients_next_visit_r_and_anything_else_reach_the_staff(
    app: App, twilio: TwilioSim, telnyx: TelnyxSim, provider: str
):
    patient_id, visit_id = await _patient(app.store, starts_in=timedelta(days=3))
    await _text_in(app, twilio, telnyx, provider, "C", mid="m-c")
    await _text_in(app, twilio, telnyx, provider, "R", mid="m-r")
    await _text_in(app, twilio, telnyx, provider, "Is parking free?", mid="m-q")
    await app.settled()
    actions = {
        i.provider_message_id: (i.action, i.appointment_id)
        for i in await app.store.texts.inbound_from("lakeside", PATIENT)
    }
    assert actions == {
        "m-c": ("confirmed", visit_id),
        "m-r": ("call_back", None),
        "m-q": ("received", None),
    }
    visit = await app.store.appointments.get_appointment(visit_id or "")
    assert visit is not None and visit.confirmed_at is not None  # confirmed in the book
    messages = await app.store.records.open_messages("lakeside")
    assert sorted((m.reason, m.patient_id, m.callback_number) for m in messages) == [
        ("Asked by text for another time: please call back.", patient_id, PATIENT),
        ("Text from the patient: Is parking free?", patient_id, PATIENT),
    ]
    await app.send()
    sent = _sent(twilio, telnyx, provider)  # the replies, in whatever order they were handled
    assert len(sent) == 3
    [confirmed] = [body for body in sent if body.endswith(" is confirmed.")]
    assert confirmed.startswith("Lakeside Test Dental: thank you, your appointment ")


async def test_a_forged_webhook_is_refused_and_changes_nothing(
    app: App, twilio: TwilioSim, telnyx: TelnyxSim, provider: str
):
    if provider == "twilio":
        url = f"{app.url}/texts/twilio/inbound"
        params = {"MessageSid": "SMforged", "From": PATIENT, "To": PRACTICE_NUMBER, "Body": "STOP"}
        forger = TwilioSim(auth_token="not-the-practices-token")
        responses = [
            await twilio.post(url, params, headers=forger.signed(url, params)),
            await twilio.post(url, params, headers={}),
            # Signed for another address: Twilio signs the URL it posts to.
            await twilio.post(url, params, headers=twilio.signed(url + "?x=1", params)),
            # Signed, then a parameter changed on the way.
            await twilio.post(url, {**params, "Body": "C"}, headers=twilio.signed(url, params)),
        ]
    else:
        url = f"{app.url}/texts/telnyx/events"
        event = telnyx.inbound_event(PATIENT, PRACTICE_NUMBER, "STOP", "forged")
        forger = TelnyxSim()
        responses = [
            await telnyx.post(url, event, headers=forger.signed(event)),
            await telnyx.post(url, event, headers={"content-type": "application/json"}),
            await telnyx.post(url, event.replace(b"STOP", b"HELP"), headers=telnyx.signed(event)),
        ]
    assert [r.status_code for r in responses] == [403] * len(responses)
    assert await app.store.texts.inbound_from("lakeside", PATIENT) == []
    assert await app.store.texts.number("lakeside", PATIENT) is None


@pytest.mark.parametrize("provider", ["telnyx"])  # Twilio signs no time: see the next test
async def test_a_telnyx_webhook_replayed_outside_its_window_is_refused(
    app: App, telnyx: TelnyxSim, provider: str
):
    url = f"{app.url}/texts/telnyx/events"
    event = telnyx.inbound_event(PATIENT, PRACTICE_NUMBER, "STOP", "captured")
    old = await telnyx.post(url, event, timestamp=int(time.time()) - 6 * 60)
    future = await telnyx.post(url, event, timestamp=int(time.time()) + 6 * 60)
    assert (old.status_code, future.status_code) == (403, 403)
    assert await app.store.texts.inbound_from("lakeside", PATIENT) == []


async def test_a_webhook_delivered_again_is_handled_once(
    app: App, twilio: TwilioSim, telnyx: TelnyxSim, provider: str
):
    for _ in range(3):  # the provider retrying, or someone replaying a captured request
        assert await _text_in(app, twilio, telnyx, provider, "Call me", mid="m-1") in (200, 204)
    await app.settled()
    assert len(await app.store.texts.inbound_from("lakeside", PATIENT)) == 1
    assert len(await app.store.records.open_messages("lakeside")) == 1
    await app.send()
    assert len(_sent(twilio, telnyx, provider)) == 1


async def test_a_status_callback_settles_a_text_the_sender_could_not_confirm(
    app: App, twilio: TwilioSim, telnyx: TelnyxSim, provider: str
):
    sim = twilio if provider == "twilio" else telnyx
    sim.lose_answers = 1
    await app.store.texts.queue(a_text(provider, id="t1"), now=datetime.now(UTC))
    await app.send()
    assert (await app.store.texts.get("t1")).status == TextStatus.UNKNOWN  # type: ignore[union-attr]
    if provider == "twilio":
        response = await twilio.post_status(twilio.sent[0]["sid"], "delivered")
    else:
        url, body = telnyx.status_event(telnyx.sent[0]["id"], "delivered")
        response = await telnyx.post(url, body)
    assert response.status_code == 204
    text = await app.store.texts.get("t1")
    assert text is not None and text.status == TextStatus.DELIVERED
    await app.send()
    assert len(sim.sent) == 1
