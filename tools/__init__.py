"""The LLM-facing tools. Each module exports a list; `ALL_TOOLS` is what the receptionist gets."""

from tools.call_control import CALL_CONTROL_TOOLS

ALL_TOOLS = [*CALL_CONTROL_TOOLS]
