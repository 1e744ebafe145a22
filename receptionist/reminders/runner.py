"""The reminder runner: one pass over the practices, from the book's visits to dispatched calls.

For each practice with `[practice.reminders] enabled = true` it checks the calling window (hours
and closures, the staff's too), reads the booked visits in the reminder window, lets the rules
decide who is due (receptionist/reminders/rules.py), claims those in the book under the cap on
calls in flight (receptionist/store/reminders.py: each reminder is claimed by one runner only) and
hands each claim to a `Dispatcher` (the agent dispatch API: receptionist/ops/reminders.py wires
LiveKit's in; a test wires a recorder). A dispatch that fails ends the attempt as a failed line,
tried again after the spacing. `receptionist reminders run` (cron) calls `run_all`.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from receptionist.domain.closures import practice_today
from receptionist.domain.lines import Line
from receptionist.domain.phone import normalize
from receptionist.domain.practice import Practice, PracticeDirectory
from receptionist.reminders.rules import (
    Candidate,
    ReminderJob,
    Skip,
    after_unanswered,
    calling_closed,
    due_now,
)
from receptionist.store import Store
from receptionist.store.reminders import ReminderCandidate, Wanted

log = logging.getLogger("receptionist.reminders")

# How long a claimed reminder stays `calling` before another runner may take it again (its job is
# presumed dead): ringing plus the longest reminder call, with room to spare.
LEASE = timedelta(minutes=15)


class Dispatcher(Protocol):
    """Where claimed reminders go: LiveKit's agent dispatch API (or a test's recorder)."""

    async def outbound_trunk(self, practice: Practice) -> str | None: ...

    async def dispatch(self, job: ReminderJob) -> str: ...


@dataclass
class PracticeRun:
    """What one pass did for one practice."""

    practice_id: str
    closed: Skip | None = None
    problem: str = ""
    dispatched: list[ReminderJob] = field(default_factory=list)
    failed: list[ReminderJob] = field(default_factory=list)
    due: list[str] = field(default_factory=list)  # appointment ids (a dry run claims nothing)
    skipped: Counter[Skip] = field(default_factory=Counter)

    @property
    def ok(self) -> bool:
        return not self.problem and not self.failed


def candidate(row: ReminderCandidate, region: str) -> Candidate:
    reminder = row.reminder
    return Candidate(
        appointment_id=row.appointment.id,
        patient_id=row.patient.id,
        phone=normalize(row.patient.phone or "", region),
        visit_type=row.appointment.visit_type,
        starts_at=row.appointment.starts_at,
        booked=True,
        opted_out=row.opted_out,
        status=reminder.status if reminder else "",
        attempts=reminder.attempts if reminder else 0,
        last_attempt_at=reminder.last_attempt_at if reminder else None,
        lease_until=reminder.lease_until if reminder else None,
    )


async def run_practice(
    store: Store,
    practice: Practice,
    dispatcher: Dispatcher,
    *,
    now: datetime,
    lease: timedelta = LEASE,
    dry_run: bool = False,
) -> PracticeRun:
    """One pass for one practice: idempotent (a reminder being called, or finished, is left)."""
    run = PracticeRun(practice.id)
    practice = await practice_today(store, practice, now.astimezone(practice.tz).date())
    run.closed = calling_closed(practice, now)
    if run.closed is not None:
        return run
    reminders = practice.reminders
    rows = await store.reminders.reminder_candidates(
        practice.id, start=now + reminders.nearest, end=now + reminders.farthest
    )
    decisions = due_now(practice, [candidate(r, practice.region) for r in rows], now)
    wanted = []
    for decision in decisions:
        c = decision.candidate
        want = Wanted(c.appointment_id, c.patient_id, c.attempts)
        if (skip := decision.skip) is None:  # due
            wanted.append(want)
            continue
        run.skipped[skip] += 1
        if skip is Skip.NO_NUMBER and not dry_run and c.attempts == 0:
            await store.reminders.skip_reminder(practice.id, want, reason=skip.value, now=now)
    if dry_run:
        run.due = [w.appointment_id for w in wanted]
        return run
    if not wanted:
        return run
    trunk = await dispatcher.outbound_trunk(practice)
    if not trunk:
        run.problem = (
            f"no outbound trunk carries {practice.id}'s number: run `receptionist sip setup` "
            "with SIP_OUTBOUND_* set, or name one in [practice.reminders] outbound_trunk"
        )
        return run
    claims = await store.reminders.claim_reminders(
        practice.id, wanted, now=now, lease=lease, max_in_flight=reminders.max_in_flight
    )
    for claim in claims:
        job = ReminderJob(
            reminder_id=claim.reminder_id,
            attempt=claim.attempt,
            practice_id=practice.id,
            trunk_id=trunk,
            ringing_seconds=reminders.ringing_seconds,
        )
        try:
            dispatch_id = await dispatcher.dispatch(job)
        except Exception as exc:  # types only: messages may quote room names
            log.warning("reminder dispatch failed (%s)", type(exc).__name__)
            following = after_unanswered(
                practice, attempts=claim.attempt, now=now, why="dispatch failed"
            )
            await store.reminders.finish_reminder_attempt(
                claim.reminder_id,
                attempt=claim.attempt,
                now=now,
                line=Line.FAILED,
                status=following.status,
                retry_at=following.retry_at,
                reason=following.reason,
            )
            run.failed.append(job)
            continue
        await store.reminders.reminder_dispatched(
            claim.reminder_id, attempt=claim.attempt, dispatch_id=dispatch_id
        )
        run.dispatched.append(job)
        log.info(
            "reminder call dispatched",
            extra={"reminder": claim.reminder_id, "attempt": claim.attempt},
        )
    return run


async def run_all(
    store: Store,
    directory: PracticeDirectory,
    dispatcher: Dispatcher,
    *,
    now: datetime,
    practice_id: str = "",
    dry_run: bool = False,
    lease: timedelta = LEASE,
) -> list[PracticeRun]:
    runs = []
    for practice in directory:
        if practice_id and practice.id != practice_id:
            continue
        if not practice.reminders.enabled:
            runs.append(PracticeRun(practice.id, closed=Skip.DISABLED))
            continue
        runs.append(
            await run_practice(store, practice, dispatcher, now=now, dry_run=dry_run, lease=lease)
        )
    return runs
