"""The dental receptionist's LiveKit worker: wiring only.

    uv run agent.py try       # offline try-out: the real agent with a stand-in model, no keys
    uv run agent.py console   # talk to it in the terminal (add --text for text mode)
    uv run agent.py start     # production worker (dev for auto-reload)

Before anything else loads, `exit_if_not_ready` checks the settings in every mode (this module
reads them when it loads), and in the modes that take calls also the practice profile, the outbox
folder and the database (its URL, file and schema); each problem is printed with its fix and the
process exits 2, never with a traceback (LiveKit's own `start` would exit 0). LOG_LEVEL is already
in the form LiveKit accepts (`WARN`, not `WARNING`).
"""

from __future__ import annotations

import asyncio
import functools
import sys
from typing import TypedDict

if __name__ == "__main__":
    if sys.argv[1:2] == ["try"]:
        # The offline try-out (receptionist/ops/tryout.py): no worker, no keys; tools handed in.
        from receptionist.ops.tryout import main as try_out
        from tools import receptionist_tools

        sys.exit(try_out(receptionist_tools))
    # The cheap checks first: a missing key or a broken profile is reported in a second, not
    # after the framework and its plugins have loaded (several seconds on a small host).
    from receptionist.ops.startup import exit_if_not_ready  # operator tooling: never in a call

    exit_if_not_ready(sys.argv[1:])

from receptionist.settings import load_settings  # noqa: E402
from receptionist.telemetry.multiprocess import share_between_processes  # noqa: E402

settings = load_settings()
# Before anything imports prometheus_client (livekit does): the job processes' metrics reach
# the scrape through this folder, and so do the main process's (receptionist/telemetry/).
metrics_folder = share_between_processes(settings.prometheus_port)

from livekit.agents import AgentServer, JobContext, JobProcess, cli  # noqa: E402
from livekit.agents.utils import http_context  # noqa: E402
from livekit.plugins import silero  # noqa: E402

from receptionist import logs  # noqa: E402
from receptionist.call.providers import load_factory  # noqa: E402
from receptionist.call.session import Worker, quiet_framework_notices, run_call  # noqa: E402
from receptionist.call.traces import start_tracing  # noqa: E402
from receptionist.domain.practice import load_directory  # noqa: E402
from receptionist.pms.books import Books  # noqa: E402
from receptionist.store import open_store  # noqa: E402
from receptionist.telemetry import backlog  # noqa: E402
from tools import receptionist_tools  # noqa: E402

quiet_framework_notices()  # LiveKit warnings that do not apply here (a variable nobody set)

# The TLS context behind `ctx.api` (transfers, hang-ups): building it parses the CA bundle, which
# stalled a call's event loop for up to 3.7 s on a busy host when the first call of a process
# built it. Built once per process instead, here: when the process loads, before its first call.
# Private helpers of livekit-agents 1.8 (utils/http_context.py): a release without them only loses
# the warm-up, never the call.
for _warm_up in ("_set_default_cert_env", "_create_ssl_context"):  # the worker's order
    if callable(_step := getattr(http_context, _warm_up, None)):
        _step()
if settings.provider_factory:  # the test seam's providers: loaded now, not in a call's event loop
    load_factory(settings.provider_factory)

# What this file imports, by name: LiveKit's forkserver imports them once (beside its plugins) and
# every job process inherits them, so a new process runs only this file's own lines and `prewarm`
# instead of importing the receptionist again (1-1.2 s of CPU each, more under load). By name
# because Python 3.11's forkserver cannot preload "__main__": it is never given this file's path.
PRELOAD = [
    "receptionist.call.session",
    "receptionist.call.traces",
    "receptionist.domain.practice",
    "receptionist.store",
    "tools",
    "sqlalchemy.dialects.sqlite.aiosqlite",  # the book's drivers (an absent one is skipped)
    "sqlalchemy.dialects.postgresql.asyncpg",
    *([settings.provider_factory.partition(":")[0]] if settings.provider_factory else []),
]


def prewarm(proc: JobProcess) -> None:
    """Once per process, before any call: traces, the VAD model, the practice profiles and the
    book."""
    start_tracing(settings)  # only with OTEL_EXPORTER_OTLP_ENDPOINT
    practices = load_directory(settings.practice_file)
    store = open_store(settings)
    proc.userdata["worker"] = Worker(
        settings=settings,
        practices=practices,
        store=store,
        vad=silero.VAD.load(),
        tools=receptionist_tools,
        books=Books.build(settings, store, practices),
    )


def call_load(server: AgentServer, *, max_calls: int) -> float:
    """Load as a share of MAX_CALLS, for hosts where CPU load is a poor measure of capacity."""
    return min(len(server.active_jobs) / max_calls, 1.0)


class IdleProcesses(TypedDict, total=False):
    """IDLE_PROCESSES, handed to LiveKit only when set: unset, LiveKit's own default applies
    (which differs between `dev` and `start`)."""

    num_idle_processes: int


idle: IdleProcesses = (
    {} if settings.idle_processes is None else {"num_idle_processes": settings.idle_processes}
)


server = AgentServer(
    setup_fnc=prewarm,  # a module-level function: job processes receive it by reference
    # LiveKit hands the server to a load function that has parameters (this one: server, max_calls).
    load_fnc=functools.partial(call_load, max_calls=settings.max_calls)
    if settings.max_calls
    else None,
    load_threshold=settings.load_threshold,
    shutdown_process_timeout=90.0,  # room for the rescue path: apology clip + transfer ringing
    initialize_process_timeout=settings.initialize_process_timeout,
    preload_modules=PRELOAD if settings.preload_app else None,
    log_level=settings.log_level,
    prometheus_port=settings.prometheus_port,  # None: no endpoint
    prometheus_multiproc_dir=metrics_folder,
    **idle,
)
_gauges: list[asyncio.Task[None]] = []  # the queue gauges' task, held while the worker runs


def worker_started() -> None:
    """In the worker's main process, once it runs: redacting log handlers, and the queue gauges
    when metrics are served."""
    # LiveKit sets up the worker's log handlers when it starts; job processes forward their
    # records to them (adding the room name, which carries the caller's number): redact there.
    logs.install(settings.log_level)
    if settings.prometheus_port is not None and not _gauges:
        _gauges.append(asyncio.get_running_loop().create_task(backlog.watch(open_store(settings))))


server.on("worker_started", worker_started)


@server.rtc_session(agent_name=settings.agent_name)
async def entrypoint(ctx: JobContext) -> None:
    logs.install(settings.log_level)
    from receptionist.reminders.rules import ReminderJob

    if job := ReminderJob.from_metadata(ctx.job.metadata):  # dispatched by `reminders run`
        from receptionist.call.outbound import run_reminder_call
        from tools.reminders import reminder_tools

        await run_reminder_call(ctx, ctx.proc.userdata["worker"], job, reminder_tools)
        return
    await run_call(ctx, ctx.proc.userdata["worker"])


if __name__ == "__main__":
    # Shown only under -W: the Python console is what works offline and self-hosted (try-it.md).
    import warnings

    warnings.filterwarnings("ignore", "the built-in Python CLI is deprecated", DeprecationWarning)
    cli.run_app(server)
