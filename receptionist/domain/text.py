"""Free text from callers (and the model on their behalf): cleaned once at intake, shown safely.

Names, reasons, summaries and notes arrive from speech-to-text and the model. Before they are
stored they go through `clean_free_text`, the one place that decides what free text may hold: no
control characters (NUL, escape sequences), no invisible format characters (bidi overrides that
reorder what staff read, zero-width characters), no lone surrogates (which some databases refuse),
in NFC form, on one line, and no longer than its column allows, counted after normalisation.

`visible` is the second line of defence at output: whatever reaches a staff terminal or a log
line (old rows, values from other systems) has its control and format characters shown as
escapes (`\\x1b`, `\\u202e`) instead of acting on the terminal.
"""

from __future__ import annotations

import unicodedata

# Categories removed at intake: control (Cc), format (Cf: bidi overrides, zero-width characters),
# surrogate (Cs: lone halves of a UTF-16 pair). Whitespace among them becomes a space first.
_REMOVED = frozenset({"Cc", "Cf", "Cs"})
# Categories escaped at output; line and paragraph separators also break a terminal's lines.
_ESCAPED = _REMOVED | {"Zl", "Zp"}
_KEPT_AT_OUTPUT = frozenset("\n\t")


def clean_free_text(value: str | None, *, limit: int) -> str:
    """`value` as storable, printable text of at most `limit` characters.

    Whitespace of any kind (tabs, newlines, no-break spaces) becomes one space and the ends are
    trimmed; control, format and surrogate characters are dropped; the result is NFC-normalised
    and then cut to `limit` characters (so the bound holds for what is stored). Never raises on
    odd input; an empty result means the caller gave nothing usable.
    """
    if limit < 0:
        raise ValueError("limit must not be negative")
    kept = "".join(_intake_char(ch) for ch in value or "")
    normal = unicodedata.normalize("NFC", kept)
    return " ".join(normal.split())[:limit].rstrip()


def _intake_char(ch: str) -> str:
    if ch.isspace():
        return " "
    return "" if unicodedata.category(ch) in _REMOVED else ch


def visible(text: str) -> str:
    """`text` with control and format characters written out as escapes (newlines and tabs
    kept), so it can be printed to a terminal or a log without acting on it."""
    if text.isprintable():  # no Cc/Cf/Cs/Zl/Zp at all (the usual case): nothing to escape
        return text
    return "".join(_output_char(ch) for ch in text)


def _output_char(ch: str) -> str:
    if ch in _KEPT_AT_OUTPUT or unicodedata.category(ch) not in _ESCAPED:
        return ch
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
