"""Renders the agent's instructions from the Markdown templates in `prompts/<language>/`.

The instructions hold only what is fixed for a practice (name, address, hours); anything that
changes during a call (the current time, availability, policies) comes from tools, so the prompt is
the same from call to call and stays small. Each language has its own templates and its own
catalogue of fixed lines (receptionist/domain/languages.py); the greeting and the other lines said
from code come from that catalogue.
"""

from __future__ import annotations

from string import Template

from receptionist.domain.languages import Language, catalogue, language_dir
from receptionist.domain.practice import Practice
from receptionist.domain.spoken import week_hours_24h

# Optional sections appended after the main template, when present.
EXTRA_SECTIONS = ("scheduling.md",)


def render_instructions(practice: Practice, lang: str | None = None) -> str:
    """The model's instructions in `lang` (prompts/<lang>/receptionist.md and its sections; the
    practice's default language when not given)."""
    lang = lang or practice.default_language.code
    folder = language_dir(lang)
    template = Template((folder / "receptionist.md").read_text(encoding="utf-8"))
    extra = "\n".join(
        (folder / name).read_text(encoding="utf-8").strip()
        for name in EXTRA_SECTIONS
        if (folder / name).exists()
    )
    return (
        template.substitute(
            practice_name=practice.name,
            address=practice.address or "address on request",
            timezone=practice.timezone,
            hours=week_hours_24h(practice.hours, lang),
            extra=extra,
        ).strip()
        + "\n"
    )


def language_offers(practice: Practice) -> str:
    """ "Para español, oprima 2 o diga español.": each other language's offer, in that language
    (a caller who does not understand the greeting understands their own language's offer)."""
    return " ".join(
        catalogue(language.code).offer(language.keypad)
        for language in practice.spoken_languages[1:]
    )


def greeting(practice: Practice, is_open: bool, lang: str | None = None) -> str:
    """The first words of every call: spoken from code (no model round trip) so they come fast.
    In the default language they end with the offers of the practice's other languages."""
    code = lang or practice.default_language.code
    words = catalogue(code).line(
        "greeting_open" if is_open else "greeting_closed", practice=practice.name
    )
    if code != practice.default_language.code:
        return words
    offers = language_offers(practice)
    return f"{words} {offers}" if offers else words


def resumed_greeting(practice: Practice, lang: str | None = None) -> str:
    """The first words of an agent sent back into a call whose agent was lost (see
    receptionist/call/recovery.py): from code, like the greeting, because the caller has already
    waited through a silence. The new agent does not know what was said, so it asks again."""
    code = lang or practice.default_language.code
    return catalogue(code).line("resumed", practice=practice.name)


def switched_line(language: Language) -> str:
    """What the caller hears first in the language they chose: said from code, so it is fast."""
    return catalogue(language.code).line("switched")
