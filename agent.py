"""The dental receptionist's LiveKit worker: wiring only.

    uv run agent.py console   # talk to it in the terminal (add --text for text mode)
    uv run agent.py start     # production worker (dev for auto-reload)

Before anything else loads, `exit_if_not_ready` checks the settings in every mode (this module
reads them when it loads), and in the modes that take calls also the practice profile, the outbox
folder and the database (its URL, file and schema); each problem is printed with its fix and the
process exits 2, never with a traceback (LiveKit's own `start` would exit 0). LOG_LEVEL is already
in the form LiveKit accepts (`WARN`, not `WARNING`).
"""

from __future__ import annotations

import sys

if __name__ == "__main__":
    # The cheap checks first: a missing key or a broken profile is reported in a second, not
    # after the framework and its plugins have loaded (several seconds on a small host).
    from receptionist.ops.startup import exit_if_not_ready  # operator tooling: never in a call

    exit_if_not_ready(sys.argv[1:])

from livekit.agents import AgentServer, JobContext, JobProcess, cli  # noqa: E402
from livekit.plugins import silero  # noqa: E402

from receptionist import logs  # noqa: E402
from receptionist.call.session import Worker, run_call  # noqa: E402
from receptionist.domain.practice import load_directory  # noqa: E402
from receptionist.settings import load_settings  # noqa: E402
from receptionist.store import open_store  # noqa: E402
from tools import receptionist_tools  # noqa: E402

settings = load_settings()


def prewarm(proc: JobProcess) -> None:
    """Once per process, before any call: the VAD model, the practice profiles and the book."""
    proc.userdata["worker"] = Worker(
        settings=settings,
        practices=load_directory(settings.practice_file),
        store=open_store(settings),
        vad=silero.VAD.load(),
        tools=receptionist_tools,
    )


def call_load(server: AgentServer) -> float:
    """Load as a share of MAX_CALLS, for hosts where CPU load is a poor measure of capacity."""
    return min(len(server.active_jobs) / settings.max_calls, 1.0)


server = AgentServer(
    setup_fnc=prewarm,  # a module-level function: job processes receive it by reference
    load_fnc=call_load if settings.max_calls else None,
    load_threshold=settings.load_threshold,
    shutdown_process_timeout=90.0,  # room for the rescue path: apology clip + transfer ringing
    log_level=settings.log_level,
    **(
        {"num_idle_processes": settings.idle_processes}
        if settings.idle_processes is not None
        else {}
    ),
)
# LiveKit sets up the worker's log handlers when it starts; job processes forward their records
# to them (adding the room name, which carries the caller's number), so redact there too.
server.on("worker_started", lambda: logs.install(settings.log_level))


@server.rtc_session(agent_name=settings.agent_name)
async def entrypoint(ctx: JobContext) -> None:
    logs.install(settings.log_level)
    await run_call(ctx, ctx.proc.userdata["worker"])


if __name__ == "__main__":
    cli.run_app(server)
