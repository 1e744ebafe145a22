"""The bare baseline for `bench/calls.py`: the smallest LiveKit agent that answers the same calls.

VAD (Silero), the production turn handling (the local `v1-mini` end-of-turn model, fixed
endpointing with the same delays, VAD interruptions) and the same STT/LLM/TTS test doubles as the
receptionist (`tests/support/e2e_providers.py`), but no tools, no practice profile, no database,
no keypad, no call record. It greets with the same sentence the receptionist would
(`BENCH_GREETING`, set by the benchmark) and answers every turn as the scripted model does.

The worker's pool options are the receptionist's own settings, read from the same environment
variables (`IDLE_PROCESSES`, `MAX_CALLS`, `LOAD_THRESHOLD`, `INITIALIZE_PROCESS_TIMEOUT`), so the
two workers differ only in what runs inside a call: the ratio of the receptionist's figures to
this one's is our own cost over the framework's.

    python bench/baseline_agent.py start      # LIVEKIT_URL/_API_KEY/_API_SECRET, AGENT_NAME
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from livekit.agents import (  # noqa: E402
    Agent,
    AgentServer,
    AgentSession,
    JobContext,
    JobProcess,
    cli,
    inference,
    room_io,
)
from livekit.plugins import silero  # noqa: E402

from tests.support.e2e_providers import (  # noqa: E402
    CALLER_SAYS,
    EspeakTTS,
    HeardSTT,
    respond,
)
from tests.support.scripted_llm import ScriptedLLM  # noqa: E402

GREETING = os.environ.get("BENCH_GREETING", "Thank you for calling. How can I help you today?")


def _env_float(name: str, default: float) -> float:
    value = os.environ.get(name, "").strip()
    return float(value) if value else default


def _env_int(name: str) -> int | None:
    value = os.environ.get(name, "").strip()
    return int(value) if value else None


MAX_CALLS = _env_int("MAX_CALLS")
IDLE_PROCESSES = _env_int("IDLE_PROCESSES")


def prewarm(proc: JobProcess) -> None:
    proc.userdata["vad"] = silero.VAD.load()


def call_load(server: AgentServer) -> float:
    assert MAX_CALLS
    return min(len(server.active_jobs) / MAX_CALLS, 1.0)


class Baseline(Agent):
    async def on_enter(self) -> None:
        self.session.say(GREETING)


server = AgentServer(
    setup_fnc=prewarm,
    load_fnc=call_load if MAX_CALLS else None,
    load_threshold=_env_float("LOAD_THRESHOLD", 0.7),
    initialize_process_timeout=_env_float("INITIALIZE_PROCESS_TIMEOUT", 10.0),
    **({"num_idle_processes": IDLE_PROCESSES} if IDLE_PROCESSES is not None else {}),
)


@server.rtc_session(agent_name=os.environ.get("AGENT_NAME", "receptionist"))
async def entrypoint(ctx: JobContext) -> None:
    await ctx.connect()
    participant = await ctx.wait_for_participant()
    session = AgentSession(
        stt=HeardSTT(os.environ.get("E2E_CALLER_SAYS", CALLER_SAYS)),
        llm=ScriptedLLM(then=respond),
        tts=EspeakTTS(),
        vad=ctx.proc.userdata["vad"],
        turn_handling={
            "turn_detection": inference.TurnDetector(version="v1-mini"),
            "endpointing": {
                "mode": "fixed",
                "min_delay": _env_float("ENDPOINTING_MIN_DELAY", 0.6),
                "max_delay": _env_float("ENDPOINTING_MAX_DELAY", 4.0),
            },
            "interruption": {"mode": "vad", "min_duration": 0.6},
            "preemptive_generation": {"enabled": True},
        },
    )
    await session.start(
        agent=Baseline(instructions="Answer briefly."),
        room=ctx.room,
        room_options=room_io.RoomOptions(participant_identity=participant.identity),
    )


if __name__ == "__main__":
    cli.run_app(server)
