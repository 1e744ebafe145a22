"""`receptionist reminders`: place the practice's reminder calls, and show staff how they went.

    uv run receptionist reminders run          # from cron / a systemd timer / a K8s CronJob
    uv run receptionist reminders run --dry-run
    uv run receptionist reminders list         # today's attempts and what patients chose
    uv run receptionist reminders opt-outs

`run` is one pass, safe to start every few minutes from several hosts at once: for each practice
with `[practice.reminders] enabled = true` it checks the calling window (hours and closures,
the staff's too), reads the booked visits in the reminder window, lets the rules decide who is
due, claims those in the book under the cap on calls in flight and turns each claim into an agent
dispatch to the same agent that answers inbound calls (receptionist/reminders/runner.py; this
module wires in LiveKit's dispatch API and prints what the run did). The agent places the
call (receptionist/call/outbound.py). LiveKit spreads the jobs over the workers: no queue of ours.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Annotated

import typer

from receptionist.domain.practice import Practice, PracticeDirectory
from receptionist.reminders.rules import ReminderJob, attempt_result
from receptionist.reminders.runner import PracticeRun, run_all
from receptionist.store import Store

if TYPE_CHECKING:
    from livekit.api import LiveKitAPI

app = typer.Typer(help="Reminder calls before appointments: run them, see how they went.")


class LiveKitDispatcher:
    """The runner's `Dispatcher` over LiveKit's API: one agent dispatch per reminder call, into
    a room named after the attempt."""

    def __init__(self, lk: LiveKitAPI, agent_name: str) -> None:
        self._lk = lk
        self.agent_name = agent_name

    async def outbound_trunk(self, practice: Practice) -> str | None:
        """The trunk the practice's reminder calls go over, chosen as a call chooses it
        (receptionist/call/sip.py: `outbound_trunk`)."""
        from receptionist.call import sip  # loads LiveKit: only a run that dispatches needs it

        return await sip.outbound_trunk(self._lk, practice, "reminders")

    async def dispatch(self, job: ReminderJob) -> str:
        from livekit import api

        dispatch = await self._lk.agent_dispatch.create_dispatch(
            api.CreateAgentDispatchRequest(
                agent_name=self.agent_name, room=job.room, metadata=job.to_metadata()
            )
        )
        return dispatch.id


# --- the commands -------------------------------------------------------------------------------


class _DryRun:
    """A dispatcher for `--dry-run`: never asked (a dry run claims nothing)."""

    async def outbound_trunk(self, practice: Practice) -> str | None:
        return None

    async def dispatch(self, job: ReminderJob) -> str:
        raise RuntimeError("a dry run dispatches nothing")


@app.command("run")
def run_command(
    practice: Annotated[str, typer.Option(help="Only this practice id.")] = "",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show who is due and why others are not.")
    ] = False,
    agent_name: Annotated[
        str, typer.Option(help="The agent to dispatch (default: AGENT_NAME).")
    ] = "",
) -> None:
    """One pass: call every patient due a reminder now (safe to run every few minutes, anywhere)."""
    from receptionist import logs
    from receptionist.ops.staff import fail, say, settings_or_exit, with_store

    settings = settings_or_exit()
    if not dry_run and not (settings.livekit_url and settings.livekit_api_key):
        fail("LIVEKIT_URL, LIVEKIT_API_KEY and LIVEKIT_API_SECRET must be set", code=2)
    logs.install(settings.log_level)

    async def go(store: Store, directory: PracticeDirectory) -> list[PracticeRun]:
        if practice and directory.get(practice) is None:
            fail(f"no practice with id {practice!r}", code=2)
        if dry_run:
            return await run_all(
                store,
                directory,
                _DryRun(),
                now=datetime.now(UTC),
                practice_id=practice,
                dry_run=True,
            )
        from livekit import api

        lk = api.LiveKitAPI(
            settings.livekit_url,
            settings.livekit_api_key,
            settings.livekit_api_secret.get_secret_value(),
        )
        try:
            dispatcher = LiveKitDispatcher(lk, agent_name or settings.agent_name)
            return await run_all(
                store, directory, dispatcher, now=datetime.now(UTC), practice_id=practice
            )
        finally:
            await lk.aclose()

    runs = with_store(go)
    for run in runs:
        say(summary(run, dry_run=dry_run), "red" if not run.ok else "")
    if not all(run.ok for run in runs):
        raise typer.Exit(1)


def summary(run: PracticeRun, *, dry_run: bool = False) -> str:
    if run.closed is not None:
        return f"{run.practice_id}: nobody called ({run.closed.value})"
    parts = []
    if run.problem:
        parts.append(run.problem)
    if dry_run:
        parts.append(f"{len(run.due)} due now")
    else:
        parts.append(f"{len(run.dispatched)} called")
    if run.failed:
        parts.append(f"{len(run.failed)} dispatches failed (retried later)")
    for skip, n in sorted(run.skipped.items(), key=lambda kv: kv[0].name):
        parts.append(f"{n} not called: {skip.value}")
    return f"{run.practice_id}: " + "; ".join(parts)


@app.command("list")
def list_command(
    day: Annotated[
        str, typer.Option("--date", help="YYYY-MM-DD in the practice's zone (default: today).")
    ] = "",
) -> None:
    """The day's reminder calls: when, how the line answered, and what the patient chose."""
    from receptionist.ops.staff import _add_row, _show, _table, fail, with_store

    async def go(store: Store, directory: PracticeDirectory) -> None:
        for practice in directory:
            try:
                when = date.fromisoformat(day) if day else practice.now().date()
            except ValueError:
                fail(f"--date {day!r} is not a date: write YYYY-MM-DD", code=2)
            start = datetime.combine(when, datetime.min.time(), tzinfo=practice.tz)
            results = await store.reminders.reminder_results(
                practice.id, start=start, end=start + timedelta(days=1)
            )
            table = _table(
                f"{practice.name}: reminder calls on {when:%a %d %b}",
                ("at", "patient", "visit", "try", "line", "SIP", "answered", "result"),
                keep_whole=("at", "SIP"),
            )
            now = datetime.now(UTC)
            for r in results:
                visit = r.appointment.starts_at if r.appointment else None
                result, detail = attempt_result(r, practice, now)
                _add_row(
                    table,
                    r.attempt.started_at.astimezone(practice.tz).strftime("%H:%M"),
                    r.patient.full_name if r.patient else "?",
                    visit.astimezone(practice.tz).strftime("%a %d %b %H:%M") if visit else "",
                    r.attempt.attempt,
                    r.attempt.line or ("calling" if r.attempt.finished_at is None else ""),
                    r.attempt.sip_status or "",
                    r.attempt.answered_by,
                    f"{result} ({detail})" if detail else result,
                )
            _show(table, results, f"{practice.name}: no reminder calls on {when:%a %d %b}.")

    with_store(go)


@app.command("opt-outs")
def opt_outs_command() -> None:
    """Patients who asked not to get reminder calls (they are never called again)."""
    from receptionist.ops.staff import _add_row, _show, _table, with_store

    async def go(store: Store, directory: PracticeDirectory) -> None:
        for practice in directory:
            rows = await store.reminders.opt_outs(practice.id)
            table = _table(
                f"{practice.name}: no reminder calls", ("since", "patient", "how"), ("since",)
            )
            for row, patient in rows:
                _add_row(
                    table,
                    row.created_at.astimezone(practice.tz).strftime("%d %b %Y"),
                    patient.full_name if patient else row.patient_id,
                    "asked on a call" if row.source == "call" else "staff",
                )
            _show(table, rows, f"{practice.name}: nobody has opted out.")

    with_store(go)
