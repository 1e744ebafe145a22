"""The LLM-facing tools. Each module exports a list; `ALL_TOOLS` is what the receptionist gets."""

from tools.booking import BOOKING_TOOLS
from tools.call_control import CALL_CONTROL_TOOLS
from tools.clock import CLOCK_TOOLS
from tools.emergency import EMERGENCY_TOOLS
from tools.messages import MESSAGE_TOOLS
from tools.practice_info import PRACTICE_INFO_TOOLS

ALL_TOOLS = [
    *CALL_CONTROL_TOOLS,
    *BOOKING_TOOLS,
    *PRACTICE_INFO_TOOLS,
    *MESSAGE_TOOLS,
    *EMERGENCY_TOOLS,
    *CLOCK_TOOLS,
]
