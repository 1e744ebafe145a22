"""The LLM-facing tools: thin by design (validate the arguments, call the domain, phrase the
result). Each module exports a list; `receptionist_tools()` is what one call's agent gets."""

from livekit.agents import llm

from tools.booking import BOOKING_TOOLS
from tools.call_control import CALL_CONTROL_TOOLS, end_call_tool
from tools.clock import CLOCK_TOOLS
from tools.emergency import EMERGENCY_TOOLS
from tools.messages import MESSAGE_TOOLS
from tools.practice_info import PRACTICE_INFO_TOOLS
from tools.reminders import REMINDER_TOOLS as REMINDER_TOOLS  # a reminder call's own set
from tools.reminders import reminder_tools as reminder_tools

ALL_TOOLS: list[llm.Tool] = [
    *CALL_CONTROL_TOOLS,
    *BOOKING_TOOLS,
    *PRACTICE_INFO_TOOLS,
    *MESSAGE_TOOLS,
    *EMERGENCY_TOOLS,
    *CLOCK_TOOLS,
]


def receptionist_tools() -> list[llm.Tool | llm.Toolset]:
    """Every tool of one call, with a fresh end-call tool (the framework's, which keeps state)."""
    return [*ALL_TOOLS, end_call_tool()]
