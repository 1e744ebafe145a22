"""What the staff app's Reminders page reads from the book, on SQLite and PostgreSQL: reminders
not called on a day (a skip has no attempt row), the page's bounds, opt-outs staff add."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from receptionist.store import Store
from receptionist.store.models import ReminderStatus
from receptionist.store.reminders import Wanted

NOW = datetime(2027, 3, 1, 16, 0, tzinfo=UTC)  # Monday 10:00 in Chicago
DAY = timedelta(days=1)
LEASE = timedelta(minutes=15)


async def _visit(store: Store, name: str, hours_ahead: int, phone: str = "+14145550101") -> Wanted:
    patient, _ = await store.appointments.register_patient(
        "lakeside", name, date(1980, 1, 1), phone
    )
    start = NOW + timedelta(hours=hours_ahead)
    visit = await store.appointments.book(
        practice_id="lakeside",
        provider_id=f"dr-{name}",
        patient_id=patient.id,
        visit_type="exam",
        starts_at=start,
        ends_at=start + timedelta(minutes=30),
    )
    return Wanted(visit.id, patient.id, 0)


async def test_a_skip_shows_on_every_day_a_pass_skipped_it(store: Store):
    first = await _visit(store, "Fay Wong", 40, phone="unknown")
    later = await _visit(store, "Gil Park", 30, phone="unknown")
    called = await _visit(store, "Ann Lee", 28)
    assert await store.reminders.skip_reminder(
        "lakeside", first, reason="no usable phone number", now=NOW
    )
    assert await store.reminders.skip_reminder(
        "lakeside", first, reason="no usable phone number", now=NOW + DAY
    )
    assert await store.reminders.skip_reminder(
        "lakeside", later, reason="no usable phone number", now=NOW + DAY
    )
    await store.reminders.claim_reminders(
        "lakeside", [called], now=NOW, lease=LEASE, max_in_flight=5
    )

    def names(found):
        return [(s.patient.full_name, s.appointment.id, s.reminder.reason) for s in found]

    monday = await store.reminders.skipped_reminders(
        "lakeside", start=NOW - DAY / 2, end=NOW + DAY / 2
    )
    assert names(monday) == [("Fay Wong", first.appointment_id, "no usable phone number")]
    tuesday = await store.reminders.skipped_reminders(
        "lakeside", start=NOW + DAY / 2, end=NOW + DAY * 1.5
    )
    # soonest visit first; the claimed reminder is not a skip
    assert [s.patient.full_name for s in tuesday] == ["Gil Park", "Fay Wong"]
    before = await store.reminders.skipped_reminders("lakeside", start=NOW - DAY * 2, end=NOW - DAY)
    assert before == []
    assert (
        await store.reminders.skipped_reminders("elsewhere", start=NOW - DAY, end=NOW + DAY * 2)
        == []
    )
    assert (
        len(
            await store.reminders.skipped_reminders(
                "lakeside", start=NOW, end=NOW + DAY * 2, limit=1
            )
        )
        == 1
    )


async def test_the_days_attempts_and_the_opt_outs_are_bounded(store: Store):
    wanted = [await _visit(store, f"Patient {i}", 26 + i, f"+1414555{i:04d}") for i in range(3)]
    claims = await store.reminders.claim_reminders(
        "lakeside", wanted, now=NOW, lease=LEASE, max_in_flight=5
    )
    for claim in claims:
        await store.reminders.reminder_choice(
            claim.reminder_id, attempt=1, status=ReminderStatus.CONFIRMED, now=NOW
        )
    assert len(await store.reminders.reminder_results("lakeside", start=NOW, end=NOW + DAY)) == 3
    assert (
        len(await store.reminders.reminder_results("lakeside", start=NOW, end=NOW + DAY, limit=2))
        == 2
    )
    for i, want in enumerate(wanted):
        await store.reminders.opt_out("lakeside", want.patient_id, now=NOW + timedelta(minutes=i))
    newest = await store.reminders.opt_outs("lakeside", limit=2)
    assert [p.full_name for _, p in newest] == ["Patient 2", "Patient 1"]
    assert len(await store.reminders.opt_outs("lakeside")) == 3


async def test_an_opt_out_staff_add_says_so_and_is_kept_once(store: Store):
    want = await _visit(store, "Ann Lee", 30)
    assert await store.reminders.opt_out("lakeside", want.patient_id, now=NOW, source="staff")
    assert not await store.reminders.opt_out(
        "lakeside", want.patient_id, now=NOW + DAY, source="call"
    )
    [(row, patient)] = await store.reminders.opt_outs("lakeside")
    assert (row.source, row.call_id, row.created_at, patient.id) == (
        "staff",
        "",
        NOW,
        want.patient_id,
    )
    [candidate] = await store.reminders.reminder_candidates(
        "lakeside", start=NOW, end=NOW + DAY * 2
    )
    assert candidate.opted_out
    assert await store.reminders.remove_opt_out("lakeside", want.patient_id)
    assert not await store.reminders.remove_opt_out("lakeside", want.patient_id)
    [candidate] = await store.reminders.reminder_candidates(
        "lakeside", start=NOW, end=NOW + DAY * 2
    )
    assert not candidate.opted_out
