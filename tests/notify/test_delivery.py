"""Notifications delivered to a real SMTP server (STARTTLS, login, a test CA) and a real webhook
receiver (HMAC checked), from messages left through `leave_message`, on SQLite and PostgreSQL.

The clock is driven: each pass gets its `now`, starting from the moment the message was left, so
backoff and leases are exercised without sleeping and nothing depends on how fast the machine is.
"""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import datetime, timedelta

from receptionist.domain.messages import leave_message
from receptionist.domain.practice import Practice, PracticeDirectory
from receptionist.notify import deliver, run_sender, send_due
from receptionist.settings import Settings
from receptionist.store import Outbox, Store
from receptionist.store.models import (
    CALLBACK,
    EMAIL,
    GAVE_UP,
    PENDING,
    SECURITY,
    SENT,
    WEBHOOK,
    Notification,
    utcnow,
)
from tests.notify.rigs import SMTP_USER, SmtpRig, WebhookReceiver
from tests.notify.support import (
    APP_URL,
    CALLER,
    DESK,
    NUMBER,
    ONCALL,
    REASON,
    leaks,
    make_settings,
    practice_with,
)

SECONDS = timedelta(seconds=1)


async def _leave(
    store: Store, practice: Practice, *, urgency: str = "urgent", kind: str = CALLBACK
) -> datetime:
    """Leaves a message as a call would; returns a `now` at or after the moment it was left."""
    where = await leave_message(
        store,
        practice,
        caller_name=CALLER,
        callback_number=NUMBER,
        reason=REASON,
        urgency=urgency,
        kind=kind,
        call_id="CA_notify",
    )
    assert where == "stored"
    return utcnow()


async def _rows(store: Store) -> list[Notification]:
    found: list[Notification] = []
    for message in await store.records.open_messages():
        found += await store.notifications.notifications_for_message(message.id)
    return found


# --- what is sent -------------------------------------------------------------------------------


async def test_an_urgent_message_is_emailed_and_posted_once_without_patient_data(
    store: Store,
    settings: Settings,
    practice: Practice,
    directory: PracticeDirectory,
    smtp: SmtpRig,
    receiver: WebhookReceiver,
):
    now = await _leave(store, practice)

    counts = await send_due(store, settings, directory, now=now)
    again = await send_due(store, settings, directory, now=now + 10 * SECONDS)

    assert (counts.sent, counts.total, again.total) == (3, 3, 0)
    assert sorted(str(m["To"]) for m in smtp.messages) == [DESK, ONCALL]
    assert smtp.logins == [SMTP_USER, SMTP_USER]  # logged in, over TLS (the server insists)
    rows = await _rows(store)
    assert {(r.channel, r.status, r.attempts) for r in rows} == {
        (EMAIL, SENT, 1),
        (WEBHOOK, SENT, 1),
    }
    for mail in smtp.messages:
        assert re.fullmatch(r"Urgent message at \d\d:\d\d – open the staff app", mail["Subject"])
        assert f"{APP_URL}/messages" in mail.get_content()
        assert leaks(mail.as_bytes()) == []
    by_address = {str(m["To"]): str(m["Message-ID"]) for m in smtp.messages}
    assert by_address == {
        r.destination: f"<{r.id}@receptionist>" for r in rows if r.channel == EMAIL
    }
    [post] = receiver.requests
    [webhook_row] = [r for r in rows if r.channel == WEBHOOK]
    assert post.accepted and post.key == webhook_row.id == post.payload["id"]
    assert post.headers["Content-Type"] == "application/json"
    assert post.payload["url"] == f"{APP_URL}/messages"
    assert post.payload["urgency"] == "urgent" and "details" not in post.payload
    assert leaks(post.raw) == []


async def test_with_details_the_notifications_carry_name_number_and_reason(
    store: Store,
    settings: Settings,
    receiver: WebhookReceiver,
    smtp: SmtpRig,
):
    practice = practice_with(receiver, details=True)
    now = await _leave(store, practice)

    counts = await send_due(store, settings, PracticeDirectory([practice]), now=now)

    assert counts.sent == 3
    for mail in smtp.messages:
        body = mail.get_content()
        assert CALLER in body and NUMBER in body and REASON in body
        assert leaks(str(mail["Subject"])) == []
    [post] = receiver.accepted
    assert post.payload["details"] == {
        "caller_name": CALLER,
        "callback_number": NUMBER,
        "reason": REASON,
    }


async def test_routine_messages_are_sent_only_when_the_practice_wants_all(
    store: Store,
    settings: Settings,
    receiver: WebhookReceiver,
    smtp: SmtpRig,
):
    urgent_only = practice_with(receiver)
    now = await _leave(store, urgent_only, urgency="routine")
    await _leave(store, urgent_only, urgency="soon")
    assert await _rows(store) == []  # nothing to send: no rows were written
    assert (await send_due(store, settings, PracticeDirectory([urgent_only]), now=now)).total == 0

    everything = practice_with(receiver, send="all")
    now = await _leave(store, everything, urgency="routine")
    counts = await send_due(store, settings, PracticeDirectory([everything]), now=now)
    assert counts.sent == 3
    assert [r.payload["title"].split(" at ")[0] for r in receiver.accepted] == ["New message"]


async def test_a_security_notice_is_sent_even_when_routine(
    store: Store,
    settings: Settings,
    practice: Practice,
    directory: PracticeDirectory,
    receiver: WebhookReceiver,
    smtp: SmtpRig,
):
    now = await _leave(store, practice, urgency="routine", kind=SECURITY)
    assert (await send_due(store, settings, directory, now=now)).sent == 3
    assert receiver.accepted[0].payload["title"].startswith("Security notice at ")


# --- failures, retries, crashes -----------------------------------------------------------------


async def test_receiver_down_is_retried_with_backoff_and_delivered_once_when_back(
    store: Store,
    settings: Settings,
    practice: Practice,
    directory: PracticeDirectory,
    smtp: SmtpRig,
    receiver: WebhookReceiver,
):
    t0 = await _leave(store, practice)
    await receiver.stop()
    smtp.stop()

    first = await send_due(store, settings, directory, now=t0)
    rows = await _rows(store)
    assert first.retrying == 3
    assert {(r.status, r.attempts, r.next_attempt_at) for r in rows} == {
        (PENDING, 1, t0 + 10 * SECONDS)
    }
    for row in rows:
        assert re.fullmatch(r"[A-Za-z_]+", row.last_error)  # a type name, no text, no values

    assert (await send_due(store, settings, directory, now=t0 + 9 * SECONDS)).total == 0
    second = await send_due(store, settings, directory, now=t0 + 10 * SECONDS)
    assert second.retrying == 3
    rows = await _rows(store)
    assert {r.next_attempt_at for r in rows} == {t0 + 30 * SECONDS}  # 10 s, then 20 s

    await receiver.start()
    smtp.start()
    assert (await send_due(store, settings, directory, now=t0 + 29 * SECONDS)).total == 0
    third = await send_due(store, settings, directory, now=t0 + 30 * SECONDS)

    assert third.sent == 3
    assert len(receiver.accepted) == 1 and len(smtp.messages) == 2
    assert {(r.status, r.attempts, r.last_error) for r in await _rows(store)} == {(SENT, 3, "")}


async def test_a_receiver_refusing_the_signature_gets_it_again_once_the_secret_is_fixed(
    store: Store,
    practice: Practice,
    directory: PracticeDirectory,
    smtp: SmtpRig,
    ca_file,
    receiver: WebhookReceiver,
):
    wrong = make_settings(smtp, ca_file, webhook_secret="0" * 40)
    t0 = await _leave(store, practice)

    first = await send_due(store, wrong, directory, now=t0)

    assert (first.sent, first.retrying) == (2, 1)  # the emails went; the webhook waits
    assert [r.status for r in receiver.requests] == [401]
    [row] = [r for r in await _rows(store) if r.channel == WEBHOOK]
    assert (row.status, row.last_error) == (PENDING, "WebhookRejected")

    fixed = make_settings(smtp, ca_file)
    assert (await send_due(store, fixed, directory, now=t0 + 10 * SECONDS)).sent == 1
    assert len(receiver.accepted) == 1 and len(receiver.deduplicated()) == 1


async def test_a_sender_killed_between_sending_and_recording_is_redelivered_with_the_same_key(
    store: Store,
    settings: Settings,
    practice: Practice,
    directory: PracticeDirectory,
    smtp: SmtpRig,
    receiver: WebhookReceiver,
):
    t0 = await _leave(store, practice)
    lease = timedelta(seconds=60)
    # The first sender claims and sends, then dies before it records anything.
    claimed = await store.notifications.claim_notifications(now=t0, lease=lease)
    for claim in claimed:
        await deliver(claim, settings, directory)
    assert len(receiver.accepted) == 1 and len(smtp.messages) == 2

    # Its lease still holds: nobody sends it meanwhile.
    assert (await send_due(store, settings, directory, now=t0 + 59 * SECONDS)).total == 0
    # The lease ran out: a fresh sender sends again, with the same keys, and records it.
    later = await send_due(store, settings, directory, now=t0 + lease, lease=lease)

    assert later.sent == 3
    first_post, second_post = receiver.accepted
    assert (
        first_post.key == second_post.key == first_post.payload["id"] == second_post.payload["id"]
    )
    assert first_post.payload == second_post.payload  # the same notification, built again
    assert len(receiver.deduplicated()) == 1  # what the receiver acts on: one
    ids = smtp.message_ids()
    assert len(ids) == 4 and len(set(ids)) == 2  # each address got the same Message-ID twice
    rows = await _rows(store)
    assert {(r.status, r.attempts) for r in rows} == {(SENT, 2)}
    # The dead sender's claim cannot record over the newer one (its `attempts` fences it off).
    stale = claimed[0].notification
    assert not await store.notifications.mark_notification_sent(stale.id, attempt=1, at=t0)
    assert not await store.notifications.mark_notification_failed(
        stale.id, attempt=1, error="ConnectError", retry_at=t0
    )
    assert {r.status for r in await _rows(store)} == {SENT}


async def test_retries_stop_a_day_after_the_message_with_a_log_line_without_patient_data(
    store: Store,
    settings: Settings,
    practice: Practice,
    directory: PracticeDirectory,
    smtp: SmtpRig,
    receiver: WebhookReceiver,
    caplog,
):
    t0 = await _leave(store, practice)
    await receiver.stop()
    smtp.stop()
    assert (await send_due(store, settings, directory, now=t0)).retrying == 3

    caplog.set_level(logging.INFO, logger="receptionist.notify")
    nearly_a_day = t0 + timedelta(hours=23, minutes=59, seconds=55)
    last = await send_due(store, settings, directory, now=nearly_a_day)

    assert last.gave_up == 3
    assert {(r.status, r.attempts) for r in await _rows(store)} == {(GAVE_UP, 2)}
    gave_up = [r for r in caplog.records if "gave up" in r.getMessage()]
    assert len(gave_up) == 3 and all(r.levelno == logging.ERROR for r in gave_up)
    assert leaks(caplog.text) == []
    assert len(await store.records.open_messages()) == 1  # the message itself is still in the book
    assert (
        await send_due(store, settings, directory, now=nearly_a_day + timedelta(hours=1))
    ).total == 0


async def test_a_claim_abandoned_for_over_a_day_is_given_up_not_sent(
    store: Store,
    settings: Settings,
    practice: Practice,
    directory: PracticeDirectory,
    smtp: SmtpRig,
    receiver: WebhookReceiver,
):
    t0 = await _leave(store, practice)
    await store.notifications.claim_notifications(
        now=t0, lease=timedelta(minutes=2)
    )  # then the sender died

    counts = await send_due(store, settings, directory, now=t0 + timedelta(hours=25))

    assert (counts.gave_up, counts.sent) == (3, 0)
    assert receiver.requests == [] and smtp.messages == []
    assert {r.status for r in await _rows(store)} == {GAVE_UP}


# --- several senders, outages, settings ---------------------------------------------------------


async def test_two_senders_on_the_same_book_send_each_notification_exactly_once(
    db_url: str,
    outbox: Outbox,
    settings: Settings,
    practice: Practice,
    directory: PracticeDirectory,
    smtp: SmtpRig,
    receiver: WebhookReceiver,
):
    receiver.delay = 0.02  # slow enough that the two senders' passes overlap
    first, second = Store(db_url, outbox=outbox), Store(db_url, outbox=outbox)
    try:
        for _ in range(6):
            now = await _leave(first, practice)
        counts = await asyncio.gather(
            send_due(first, settings, directory, now=now, limit=2),
            send_due(second, settings, directory, now=now, limit=2),
        )
        rows = await _rows(second)
    finally:
        await first.close()
        await second.close()

    assert sum(c.sent for c in counts) == 18 and sum(c.total for c in counts) == 18
    keys = [r.key for r in receiver.requests]
    assert len(keys) == 6 and len(set(keys)) == 6  # raw deliveries, not de-duplicated
    ids = smtp.message_ids()
    assert len(ids) == 12 and len(set(ids)) == 12
    assert {(r.status, r.attempts) for r in rows} == {(SENT, 1)}


async def test_concurrent_claims_never_share_a_row(db_url: str, outbox: Outbox, practice: Practice):
    stores = [Store(db_url, outbox=outbox) for _ in range(4)]
    lease = timedelta(minutes=2)

    async def claim_all(store: Store) -> list[str]:
        taken: list[str] = []
        while batch := await store.notifications.claim_notifications(now=now, lease=lease, limit=3):
            taken += [c.notification.id for c in batch]
        return taken

    try:
        for _ in range(10):
            now = await _leave(stores[0], practice)
        taken = await asyncio.gather(*(claim_all(s) for s in stores))
    finally:
        for store in stores:
            await store.close()
    every = [key for keys in taken for key in keys]
    assert len(every) == 30 and len(set(every)) == 30


async def test_a_message_kept_in_the_outbox_is_announced_once_the_outbox_is_flushed(
    db_url: str,
    tmp_path,
    settings: Settings,
    practice: Practice,
    directory: PracticeDirectory,
    smtp: SmtpRig,
    receiver: WebhookReceiver,
):
    outbox = Outbox(tmp_path / "outbox")
    if db_url.startswith("sqlite"):
        down_url = f"sqlite+aiosqlite:///{tmp_path}/no/such/dir/book.db"
    else:
        down_url = "postgresql+asyncpg://postgres@127.0.0.1:9/nothing_listens_here"
    down = Store(down_url, outbox=outbox)
    try:
        where = await leave_message(
            down,
            practice,
            caller_name=CALLER,
            callback_number=NUMBER,
            reason=REASON,
            urgency="urgent",
            call_id="CA_outage",
        )
    finally:
        await down.close()
    assert where == "queued"

    store = Store(db_url, outbox=outbox)
    stop = asyncio.Event()
    try:
        assert (await send_due(store, settings, directory)).total == 0  # not in the book yet
        # The sender writes the outbox's records (with their notifications), then sends them.
        task = asyncio.create_task(run_sender(store, settings, directory, stop=stop, interval=0.05))
        try:
            async with asyncio.timeout(20):
                while len(receiver.accepted) < 1 or len(smtp.messages) < 2:
                    await asyncio.sleep(0.05)
        finally:
            stop.set()
            await asyncio.wait_for(task, timeout=20)
        rows = await _rows(store)
    finally:
        await store.close()
    assert outbox.pending() == []
    assert len(rows) == 3 and {r.status for r in rows} == {SENT}
    assert len(receiver.deduplicated()) == 1


async def test_broken_channel_settings_leave_its_notifications_waiting_not_lost(
    store: Store,
    practice: Practice,
    directory: PracticeDirectory,
    smtp: SmtpRig,
    ca_file,
    receiver: WebhookReceiver,
):
    t0 = await _leave(store, practice)
    no_mail = make_settings(smtp, ca_file, smtp_host="")
    counts = await send_due(store, no_mail, directory, now=t0)
    assert (counts.sent, counts.total) == (1, 1)  # the webhook went; email was not even tried
    waiting = [r for r in await _rows(store) if r.status == PENDING]
    assert {(r.channel, r.attempts, r.last_error) for r in waiting} == {(EMAIL, 0, "")}

    short_secret = make_settings(smtp, ca_file, webhook_secret="too-short")
    t1 = await _leave(store, practice)
    counts = await send_due(store, short_secret, directory, now=t1)
    assert counts.sent == 4  # both messages' emails; the new webhook waits
    assert len(receiver.requests) == 1

    fixed = make_settings(smtp, ca_file)
    assert (await send_due(store, fixed, directory, now=t1 + timedelta(days=3))).sent == 1
    assert {r.status for r in await _rows(store)} == {SENT}
    assert len(receiver.deduplicated()) == 2 and len(smtp.messages) == 4


async def test_an_untrusted_certificate_or_no_starttls_means_no_mail_sent(
    store: Store,
    practice: Practice,
    directory: PracticeDirectory,
    ca,
    ca_file,
    smtp: SmtpRig,
):
    t0 = await _leave(store, practice)
    system_cas_only = make_settings(smtp, None)  # the test CA is not a system CA
    assert (await send_due(store, system_cas_only, directory, now=t0)).retrying == 2

    plain = SmtpRig(ca, tls=False)  # a server that offers no STARTTLS
    plain.start()
    try:
        to_plain = make_settings(plain, ca_file)
        counts = await send_due(store, to_plain, directory, now=t0 + 10 * SECONDS)
    finally:
        plain.stop()
    assert counts.retrying == 2
    assert smtp.messages == [] and plain.messages == []
    emails = [r for r in await _rows(store) if r.channel == EMAIL]
    assert {(r.status, r.attempts) for r in emails} == {(PENDING, 2)}
