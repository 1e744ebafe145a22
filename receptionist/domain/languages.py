"""The languages a practice answers in, and each language's words.

`practice.toml` names them (`languages = ["en", "es"]`, the first is the default) and may tune
each one in a `[practice.language.<code>]` table (the keypad digit that chooses it, the words a
caller says to choose it, the STT language, the TTS voice). Everything a caller hears in that
language is data under `prompts/<code>/`: the model's instructions (`receptionist.md`,
`scheduling.md`) and the catalogue of fixed lines and spoken forms (`lines.toml`). So adding a
language is a profile entry plus translated files, never a code branch.

No LiveKit here: the call side (receptionist/call/) reads `Language` to switch its STT, TTS and
instructions; the domain (spoken.py) reads its catalogue to say times and dates natively.
"""

from __future__ import annotations

import tomllib
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from string import Template

from babel import Locale, UnknownLocaleError
from pydantic import BaseModel, ConfigDict, Field

from receptionist.paths import REPO_ROOT

PROMPTS_DIR = REPO_ROOT / "prompts"
# What each language's folder must hold (the start-up check refuses a language without them).
PROMPT_FILES = ("receptionist.md",)
CATALOGUE_FILE = "lines.toml"
# The catalogue's sections and the keys each must have: every fixed line the code says, and the
# Babel patterns (https://babel.pocoo.org/en/latest/dates.html#date-fields) for spoken forms.
REQUIRED_LINES: dict[str, tuple[str, ...]] = {
    "choose": ("name", "offer", "words"),
    "lines": (
        "greeting_open",
        "greeting_closed",
        "resumed",
        "still_there",
        "silent_goodbye",
        "transfer_announce",
        "transfer_unavailable",
        "hold",
        "unreached",
        "declined",
        "held_too_long",
        "switched",
    ),
    "clips": ("trouble-transfer", "trouble-goodbye"),
    "spoken": (
        "clock_hour",
        "clock",
        "clock_reading",
        "date",
        "day",
        "weekday",
        "full_date",
        "birth_date",
        "at",
        "today",
        "tomorrow",
        "span",
        "spans_joiner",
        "closed",
    ),
    "briefing": ("caller_language",),
    "reminder": (
        "opening",
        "visit",
        "appointment",
        "voicemail",
        "confirmed",
        "already_cancelled",
        "cancelled",
        "late_policy",
        "book_again",
        "opted_out",
        "speak",
    ),
}
DEFAULT = "en"


class LanguageError(ValueError):
    """A profile's languages are wrong; the message names the key and the fix."""


class LanguageOptions(BaseModel):
    """One `[practice.language.<code>]` table; every field has a default."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    keypad: str = Field(default="", description="the digit pressed in the greeting to choose it")
    words: list[str] = Field(default_factory=list, description="said to choose it")
    stt_language: str = Field(default="", description='Deepgram language: "es", or "multi"')
    tts_voice: str = Field(default="", description="the TTS voice; empty: TTS_VOICE")


@dataclass(frozen=True)
class Language:
    """One language a call can be in: how a caller chooses it and how the call speaks it."""

    code: str
    keypad: str
    words: tuple[str, ...]
    stt_language: str
    tts_voice: str  # "" = the settings' voice

    @property
    def catalogue(self) -> Catalogue:
        return catalogue(self.code)

    @property
    def name(self) -> str:
        """The language's own name ("español"), as a caller hears it in an offer."""
        return str(self.catalogue.choose["name"])


@dataclass(frozen=True)
class Catalogue:
    """`prompts/<code>/lines.toml`: the fixed lines and spoken forms of one language."""

    code: str
    choose: dict[str, object]
    lines: dict[str, str]
    clips: dict[str, str]
    spoken: dict[str, str]
    briefing: dict[str, str]
    reminder: dict[str, str]

    def line(self, key: str, **values: str) -> str:
        """A fixed line with its `$placeholders` filled (`$practice`)."""
        return Template(self.lines[key]).substitute(values)

    def offer(self, digit: str) -> str:
        """ "Para español, oprima 2 o diga español.": how the greeting offers this language."""
        return Template(str(self.choose["offer"])).substitute(digit=digit)

    def remind(self, key: str, **values: str) -> str:
        """A reminder call's line (`[reminder]`) with its placeholders filled."""
        return Template(self.reminder[key]).substitute(values)

    def say(self, key: str, **values: str) -> str:
        """A spoken-form template (`$day at $time`) with its placeholders filled."""
        return Template(self.spoken[key]).substitute(values)


def language_dir(code: str) -> Path:
    return PROMPTS_DIR / code


@cache
def catalogue(code: str) -> Catalogue:
    """The catalogue of a language, read once per process (the start-up check has read it)."""
    path = language_dir(code) / CATALOGUE_FILE
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return Catalogue(
        code=code,
        choose=dict(data.get("choose", {})),
        lines={k: str(v) for k, v in data.get("lines", {}).items()},
        clips={k: str(v) for k, v in data.get("clips", {}).items()},
        spoken={k: str(v) for k, v in data.get("spoken", {}).items()},
        briefing={k: str(v) for k, v in data.get("briefing", {}).items()},
        reminder={k: str(v) for k, v in data.get("reminder", {}).items()},
    )


def check_codes(codes: list[str], options: dict[str, LanguageOptions]) -> None:
    """Profile-level checks (no files read): known, unique codes; options only for them; one
    keypad digit per language, never 0 (0 reaches the staff)."""
    if not codes:
        raise LanguageError('languages: name at least one, e.g. languages = ["en"]')
    for code in codes:
        try:
            Locale.parse(code)
        except (UnknownLocaleError, ValueError):
            raise LanguageError(
                f"languages: {code!r} is not a language code; use one such as 'en' or 'es'"
            ) from None
    if len(set(codes)) != len(codes):
        raise LanguageError("languages: a language is listed twice; list each once")
    for code in options:
        if code not in codes:
            raise LanguageError(
                f"language.{code}: {code!r} is not in `languages`; add it there or remove "
                "this table"
            )
    chosen = keypad_digits(codes, options)
    for digit, code in chosen:
        if len(digit) != 1 or digit not in "123456789":
            raise LanguageError(
                f"language.{code}.keypad: {digit!r} is not a keypad digit from 1 to 9 (0 "
                'reaches the staff); use one such as "2"'
            )
    digits = [digit for digit, _ in chosen]
    if len(set(digits)) != len(digits):
        raise LanguageError(
            "language.*.keypad: two languages share a digit; give each its own `keypad`"
        )


def keypad_digits(codes: list[str], options: dict[str, LanguageOptions]) -> list[tuple[str, str]]:
    """(digit, code) per language: its own `keypad`, else its place in `languages` (1, 2, ...)."""
    return [
        ((options.get(code) or LanguageOptions()).keypad or str(place), code)
        for place, code in enumerate(codes, start=1)
    ]


def build_languages(codes: list[str], options: dict[str, LanguageOptions]) -> list[Language]:
    """The profile's languages with every default filled (reads each catalogue for its words)."""
    built = []
    for digit, code in keypad_digits(codes, options):
        opts = options.get(code) or LanguageOptions()
        words = opts.words or [str(w) for w in _catalogue_words(code)]
        built.append(
            Language(
                code=code,
                keypad=digit,
                words=tuple(fold(w) for w in words),
                stt_language=opts.stt_language or code,
                tts_voice=opts.tts_voice,
            )
        )
    return built


def _catalogue_words(code: str) -> list[object]:
    try:
        words = catalogue(code).choose.get("words", [])
    except OSError:  # the start-up check reports the missing file
        return []
    return list(words) if isinstance(words, list) else []


def missing_files(code: str) -> list[str]:
    """What `prompts/<code>/` lacks for a call in that language (each with its fix)."""
    folder = language_dir(code)
    problems = [
        f"languages: {code!r} has no {folder / name}: translate prompts/{DEFAULT}/{name} there"
        for name in PROMPT_FILES
        if not (folder / name).is_file()
    ]
    path = folder / CATALOGUE_FILE
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError:
        return [
            *problems,
            f"languages: {code!r} has no {path}: translate prompts/{DEFAULT}/{CATALOGUE_FILE}",
        ]
    except tomllib.TOMLDecodeError as exc:
        return [*problems, f"{path}: not valid TOML: {exc}"]
    for section, keys in REQUIRED_LINES.items():
        table = data.get(section, {})
        for key in keys:
            if not isinstance(table, dict) or key not in table:
                problems.append(
                    f"{path}: [{section}] {key} is missing: add it (see prompts/{DEFAULT}/"
                    f"{CATALOGUE_FILE})"
                )
    return problems


def fold(text: str) -> str:
    """Lower case without accents: how a caller's words are compared ("Español" = "espanol")."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).strip()


def chosen_by_words(languages: list[Language], transcript: str) -> Language | None:
    """The language a caller named ("español", "en español por favor"), if any one was."""
    said = f" {' '.join(fold(transcript).replace(',', ' ').replace('.', ' ').split())} "
    for language in languages:
        if any(f" {word} " in said for word in language.words):
            return language
    return None
