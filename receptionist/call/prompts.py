"""Renders the agent's instructions from the Markdown templates in `prompts/`.

The instructions hold only what is fixed for a practice (name, address, hours); anything that
changes during a call (the current time, availability, policies) comes from tools, so the prompt is
the same from call to call and stays small.
"""

from __future__ import annotations

from string import Template

from receptionist.domain.practice import Practice
from receptionist.domain.spoken import week_hours_24h
from receptionist.paths import REPO_ROOT

PROMPTS_DIR = REPO_ROOT / "prompts"
# Optional sections appended after the main template, when present.
EXTRA_SECTIONS = ("scheduling.md",)


def render_instructions(practice: Practice) -> str:
    template = Template((PROMPTS_DIR / "receptionist.md").read_text(encoding="utf-8"))
    extra = "\n".join(
        (PROMPTS_DIR / name).read_text(encoding="utf-8").strip()
        for name in EXTRA_SECTIONS
        if (PROMPTS_DIR / name).exists()
    )
    return (
        template.substitute(
            practice_name=practice.name,
            address=practice.address or "address on request",
            timezone=practice.timezone,
            hours=week_hours_24h(practice.hours),
            extra=extra,
        ).strip()
        + "\n"
    )


def greeting(practice: Practice, is_open: bool) -> str:
    """The first words of every call: spoken from code (no model round trip) so they come fast."""
    if is_open:
        return (
            f"Thank you for calling {practice.name}. I'm the practice's automated assistant. "
            "How can I help you today?"
        )
    return (
        f"Thank you for calling {practice.name}. The office is closed right now. "
        "I'm the practice's automated assistant: I can book an appointment, take a message "
        "for the team, or help if you have a dental emergency. How can I help?"
    )


def resumed_greeting(practice: Practice) -> str:
    """The first words of an agent sent back into a call whose agent was lost (see
    receptionist/call/recovery.py): from code, like the greeting, because the caller has already
    waited through a silence. The new agent does not know what was said, so it asks again."""
    return (
        f"Sorry, we were cut off for a moment. This is {practice.name}'s automated assistant "
        "again. Could you tell me once more how I can help?"
    )
