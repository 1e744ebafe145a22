"""Free text is cleaned once at intake (`clean_free_text`, used by the tools' argument checks) and
shown safely at output (`visible`, used by the staff views and the log filter)."""

from __future__ import annotations

import logging
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st
from livekit.agents.llm import ToolError

from receptionist.domain.text import clean_free_text, visible
from receptionist.logs import CallContextFilter
from tools._args import MAX_TEXT, clean_name, clean_text

BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f"
INVISIBLE = "\u200b\u200d\u2060\ufeff\u00ad"


def _bad(ch: str) -> bool:
    return unicodedata.category(ch) in ("Cc", "Cf", "Cs")


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("call me\x00 back", "call me back"),
        ("\x1b]0;pwned\x07title", "]0;pwnedtitle"),  # the sequence is broken, its text kept
        ("\x1b[8mhidden\x1b[0m", "[8mhidden[0m"),
        (f"ann{BIDI}lee", "annlee"),
        (f"ze{INVISIBLE}ro", "zero"),
        ("lone \ud800 surrogate \udfff", "lone surrogate"),
        ("tabs\tand\nnew\r\nlines\u2028and\u00a0spaces", "tabs and new lines and spaces"),
        ("  spaced   out  ", "spaced out"),
        ("Zoe\u0308", "Zo\u00eb"),  # NFC: one character, as the database will count it
        (
            "[/b] [link=https://x.example]markup[/link]",
            "[/b] [link=https://x.example]markup[/link]",
        ),
        ("", ""),
        (None, ""),
    ],
)
def test_clean_free_text_removes_what_must_not_be_stored(raw, clean):
    assert clean_free_text(raw, limit=100) == clean


def test_the_limit_is_counted_after_normalisation():
    decomposed = "e\u0301" * 300  # 600 code points, 300 characters once composed
    cleaned = clean_free_text(decomposed, limit=300)
    assert cleaned == "\u00e9" * 300
    assert clean_free_text("word " * 100, limit=12) == "word word wo"
    assert clean_free_text("ab   cd", limit=3) == "ab"  # no trailing space left by the cut


# Every code point, lone surrogates included, with the troublesome ones often.
ANY_TEXT = st.text(st.characters(exclude_categories=[]) | st.sampled_from(BIDI + "\x00\x1b\ud800"))


@given(ANY_TEXT, st.integers(min_value=0, max_value=50))
def test_cleaned_text_is_storable_bounded_and_stable(raw, limit):
    cleaned = clean_free_text(raw, limit=limit)
    assert len(cleaned) <= limit
    assert not any(_bad(ch) for ch in cleaned)
    assert cleaned == cleaned.strip() and "  " not in cleaned
    cleaned.encode("utf-8")  # no lone surrogates: encodes for any database
    assert clean_free_text(cleaned, limit=limit) == cleaned


def test_clean_text_strips_controls_and_bidi_and_keeps_its_checks():
    assert clean_text("call me\x00 back\u202e please", "The reason") == "call me back please"
    assert len(clean_text("e\u0301" * 400, "The reason")) == MAX_TEXT - 100
    assert len(clean_text("x" * 2000, "The reason")) == MAX_TEXT
    with pytest.raises(ToolError, match="The reason is missing"):
        clean_text("\x00\x1b\u202e\u200b", "The reason")


def test_clean_name_strips_invisible_characters_and_keeps_its_checks():
    assert clean_name("Ann\u202e Lee\x00") == "Ann Lee"
    assert clean_name("Zoe\u0308 Lee") == "Zo\u00eb Lee"  # decomposed input used to be refused
    for refused in ("A" * 79 + " Lee", "Ann", "R2 D2", "\x1b[8m \x1b[0m"):
        with pytest.raises(ToolError, match="first and last name"):
            clean_name(refused)


def test_visible_shows_control_and_format_characters_as_escapes():
    assert visible("a\x1b]0;t\x07b") == "a\\x1b]0;t\\x07b"
    assert visible("x\u202ey\u2028z\x00") == "x\\u202ey\\u2028z\\x00"
    assert visible("lines\nand\ttabs [/b] stay") == "lines\nand\ttabs [/b] stay"
    assert visible(visible("\x1b")) == visible("\x1b")


def test_log_lines_never_carry_terminal_escape_sequences():
    record = logging.LogRecord("t", logging.WARNING, __file__, 1, "got %s", ("\x1b]0;t\x07",), None)
    record.detail = "\x1b[2J"
    CallContextFilter().filter(record)
    assert record.getMessage() == "got \\x1b]0;t\\x07"
    assert record.detail == "\\x1b[2J"
