"""The current date and time at the practice: a tool, so the prompt is the same on every call."""

from __future__ import annotations

from livekit.agents import RunContext, function_tool

from receptionist.domain.calls import CallState
from receptionist.domain.scheduling import spoken_time
from tools._shared import local_now, practice_of, state_of


def describe_now(state: CallState) -> str:
    practice = practice_of(state)
    now = local_now(state)
    text = f"It is {now:%A}, {now:%B} {now.day}, {now.year}, {now:%I:%M %p} at the practice."
    if practice.is_open(now):
        closing = next(
            (s.end for s in practice.hours.on(now.weekday()) if s.start <= now.time() < s.end), None
        )
        return f"{text} The office is open until {closing:%I:%M %p}.".replace(" 0", " ")
    closure = practice.closure_on(now.date())
    reason = f" ({closure.reason})" if closure else ""
    opens = practice.next_opening(now)
    again = f" It opens again {spoken_time(opens, practice.tz, now.date())}." if opens else ""
    return f"{text} The office is closed now{reason}.{again}".replace(" 0", " ")


@function_tool
async def current_time(ctx: RunContext[CallState]) -> str:
    """Today's date, the time at the practice, and whether the office is open now."""
    return describe_now(state_of(ctx))


CLOCK_TOOLS = [current_time]
