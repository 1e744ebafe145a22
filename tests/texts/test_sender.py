"""The text sender against both simulators over real HTTP: sent once, retried through an outage
and delivered once, never resent when the provider may have taken it, never to a number that
opted out, held through quiet hours and at a number's rate."""

from __future__ import annotations

import pytest

from receptionist.settings import Settings
from receptionist.store import Store
from receptionist.store.models import NumberState, TextStatus
from receptionist.texts import providers
from receptionist.texts.sender import Sender
from tests.support.telnyx_sim import TelnyxSim
from tests.support.twilio_sim import TwilioSim
from tests.texts.support import PATIENT, PRACTICE_NUMBER, T0, Clock, a_text, directory


async def _pass(store: Store, settings: Settings, clock: Clock, provider: str = "twilio", **texts):
    async with providers.client() as http:
        sender = Sender(store, settings, directory(provider, **texts), http, clock=clock)
        return await sender.send_due()


async def _status(store: Store, text_id: str) -> str:
    text = await store.texts.get(text_id)
    assert text is not None
    return text.status


async def test_a_text_goes_to_twilio_once_as_twilio_wants_it(
    store: Store, settings: Settings, twilio: TwilioSim
):
    clock = Clock()
    await store.texts.queue(a_text(id="t1"), now=T0)
    counts = await _pass(store, settings, clock)
    assert counts.sent == 1
    await _pass(store, settings, clock)  # nothing more to send
    [sent] = twilio.sent
    assert (sent["To"], sent["From"]) == (PATIENT, PRACTICE_NUMBER)
    assert sent["StatusCallback"] == "https://staff.example-dental.test/texts/twilio/status?text=t1"
    text = await store.texts.get("t1")
    assert text is not None
    assert (text.status, text.provider_message_id) == (TextStatus.SENT, sent["sid"])


async def test_a_text_goes_to_telnyx_once_as_telnyx_wants_it(
    store: Store, settings: Settings, telnyx: TelnyxSim
):
    clock = Clock()
    await store.texts.queue(a_text("telnyx", id="t1"), now=T0)
    assert (await _pass(store, settings, clock, "telnyx", messaging_profile_id="mp-1")).sent == 1
    [sent] = telnyx.sent
    assert (sent["to"], sent["from"], sent["messaging_profile_id"]) == (
        PATIENT,
        PRACTICE_NUMBER,
        "mp-1",
    )
    assert (await store.texts.get("t1")).provider_message_id == sent["id"]  # type: ignore[union-attr]


@pytest.mark.parametrize("provider", ["twilio", "telnyx"])
async def test_a_provider_outage_is_retried_and_the_text_delivered_once(
    store: Store, settings: Settings, twilio: TwilioSim, telnyx: TelnyxSim, provider: str
):
    sim = twilio if provider == "twilio" else telnyx
    sim.outage = 2
    clock = Clock()
    await store.texts.queue(a_text(provider, id="t1"), now=T0)
    assert (await _pass(store, settings, clock, provider)).retrying == 1
    assert (await _pass(store, settings, clock, provider)).total == 0  # waiting for its backoff
    clock.advance(seconds=10)
    assert (await _pass(store, settings, clock, provider)).retrying == 1
    clock.advance(seconds=20)
    assert (await _pass(store, settings, clock, provider)).sent == 1
    clock.advance(hours=1)
    await _pass(store, settings, clock, provider)
    assert len(sim.sent) == 1 and sim.requests == 3
    assert await _status(store, "t1") == TextStatus.SENT


@pytest.mark.parametrize("provider", ["twilio", "telnyx"])
async def test_a_text_the_provider_may_have_taken_is_never_sent_again(
    store: Store, settings: Settings, twilio: TwilioSim, telnyx: TelnyxSim, provider: str
):
    sim = twilio if provider == "twilio" else telnyx
    sim.lose_answers = 1
    clock = Clock()
    await store.texts.queue(a_text(provider, id="t1"), now=T0)
    assert (await _pass(store, settings, clock, provider)).uncertain == 1
    clock.advance(hours=2)
    await _pass(store, settings, clock, provider)
    assert len(sim.sent) == 1  # the patient got it once
    assert await _status(store, "t1") == TextStatus.UNKNOWN


@pytest.mark.parametrize("provider", ["twilio", "telnyx"])
async def test_nothing_is_ever_texted_to_a_number_that_opted_out(
    store: Store, settings: Settings, twilio: TwilioSim, telnyx: TelnyxSim, provider: str
):
    clock = Clock()
    await store.texts.queue(a_text(provider, id="before"), now=T0)
    await store.texts.opt_out("lakeside", PATIENT, now=T0)
    await store.texts.queue(a_text(provider, id="after"), now=T0)
    clock.advance(days=1)
    await _pass(store, settings, clock, provider)
    assert twilio.requests == telnyx.requests == 0
    assert [await _status(store, i) for i in ("before", "after")] == [TextStatus.BLOCKED] * 2


@pytest.mark.parametrize(
    ("provider", "refusal", "code"),
    [
        ("twilio", "opted_out", "21610"),
        ("twilio", "landlines", "21614"),
        ("telnyx", "opted_out", "40300"),
        ("telnyx", "landlines", "40001"),
    ],
)
async def test_a_refusal_is_recorded_with_the_numbers_state_and_never_retried(
    store: Store,
    settings: Settings,
    twilio: TwilioSim,
    telnyx: TelnyxSim,
    provider: str,
    refusal: str,
    code: str,
):
    sim = twilio if provider == "twilio" else telnyx
    getattr(sim, refusal).add(PATIENT)  # the provider knows what we did not
    clock = Clock()
    await store.texts.queue(a_text(provider, id="t1"), now=T0)
    await store.texts.queue(a_text(provider, id="t2"), now=T0)
    counts = await _pass(store, settings, clock, provider)
    assert (counts.failed, counts.blocked) == (1, 1)
    clock.advance(days=1)
    await _pass(store, settings, clock, provider)
    assert sim.requests == 1  # t2 never tried: the number is known now
    text = await store.texts.get("t1")
    assert text is not None and text.error == code
    number = await store.texts.number("lakeside", PATIENT)
    assert number is not None
    if refusal == "opted_out":
        assert number.opted_out_at is not None
    else:
        assert number.state == NumberState.LANDLINE
    assert await _status(store, "t2") == TextStatus.BLOCKED


async def test_quiet_hours_hold_a_text_until_they_end_in_the_practices_zone(
    store: Store, settings: Settings, twilio: TwilioSim
):
    clock = Clock()
    clock.advance(hours=12, minutes=30)  # 22:30 in Chicago
    await store.texts.queue(a_text(id="t1"), now=clock.now)
    assert (await _pass(store, settings, clock)).deferred == 1
    clock.advance(hours=9)  # 07:30
    await _pass(store, settings, clock)
    assert twilio.requests == 0
    clock.advance(minutes=30)  # 08:00: the quiet hours are over
    assert (await _pass(store, settings, clock)).sent == 1
    assert len(twilio.sent) == 1


async def test_a_number_gets_at_most_its_rate_of_texts_an_hour(
    store: Store, settings: Settings, twilio: TwilioSim
):
    clock = Clock()
    for i in range(3):
        await store.texts.queue(a_text(id=f"t{i}"), now=T0)
    counts = await _pass(store, settings, clock, per_number_per_hour=2)
    assert (counts.sent, counts.deferred) == (2, 1)
    clock.advance(hours=1, minutes=1)
    assert (await _pass(store, settings, clock, per_number_per_hour=2)).sent == 1
    assert len(twilio.sent) == 3


async def test_missing_keys_keep_texts_waiting_never_lost(store: Store, twilio: TwilioSim):
    from receptionist.settings import load_settings

    clock = Clock()
    await store.texts.queue(a_text(id="t1"), now=T0)
    bare = load_settings(_env_file=None, twilio_api_url=twilio.base_url)
    assert (await _pass(store, bare, clock)).retrying == 1
    assert twilio.requests == 0 and await _status(store, "t1") == TextStatus.PENDING
