"""Reminder calls in the book, on SQLite and PostgreSQL: candidates, claims under a cap, attempts
fenced by their claim, choices, opt-outs, two runners at once calling each patient once, and no
call about a visit cancelled or moved (or to a patient who opted out) after the claim."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

import pytest
from livekit import api
from sqlalchemy import insert, update

from receptionist.call.outbound import dial
from receptionist.reminders.call import ReminderCall
from receptionist.reminders.rules import TIME_CHANGED, ReminderJob, instead_of_dialling
from receptionist.store import Outbox, Store
from receptionist.store.models import Appointment, AppointmentStatus, ReminderOptOut, ReminderStatus
from receptionist.store.reminders import OPTED_OUT, VISIT_CANCELLED, VISIT_MOVED, Wanted
from tests.support.harness import example_practice

NOW = datetime(2027, 3, 1, 16, 0, tzinfo=UTC)  # Monday 10:00 in Chicago
LEASE = timedelta(minutes=15)


async def _visits(store: Store, count: int, *, practice_id: str = "lakeside") -> list[Wanted]:
    """`count` patients, each with one visit tomorrow (an hour apart)."""
    wanted = []
    for i in range(count):
        patient, _ = await store.appointments.register_patient(
            practice_id, f"Patient {i}", date(1980, 1, 1 + i % 28), f"+1414555{i:04d}"
        )
        start = NOW + timedelta(hours=26 + i)
        visit = await store.appointments.book(
            practice_id=practice_id,
            provider_id=f"dr-{i}",
            patient_id=patient.id,
            visit_type="exam",
            starts_at=start,
            ends_at=start + timedelta(minutes=30),
        )
        wanted.append(Wanted(visit.id, patient.id, 0))
    return wanted


async def test_candidates_are_booked_visits_in_the_range_with_reminder_and_opt_out(store: Store):
    a, b, c = await _visits(store, 3)
    await store.appointments.cancel(c.appointment_id, patient_id=c.patient_id)
    await store.reminders.opt_out("lakeside", b.patient_id, now=NOW)
    found = await store.reminders.reminder_candidates(
        "lakeside", start=NOW + timedelta(hours=24), end=NOW + timedelta(hours=48)
    )
    assert [(x.appointment.id, x.opted_out, x.reminder) for x in found] == [
        (a.appointment_id, False, None),
        (b.appointment_id, True, None),
    ]
    assert found[0].patient.phone == "+14145550000"
    narrow = await store.reminders.reminder_candidates(
        "lakeside", start=NOW + timedelta(hours=26, minutes=30), end=NOW + timedelta(hours=48)
    )
    assert [x.appointment.id for x in narrow] == [b.appointment_id]
    assert (
        await store.reminders.reminder_candidates("elsewhere", start=NOW, end=NOW + LEASE * 400)
        == []
    )


async def test_a_claim_takes_at_most_the_cap_and_counts_calls_in_flight(store: Store):
    wanted = await _visits(store, 4)
    first = await store.reminders.claim_reminders(
        "lakeside", wanted, now=NOW, lease=LEASE, max_in_flight=3
    )
    assert [c.appointment_id for c in first] == [w.appointment_id for w in wanted[:3]]
    assert {c.attempt for c in first} == {1}
    assert await store.reminders.reminders_in_flight("lakeside", now=NOW) == 3
    # The cap is full: nothing more until a call finishes, and the claimed ones are not re-claimed.
    assert (
        await store.reminders.claim_reminders(
            "lakeside", wanted, now=NOW, lease=LEASE, max_in_flight=3
        )
        == []
    )
    done = first[0]
    assert await store.reminders.finish_reminder_attempt(
        done.reminder_id,
        attempt=1,
        now=NOW,
        line="busy",
        sip_status=486,
        status=ReminderStatus.PENDING,
        retry_at=NOW + timedelta(hours=2),
    )
    again = await store.reminders.claim_reminders(
        "lakeside", wanted, now=NOW, lease=LEASE, max_in_flight=3
    )
    # The busy one was read with attempts=0 and now has 1: only the fourth is claimed.
    assert [c.appointment_id for c in again] == [wanted[3].appointment_id]


async def test_a_runner_that_read_an_old_row_claims_nothing(store: Store):
    [want] = await _visits(store, 1)
    [claim] = await store.reminders.claim_reminders(
        "lakeside", [want], now=NOW, lease=LEASE, max_in_flight=5
    )
    await store.reminders.finish_reminder_attempt(
        claim.reminder_id,
        attempt=1,
        now=NOW,
        line="no_answer",
        status=ReminderStatus.PENDING,
        retry_at=NOW,
    )
    later = NOW + timedelta(hours=2)
    stale = await store.reminders.claim_reminders(
        "lakeside", [want], now=later, lease=LEASE, max_in_flight=5
    )
    assert stale == []
    fresh = Wanted(want.appointment_id, want.patient_id, 1)
    [second] = await store.reminders.claim_reminders(
        "lakeside", [fresh], now=later, lease=LEASE, max_in_flight=5
    )
    assert second.attempt == 2 and second.reminder_id == claim.reminder_id


async def test_a_call_whose_job_died_is_claimed_again_after_its_lease(store: Store):
    [want] = await _visits(store, 1)
    [claim] = await store.reminders.claim_reminders(
        "lakeside", [want], now=NOW, lease=LEASE, max_in_flight=5
    )
    seen = Wanted(want.appointment_id, want.patient_id, 1)
    during = NOW + LEASE - timedelta(seconds=1)
    assert (
        await store.reminders.claim_reminders(
            "lakeside", [seen], now=during, lease=LEASE, max_in_flight=5
        )
        == []
    )
    after = NOW + LEASE
    [again] = await store.reminders.claim_reminders(
        "lakeside", [seen], now=after, lease=LEASE, max_in_flight=5
    )
    assert again.attempt == 2
    # The dead job's late report changes nothing: attempt 1 no longer holds the reminder.
    assert not await store.reminders.reminder_choice(
        claim.reminder_id, attempt=1, status=ReminderStatus.CONFIRMED, now=after
    )
    reminder, _, _ = await store.reminders.reminder_job(claim.reminder_id)
    assert reminder.status == ReminderStatus.CALLING and reminder.confirmed_at is None


async def test_a_choice_finishes_the_reminder_and_the_call_report_keeps_it(store: Store):
    [want] = await _visits(store, 1)
    [claim] = await store.reminders.claim_reminders(
        "lakeside", [want], now=NOW, lease=LEASE, max_in_flight=5
    )
    await store.reminders.reminder_dispatched(claim.reminder_id, attempt=1, dispatch_id="AD_1")
    assert await store.reminders.reminder_choice(
        claim.reminder_id, attempt=1, status=ReminderStatus.CONFIRMED, now=NOW
    )
    assert await store.reminders.finish_reminder_attempt(
        claim.reminder_id,
        attempt=1,
        now=NOW + timedelta(minutes=1),
        line="answered",
        answered_by="person",
        sip_status=200,
        call_id="SCL_1",
        # what an unanswered call would become: ignored after a choice
        status=ReminderStatus.PENDING,
        retry_at=NOW + timedelta(hours=2),
    )
    reminder, appointment, patient = await store.reminders.reminder_job(claim.reminder_id)
    assert reminder.status == ReminderStatus.CONFIRMED and reminder.confirmed_at == NOW
    assert reminder.lease_until is None and reminder.dispatch_id == "AD_1"
    assert appointment.id == want.appointment_id and patient.id == want.patient_id
    [result] = await store.reminders.reminder_results(
        "lakeside", start=NOW, end=NOW + timedelta(days=1)
    )
    attempt = result.attempt
    assert (attempt.line, attempt.answered_by, attempt.sip_status, attempt.choice) == (
        "answered",
        "person",
        200,
        ReminderStatus.CONFIRMED,
    )
    assert attempt.dispatch_id == "AD_1" and attempt.call_id == "SCL_1"
    assert attempt.finished_at == NOW + timedelta(minutes=1)
    # A confirmed reminder is never claimed again.
    seen = Wanted(want.appointment_id, want.patient_id, 1)
    later = NOW + timedelta(hours=3)
    assert (
        await store.reminders.claim_reminders(
            "lakeside", [seen], now=later, lease=LEASE, max_in_flight=5
        )
        == []
    )


async def test_unanswered_attempts_end_given_up(store: Store):
    [want] = await _visits(store, 1)
    [claim] = await store.reminders.claim_reminders(
        "lakeside", [want], now=NOW, lease=LEASE, max_in_flight=5
    )
    assert await store.reminders.finish_reminder_attempt(
        claim.reminder_id,
        attempt=1,
        now=NOW,
        line="no_answer",
        sip_status=480,
        status=ReminderStatus.GAVE_UP,
        reason="no answer; every attempt used",
    )
    reminder, _, _ = await store.reminders.reminder_job(claim.reminder_id)
    assert reminder.status == ReminderStatus.GAVE_UP and "every attempt" in reminder.reason
    [result] = await store.reminders.reminder_results(None, start=NOW, end=NOW + timedelta(days=1))
    assert result.attempt.choice == ReminderStatus.GAVE_UP and result.attempt.sip_status == 480


async def test_opt_outs_are_kept_once_and_can_be_removed(store: Store):
    [want] = await _visits(store, 1)
    assert await store.reminders.opt_out("lakeside", want.patient_id, now=NOW, call_id="SCL_9")
    assert not await store.reminders.opt_out("lakeside", want.patient_id, now=NOW)
    assert await store.reminders.is_opted_out("lakeside", want.patient_id)
    [(row, patient)] = await store.reminders.opt_outs("lakeside")
    assert row.source == "call" and patient.full_name == "Patient 0"
    assert await store.reminders.remove_opt_out("lakeside", want.patient_id)
    assert not await store.reminders.is_opted_out("lakeside", want.patient_id)


async def test_a_skip_is_kept_for_staff_and_a_fixed_number_can_still_be_called(store: Store):
    [want] = await _visits(store, 1)
    assert await store.reminders.skip_reminder(
        "lakeside", want, reason="no usable phone number", now=NOW
    )
    assert await store.reminders.skip_reminder(
        "lakeside", want, reason="no usable phone number", now=NOW
    )
    [found] = await store.reminders.reminder_candidates(
        "lakeside", start=NOW, end=NOW + timedelta(days=2)
    )
    assert found.reminder.status == ReminderStatus.SKIPPED and found.reminder.reason.startswith(
        "no"
    )
    [claim] = await store.reminders.claim_reminders(
        "lakeside", [want], now=NOW, lease=LEASE, max_in_flight=5
    )
    assert claim.attempt == 1
    # Once called, a reminder is never marked skipped.
    assert not await store.reminders.skip_reminder(
        "lakeside", want, reason="no usable phone number", now=NOW
    )


async def test_an_opted_out_choice_is_a_final_status(store: Store):
    [want] = await _visits(store, 1)
    [claim] = await store.reminders.claim_reminders(
        "lakeside", [want], now=NOW, lease=LEASE, max_in_flight=5
    )
    assert await store.reminders.reminder_choice(
        claim.reminder_id, attempt=1, status=ReminderStatus.OPTED_OUT, now=NOW
    )
    reminder, _, _ = await store.reminders.reminder_job(claim.reminder_id)
    assert reminder.status == ReminderStatus.OPTED_OUT and reminder.confirmed_at is None


async def test_two_runners_at_once_call_each_patient_once_within_the_cap(db_url: str, tmp_path):
    """Runners on separate connections (as on separate hosts) claim the same due list at the same
    moment, over and over: every reminder is claimed exactly once and the cap is never passed."""
    setup = Store(db_url, outbox=Outbox(tmp_path / "outbox"))
    wanted = await _visits(setup, 12)
    runners = [Store(db_url, outbox=Outbox(tmp_path / "outbox")) for _ in range(4)]
    try:
        rounds = []
        for _ in range(3):
            rounds.append(
                await asyncio.gather(
                    *(
                        r.reminders.claim_reminders(
                            "lakeside", wanted, now=NOW, lease=LEASE, max_in_flight=5
                        )
                        for r in runners
                    )
                )
            )
        claimed = [c for batch in rounds for claims in batch for c in claims]
        assert len(claimed) == 5  # the cap, over every runner and round
        assert len({c.appointment_id for c in claimed}) == 5
        assert await setup.reminders.reminders_in_flight("lakeside", now=NOW) == 5
        # Without a cap in the way, every reminder is claimed once, whoever wins each.
        rest = await asyncio.gather(
            *(
                r.reminders.claim_reminders(
                    "lakeside", wanted, now=NOW, lease=LEASE, max_in_flight=100
                )
                for r in runners
            )
        )
        claimed += [c for claims in rest for c in claims]
        assert sorted(c.appointment_id for c in claimed) == sorted(w.appointment_id for w in wanted)
        attempts = await setup.reminders.reminder_results(
            "lakeside", start=NOW, end=NOW + timedelta(minutes=1)
        )
        assert len(attempts) == 12 and {a.attempt.attempt for a in attempts} == {1}
    finally:
        await asyncio.gather(*(r.close() for r in runners))
        await setup.close()


# --- a visit cancelled or moved, or a patient opted out, after the claim ------------------------


class Dialler:
    """The LiveKit API as the reminder call's job uses it: records each CreateSIPParticipant."""

    def __init__(self) -> None:
        self.placed: list[api.CreateSIPParticipantRequest] = []
        self.sip = self

    async def create_sip_participant(self, request, timeout=None):
        self.placed.append(request)
        return api.SIPParticipantInfo(sip_call_id="SCL_dialled")


async def _claimed_call(store: Store, want: Wanted) -> ReminderCall:
    """The reminder claimed by a runner, and its job's call as `run_reminder_call` builds it
    (reading the visit and the patient at the job's start)."""
    [claim] = await store.reminders.claim_reminders(
        "lakeside", [want], now=NOW, lease=LEASE, max_in_flight=5
    )
    job = ReminderJob(claim.reminder_id, claim.attempt, "lakeside", "ST_out", 30)
    _, appointment, patient = await store.reminders.reminder_job(claim.reminder_id)
    return ReminderCall(job, example_practice(), appointment, patient, store, clock=lambda: NOW)


async def _dialled_after(store: Store, call: ReminderCall) -> list[api.CreateSIPParticipantRequest]:
    """What the job sends when it dials now, its attempt recorded as the call ends."""
    client = Dialler()
    await dial(client, call, call.job.room)
    await call.finish()
    return client.placed


async def _move(store: Store, want: Wanted) -> None:
    await store.appointments.reschedule(
        want.appointment_id,
        patient_id=want.patient_id,
        provider_id="dr-0",
        starts_at=NOW + timedelta(hours=50),
        ends_at=NOW + timedelta(hours=50, minutes=30),
    )


CHANGES = {
    "cancelled": (
        lambda store, want: store.appointments.cancel(
            want.appointment_id, patient_id=want.patient_id
        ),
        ReminderStatus.CANCELLED,
        VISIT_CANCELLED,
    ),
    "moved": (_move, ReminderStatus.MOVED, VISIT_MOVED),
    "opted out": (
        lambda store, want: store.reminders.opt_out(
            "lakeside", want.patient_id, now=NOW, source="staff"
        ),
        ReminderStatus.OPTED_OUT,
        OPTED_OUT,
    ),
}


@pytest.mark.parametrize("change", list(CHANGES))
async def test_a_change_after_the_claim_settles_the_reminder_and_nothing_is_dialled(
    store: Store, change: str
):
    """The visit cancelled or moved, or the patient opted out, while the job is starting: the same
    transaction settles the claimed reminder, and the job dials nobody."""
    [want] = await _visits(store, 1)
    call = await _claimed_call(store, want)
    make, status, reason = CHANGES[change]
    await make(store, want)
    reminder, _, _ = await store.reminders.reminder_job(call.job.reminder_id)
    assert (reminder.status, reminder.reason, reminder.lease_until) == (status, reason, None)
    assert await _dialled_after(store, call) == []
    reminder, _, _ = await store.reminders.reminder_job(call.job.reminder_id)
    assert (reminder.status, reminder.reason) == (status, reason)
    [result] = await store.reminders.reminder_results(
        "lakeside", start=NOW, end=NOW + timedelta(days=1)
    )
    assert result.attempt.line == "not_dialled" and result.attempt.finished_at == NOW
    # Nor does a later runner claim it again.
    seen = Wanted(want.appointment_id, want.patient_id, 1)
    later = NOW + timedelta(hours=3)
    assert (
        await store.reminders.claim_reminders(
            "lakeside", [seen], now=later, lease=LEASE, max_in_flight=5
        )
        == []
    )


async def test_a_moved_visit_gets_its_own_reminder_at_the_new_time(store: Store):
    [want] = await _visits(store, 1)
    await _claimed_call(store, want)
    await _move(store, want)
    [moved] = await store.reminders.reminder_candidates(
        "lakeside", start=NOW, end=NOW + timedelta(days=3)
    )
    assert moved.appointment.id != want.appointment_id and moved.reminder is None
    fresh = Wanted(moved.appointment.id, want.patient_id, 0)
    [claim] = await store.reminders.claim_reminders(
        "lakeside", [fresh], now=NOW, lease=LEASE, max_in_flight=5
    )
    assert claim.attempt == 1 and claim.appointment_id == moved.appointment.id


# Changes behind the store's back (nothing settled): the job's check before dialling finds them.
BEHIND = {
    "cancelled": (
        lambda want: (
            update(Appointment)
            .where(Appointment.id == want.appointment_id)
            .values(status=AppointmentStatus.CANCELLED)
        ),
        ReminderStatus.CANCELLED,
        VISIT_CANCELLED,
    ),
    "moved": (
        lambda want: (
            update(Appointment)
            .where(Appointment.id == want.appointment_id)
            .values(status=AppointmentStatus.RESCHEDULED)
        ),
        ReminderStatus.MOVED,
        VISIT_MOVED,
    ),
    "opted out": (
        lambda want: insert(ReminderOptOut).values(
            id="o1",
            practice_id="lakeside",
            patient_id=want.patient_id,
            source="staff",
            call_id="",
            created_at=NOW,
        ),
        ReminderStatus.OPTED_OUT,
        OPTED_OUT,
    ),
    "time changed": (
        lambda want: (
            update(Appointment)
            .where(Appointment.id == want.appointment_id)
            .values(
                starts_at=NOW + timedelta(hours=30), ends_at=NOW + timedelta(hours=30, minutes=30)
            )
        ),
        ReminderStatus.PENDING,
        TIME_CHANGED,
    ),
}


@pytest.mark.parametrize("change", list(BEHIND))
async def test_the_job_checks_the_book_just_before_dialling(store: Store, change: str):
    [want] = await _visits(store, 1)
    call = await _claimed_call(store, want)
    statement, status, reason = BEHIND[change]
    async with store.engine.begin() as conn:
        await conn.execute(statement(want))
    assert await _dialled_after(store, call) == []
    reminder, _, _ = await store.reminders.reminder_job(call.job.reminder_id)
    assert (reminder.status, reminder.reason, reminder.lease_until) == (status, reason, None)
    [result] = await store.reminders.reminder_results(
        "lakeside", start=NOW, end=NOW + timedelta(days=1)
    )
    assert result.attempt.line == "not_dialled"
    assert result.attempt.choice == ("" if status == ReminderStatus.PENDING else status)


async def test_a_call_still_wanted_is_dialled(store: Store):
    [want] = await _visits(store, 1)
    call = await _claimed_call(store, want)
    client = Dialler()
    assert await dial(client, call, call.job.room)
    assert [r.sip_call_to for r in client.placed] == ["+14145550000"]


async def test_removing_an_opt_out_reopens_the_reminders_it_settled(store: Store):
    settled, chosen = await _visits(store, 2)
    await store.reminders.claim_reminders(
        "lakeside", [settled], now=NOW, lease=LEASE, max_in_flight=5
    )
    # The second patient said "stop calling me" on their reminder call.
    [claim] = await store.reminders.claim_reminders(
        "lakeside", [chosen], now=NOW, lease=LEASE, max_in_flight=5
    )
    await store.reminders.opt_out("lakeside", chosen.patient_id, now=NOW)
    await store.reminders.reminder_choice(
        claim.reminder_id, attempt=1, status=ReminderStatus.OPTED_OUT, now=NOW
    )
    await store.reminders.opt_out("lakeside", settled.patient_id, now=NOW, source="staff")
    assert await store.reminders.remove_opt_out("lakeside", settled.patient_id)
    assert await store.reminders.remove_opt_out("lakeside", chosen.patient_id)
    rows = await store.reminders.reminders_for([settled.appointment_id, chosen.appointment_id])
    assert rows[settled.appointment_id].status == ReminderStatus.PENDING
    assert rows[chosen.appointment_id].status == ReminderStatus.OPTED_OUT  # their own choice stays


async def test_cancels_racing_claims_never_leave_a_call_to_place(db_url: str, tmp_path):
    """A runner claims while the patients cancel, on separate connections at the same moment:
    whichever wins each race, no cancelled visit is left with a call its job would dial."""
    setup = Store(db_url, outbox=Outbox(tmp_path / "outbox"))
    wanted = await _visits(setup, 12)
    runner, desk = (Store(db_url, outbox=Outbox(tmp_path / "outbox")) for _ in range(2))
    try:
        claims, *_ = await asyncio.gather(
            runner.reminders.claim_reminders(
                "lakeside", wanted, now=NOW, lease=LEASE, max_in_flight=100
            ),
            *(desk.appointments.cancel(w.appointment_id, patient_id=w.patient_id) for w in wanted),
        )
        for claim in claims:
            check = await setup.reminders.dial_check(claim.reminder_id)
            _, appointment, _ = await setup.reminders.reminder_job(claim.reminder_id)
            instead = instead_of_dialling(
                check, attempt=claim.attempt, starts_at=appointment.starts_at, now=NOW
            )
            assert instead is not None and instead.status == ReminderStatus.CANCELLED
    finally:
        await asyncio.gather(runner.close(), desk.close(), setup.close())


# --- the staff's view (`receptionist reminders list|opt-outs|run --dry-run`) -------------------


def test_staff_read_the_days_calls_and_the_opt_outs(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from receptionist.domain.practice import load_practice
    from receptionist.ops.cli import app
    from receptionist.paths import REPO_ROOT

    url = f"sqlite+aiosqlite:///{tmp_path}/book.db"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("OUTBOX_DIR", str(tmp_path / "outbox"))
    monkeypatch.setenv("COLUMNS", "200")
    runner = CliRunner()
    assert runner.invoke(app, ["migrate"]).exit_code == 0
    practice = load_practice(REPO_ROOT / "practice.toml")
    now = practice.now().replace(hour=10, minute=0, second=0, microsecond=0)

    async def record() -> None:
        store = Store(url, outbox=Outbox(tmp_path / "outbox"))
        try:
            [want] = await _visits(store, 1, practice_id=practice.id)
            [claim] = await store.reminders.claim_reminders(
                practice.id, [want], now=now, lease=LEASE, max_in_flight=5
            )
            await store.reminders.reminder_choice(
                claim.reminder_id, attempt=1, status=ReminderStatus.CONFIRMED, now=now
            )
            await store.reminders.finish_reminder_attempt(
                claim.reminder_id,
                attempt=1,
                now=now,
                line="answered",
                answered_by="person",
                sip_status=200,
                status=ReminderStatus.PENDING,
            )
            await store.reminders.opt_out(practice.id, want.patient_id, now=now)
        finally:
            await store.close()

    asyncio.run(record())
    listed = runner.invoke(app, ["reminders", "list", "--date", now.date().isoformat()])
    assert listed.exit_code == 0, listed.output
    line = next(row for row in listed.output.splitlines() if "Patient 0" in row)
    assert "10:00" in line and "answered" in line and "person" in line and "confirmed" in line
    other_day = (now.date() + timedelta(days=1)).isoformat()
    assert (
        "no reminder calls" in runner.invoke(app, ["reminders", "list", "--date", other_day]).output
    )
    bad = runner.invoke(app, ["reminders", "list", "--date", "tomorrow"])
    assert bad.exit_code == 2 and "YYYY-MM-DD" in bad.output
    opt_outs = runner.invoke(app, ["reminders", "opt-outs"])
    assert "Patient 0" in opt_outs.output and "asked on a call" in opt_outs.output
    # The example practice keeps reminders off: a pass calls nobody and says why.
    dry = runner.invoke(app, ["reminders", "run", "--dry-run"])
    assert dry.exit_code == 0 and "nobody called (reminders are off" in dry.output


def test_the_days_list_gives_each_attempt_its_own_result(tmp_path, monkeypatch):
    """A busy first try stays 'tried again later' once a second try confirms: the list shows
    what each call did, as the staff page does, not the reminder's latest state on every row."""
    from typer.testing import CliRunner

    from receptionist.domain.practice import load_practice
    from receptionist.ops.cli import app
    from receptionist.paths import REPO_ROOT

    url = f"sqlite+aiosqlite:///{tmp_path}/book.db"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("OUTBOX_DIR", str(tmp_path / "outbox"))
    monkeypatch.setenv("COLUMNS", "200")
    runner = CliRunner()
    assert runner.invoke(app, ["migrate"]).exit_code == 0
    practice = load_practice(REPO_ROOT / "practice.toml")
    first = practice.now().replace(hour=10, minute=0, second=0, microsecond=0)
    second = first + timedelta(hours=2)

    async def record() -> None:
        store = Store(url, outbox=Outbox(tmp_path / "outbox"))
        try:
            [want] = await _visits(store, 1, practice_id=practice.id)
            for when, seen, line, sip in ((first, 0, "busy", 486), (second, 1, "answered", 200)):
                [claim] = await store.reminders.claim_reminders(
                    practice.id,
                    [Wanted(want.appointment_id, want.patient_id, seen)],
                    now=when,
                    lease=LEASE,
                    max_in_flight=5,
                )
                if line == "answered":
                    await store.reminders.reminder_choice(
                        claim.reminder_id,
                        attempt=claim.attempt,
                        status=ReminderStatus.CONFIRMED,
                        now=when,
                    )
                await store.reminders.finish_reminder_attempt(
                    claim.reminder_id,
                    attempt=claim.attempt,
                    now=when + timedelta(minutes=1),
                    line=line,
                    answered_by="person" if line == "answered" else "",
                    sip_status=sip,
                    status=ReminderStatus.PENDING,
                    retry_at=when + timedelta(hours=1),
                )
        finally:
            await store.close()

    asyncio.run(record())
    listed = runner.invoke(app, ["reminders", "list", "--date", first.date().isoformat()])
    assert listed.exit_code == 0, listed.output
    rows = [row for row in listed.output.splitlines() if "Patient 0" in row]
    busy = next(row for row in rows if "10:00" in row)
    answered = next(row for row in rows if "12:00" in row)
    assert "486" in busy and "confirmed" not in busy and "pending" in busy
    assert "confirmed" in answered
