"""`store.texts` on SQLite and PostgreSQL: the outbound queue is idempotent, claimed by one sender
at a time, never sends to a number that opted out, and an inbound text is handled once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from receptionist.store import Outbox, Store
from receptionist.store.models import NumberState, TextStatus
from receptionist.store.texts import Handling, derived_id

T0 = datetime(2027, 3, 1, 15, 0, tzinfo=UTC)
LEASE = timedelta(minutes=2)
PATIENT = "+14145550123"


def _text(number: str = PATIENT, **values: object) -> dict[str, object]:
    return {
        "practice_id": "lakeside",
        "kind": "booked",
        "to_number": number,
        "from_number": "+14145550100",
        "body": "Lakeside: you're booked.",
        "provider": "twilio",
        **values,
    }


async def test_a_text_queued_twice_with_one_key_is_one_text(store: Store):
    key = derived_id("appointment-1", "booked")
    assert await store.texts.queue(_text(id=key), now=T0)
    assert not await store.texts.queue(_text(id=key, body="another body"), now=T0)
    [text] = await store.texts.texts_to("lakeside", PATIENT)
    assert (text.id, text.status, text.body) == (
        key,
        TextStatus.PENDING,
        "Lakeside: you're booked.",
    )


async def test_no_text_is_ever_claimed_for_a_number_that_opted_out(store: Store):
    await store.texts.queue(_text(id="waiting"), now=T0)
    await store.texts.opt_out("lakeside", PATIENT, now=T0)
    await store.texts.queue(_text(id="after-stop"), now=T0)  # queued after the STOP
    await store.texts.queue(_text("+14145550199", id="other"), now=T0)

    claimed = await store.texts.claim(now=T0 + timedelta(minutes=1), lease=LEASE)

    assert [t.id for t in claimed] == ["other"]
    statuses = {t.id: t.status for t in await store.texts.texts_to("lakeside", PATIENT)}
    assert statuses == {"waiting": TextStatus.BLOCKED, "after-stop": TextStatus.BLOCKED}
    await store.texts.opt_in("lakeside", PATIENT, now=T0)
    number = await store.texts.number("lakeside", PATIENT)
    assert number is not None and number.opted_out_at is None and number.consent_at == T0


async def test_concurrent_senders_claim_each_text_once(db_url: str, tmp_path):
    setup = Store(db_url, outbox=Outbox(tmp_path / "outbox"))
    for i in range(12):
        await setup.texts.queue(_text(f"+1414555{i:04d}", id=f"t{i:02d}"), now=T0)
    senders = [Store(db_url, outbox=Outbox(tmp_path / "outbox")) for _ in range(4)]
    try:
        batches = await asyncio.gather(
            *(s.texts.claim(now=T0, lease=LEASE, limit=5) for s in senders)
        )
        claimed = [t.id for batch in batches for t in batch]
        assert sorted(claimed) == sorted(set(claimed))  # nobody holds a text another holds
        while more := await setup.texts.claim(now=T0, lease=LEASE, limit=5):
            claimed += [t.id for t in more]
        assert sorted(claimed) == [f"t{i:02d}" for i in range(12)]
    finally:
        for s in [setup, *senders]:
            await s.close()


async def test_a_lost_claim_is_never_sent_again_and_a_status_callback_settles_it(store: Store):
    await store.texts.queue(_text(id="t1"), now=T0)
    [text] = await store.texts.claim(now=T0, lease=LEASE)
    assert await store.texts.expire_leases(now=T0 + LEASE) == 1  # the sender died mid-send
    assert await store.texts.claim(now=T0 + 2 * LEASE, lease=LEASE) == []
    assert not await store.texts.mark_sent("t1", attempt=1, provider_message_id="SM1", at=T0)

    assert await store.texts.delivery("twilio", "SM1", "delivered", text_id="t1", now=T0)
    settled = await store.texts.get("t1")
    assert settled is not None
    assert (settled.status, settled.provider_message_id) == (TextStatus.DELIVERED, "SM1")
    # A late "sent" never takes a delivered text back.
    assert not await store.texts.delivery("twilio", "SM1", "sent", now=T0)


async def test_a_provider_opt_out_refusal_blocks_the_number_and_its_waiting_texts(store: Store):
    await store.texts.queue(_text(id="t1"), now=T0)
    await store.texts.queue(_text(id="t2"), now=T0 + timedelta(minutes=5))
    [text] = await store.texts.claim(now=T0, lease=LEASE)
    assert await store.texts.mark_failed(
        text, attempt=1, error="21610", now=T0, retry_at=None, opted_out=True
    )
    statuses = {t.id: t.status for t in await store.texts.texts_to("lakeside", PATIENT)}
    assert statuses == {"t1": TextStatus.BLOCKED, "t2": TextStatus.BLOCKED}

    await store.texts.queue(_text("+14145550111", id="t3"), now=T0)
    [landline] = await store.texts.claim(now=T0, lease=LEASE)
    await store.texts.mark_failed(
        landline,
        attempt=1,
        error="21614",
        now=T0,
        retry_at=None,
        number_state=NumberState.LANDLINE,
    )
    number = await store.texts.number("lakeside", "+14145550111")
    assert number is not None and number.state == NumberState.LANDLINE
    assert not await store.texts.queue(_text("+14145550111", id="t3"), now=T0)
    await store.texts.queue(_text("+14145550111", id="t4"), now=T0)
    assert (await store.texts.get("t4")).status == TextStatus.BLOCKED  # type: ignore[union-attr]


async def test_an_inbound_text_is_stored_and_handled_once(store: Store):
    inbound = {
        "practice_id": "lakeside",
        "provider": "telnyx",
        "provider_message_id": "msg-1",
        "from_number": PATIENT,
        "to_number": "+14145550100",
        "body": "Can someone call me about my bill",
        "received_at": T0,
    }
    first = await store.texts.receive(inbound)
    assert first is not None
    assert await store.texts.receive(inbound) is None  # the webhook, retried
    [row] = await store.texts.unhandled()
    handling = Handling(
        action="message",
        message={"reason": "Text: Can someone call me about my bill"},
        reply=_text(kind="received", body="Thank you", provider="telnyx", to_number=PATIENT),
    )
    handled = await asyncio.gather(
        store.texts.handle(row, handling, now=T0), store.texts.handle(row, handling, now=T0)
    )
    assert sorted(handled) == [False, True]
    assert await store.texts.unhandled() == []
    assert [m.reason for m in await store.records.open_messages("lakeside")] == [
        "Text: Can someone call me about my bill"
    ]
    assert [t.kind for t in await store.texts.texts_to("lakeside", PATIENT)] == ["received"]
