"""The queue gauges read the book's real counts, on SQLite and PostgreSQL: notifications not yet
delivered (and since when), reminder calls waiting, due or under way, the outbox, and a book that
cannot be read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from prometheus_client import REGISTRY
from sqlalchemy import update

from receptionist.store import Outbox, Store
from receptionist.store.models import (
    GAVE_UP,
    PENDING,
    SENDING,
    SENT,
    Notification,
    Reminder,
    ReminderStatus,
)
from receptionist.store.notifications import NotificationBacklog
from receptionist.store.reminders import ReminderBacklog
from receptionist.telemetry.backlog import BacklogGauges

NOW = datetime(2027, 3, 1, 16, 0, tzinfo=UTC)


def ago(minutes: float) -> datetime:
    return NOW - timedelta(minutes=minutes)


def gauge(name: str, **labels: str) -> float | None:
    return REGISTRY.get_sample_value(name, labels)


async def _notifications(store: Store) -> None:
    rows = [
        ("lakeside", "email", PENDING, ago(10)),
        ("lakeside", "email", SENDING, ago(4)),
        ("lakeside", "email", SENT, ago(60)),
        ("lakeside", "webhook", GAVE_UP, ago(90)),
        ("harbour", "webhook", PENDING, ago(1)),
    ]
    async with store.sessions.session(write=True) as s:
        for i, (practice, channel, status, created) in enumerate(rows):
            s.add(
                Notification(
                    message_id=f"m{i}",
                    practice_id=practice,
                    channel=channel,
                    destination="frontdesk@example.com",
                    status=status,
                    next_attempt_at=created,
                    created_at=created,
                )
            )


async def _reminders(store: Store) -> None:
    rows = [
        (ReminderStatus.PENDING, ago(20), None),  # due 20 minutes ago
        (ReminderStatus.PENDING, NOW + timedelta(hours=2), None),  # a retry later
        (ReminderStatus.CALLING, ago(1), NOW + timedelta(minutes=10)),  # under way
        (
            ReminderStatus.CALLING,
            ago(30),
            ago(5),
        ),  # its job died: due again since its lease ran out
        (ReminderStatus.CONFIRMED, ago(300), None),  # finished
    ]
    async with store.sessions.session(write=True) as s:
        for i, (status, next_try, lease) in enumerate(rows):
            s.add(
                Reminder(
                    practice_id="lakeside",
                    appointment_id=f"a{i}",
                    patient_id=f"p{i}",
                    status=status,
                    next_attempt_at=next_try,
                    lease_until=lease,
                )
            )


async def test_the_notification_backlog_counts_what_waits_per_practice_and_channel(store: Store):
    await _notifications(store)
    found = sorted(await store.notifications.backlog(), key=lambda b: (b.practice_id, b.channel))
    assert found == [
        NotificationBacklog("harbour", "webhook", 1, ago(1), 0),
        NotificationBacklog("lakeside", "email", 2, ago(10), 0),
        NotificationBacklog("lakeside", "webhook", 0, None, 1),
    ]


async def test_the_reminder_backlog_counts_waiting_calling_and_the_most_overdue(store: Store):
    await _reminders(store)
    assert await store.reminders.backlog(now=NOW) == [ReminderBacklog("lakeside", 2, 1, ago(20))]
    # Later the retry is due too, and the most overdue is still the first.
    later = NOW + timedelta(hours=3)
    [backlog] = await store.reminders.backlog(now=later)
    assert (backlog.waiting, backlog.oldest_due) == (2, ago(20))


async def test_the_gauges_show_the_books_counts_and_read_zero_once_a_queue_empties(store: Store):
    await _notifications(store)
    await _reminders(store)
    store.outbox.put("call", {"id": "kept-1", "caller": "+14145550123"})
    assert await BacklogGauges(store).update(NOW)

    email = {"practice": "lakeside", "channel": "email"}
    assert gauge("receptionist_notifications_waiting", **email) == 2
    assert gauge("receptionist_notifications_oldest_waiting_seconds", **email) == 600
    assert gauge("receptionist_notifications_given_up", practice="lakeside", channel="webhook") == 1
    assert gauge("receptionist_reminders_waiting", practice="lakeside") == 2
    assert gauge("receptionist_reminders_calling", practice="lakeside") == 1
    assert gauge("receptionist_reminders_oldest_due_seconds", practice="lakeside") == 1200
    assert gauge("receptionist_outbox_records", kind="call") == 1
    assert gauge("receptionist_outbox_records", kind="message") == 0
    assert gauge("receptionist_store_up", dialect=store.dialect) == 1

    async with store.sessions.session(write=True) as s:
        await s.execute(update(Notification).values(status=SENT))
        await s.execute(update(Reminder).values(status=ReminderStatus.CONFIRMED))
    assert await BacklogGauges(store).update(NOW)
    assert gauge("receptionist_notifications_waiting", **email) == 0
    assert gauge("receptionist_notifications_oldest_waiting_seconds", **email) == 0
    assert gauge("receptionist_reminders_waiting", practice="lakeside") == 0
    assert gauge("receptionist_reminders_oldest_due_seconds", practice="lakeside") == 0


async def test_a_book_that_cannot_be_read_shows_as_down(tmp_path):
    missing = Store(
        f"sqlite+aiosqlite:///{tmp_path / 'no-such-dir' / 'book.db'}",
        outbox=Outbox(tmp_path / "outbox-2"),
    )
    try:
        assert await BacklogGauges(missing).update(NOW) is False
    finally:
        await missing.close()
    assert gauge("receptionist_store_up", dialect="sqlite") == 0
