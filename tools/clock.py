"""The current date and time at the practice: a tool, so the prompt is the same on every call."""

from __future__ import annotations

from livekit.agents import RunContext, function_tool

from receptionist.call.state import CallState
from receptionist.domain.spoken import now_at_practice


@function_tool
async def current_time(ctx: RunContext[CallState]) -> str:
    """Today's date, the time at the practice, and whether the office is open now."""
    state = ctx.userdata
    return now_at_practice(state.practice, state.now())


CLOCK_TOOLS = [current_time]
