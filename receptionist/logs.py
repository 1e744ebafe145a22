"""Structured logs that carry the call id and never carry patient data.

A filter on every root handler stamps each record with the current call's id and masks anything
that looks like a phone number (all but the last four digits) or a date, in the message and in
string extras, and in the text of an exception a record carries (a traceback ends with the
exception's message, which may quote what a caller said or a stored value: an unexpected error
in the staff app is logged by uvicorn with its traceback). Transcripts are never passed to a
logger in the first place. Control and format
characters (terminal escape sequences, bidi overrides) in those strings are written out as
escapes, so nothing that reaches a log can act on the terminal that shows it.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
from datetime import UTC, datetime

from receptionist.domain.phone import mask
from receptionist.domain.text import visible

current_call_id: contextvars.ContextVar[str] = contextvars.ContextVar("call_id", default="")
# A job process runs one call: records from tasks started before the call was known (the
# framework's own) fall back to the process's call id.
_process_call_id = ""


def bind_call(call_id: str) -> None:
    """Stamps every later log line of this process and task with `call_id`."""
    global _process_call_id
    _process_call_id = call_id
    current_call_id.set(call_id)


# Digit runs anywhere, also inside identifiers: LiveKit names rooms and SIP participants after the
# caller's number (`call-_+14145550123_x`, `sip_+14145550123`).
_PHONE = re.compile(r"(?<![\d.])\+?\d[\d\s().-]{5,}\d(?![\d])")
_UUID = re.compile(
    r"(?<![0-9a-fA-F])[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}(?![0-9a-fA-F])"
)
_DATE = re.compile(r"\b(?:\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4})\b")
_SAFE_EXTRAS = {"call_id", "job_id", "pid", "level", "name"}
# LiveKit marks fields holding what callers said (`lk.pii.text`, ...) with this prefix.
_PII_PREFIX = "lk.pii"
# Database drivers log SQL parameters (names, numbers) at DEBUG: keep them quiet.
# httpx logs every request's URL at INFO: a PMS's query strings hold names and birth dates.
_QUIET_LOGGERS = ("aiosqlite", "asyncpg", "sqlalchemy.engine", "httpx", "httpcore")


def redact(text: str) -> str:
    """Masks phone-number-like runs of digits and dates (dates of birth look like any date).
    UUIDs (the ids of reminders, appointments, messages) are kept whole: they are random, never
    patient data, and an operator following one through the logs needs all of it."""
    ids = [*_UUID.findall(text), ""]
    return "".join(
        _redact_free_text(part) + kept for part, kept in zip(_UUID.split(text), ids, strict=True)
    )


def _redact_free_text(text: str) -> str:
    text = _DATE.sub("[date]", text)
    return _PHONE.sub(
        lambda m: mask(m.group()) if _digit_count(m.group()) >= 7 else m.group(), text
    )


def _digit_count(text: str) -> int:
    return sum(ch.isdigit() for ch in text)


class CallContextFilter(logging.Filter):
    """Adds `call_id` to every record and redacts patient data from message and extras."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "call_id", ""):
            record.call_id = current_call_id.get() or _process_call_id
        if isinstance(record.msg, str):
            record.msg = visible(redact(record.getMessage()))
            record.args = None
        for key, value in list(record.__dict__.items()):
            if key.startswith(_PII_PREFIX):
                record.__dict__[key] = "[redacted]"  # the framework's transcript fields
            elif isinstance(value, str) and key not in _RESERVED:
                record.__dict__[key] = visible(value if key in _SAFE_EXTRAS else redact(value))
        if record.exc_info and not record.exc_text:
            # Formatters print `exc_text` when it is set instead of formatting `exc_info` again.
            record.exc_text = redact(_TRACEBACKS.formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


_TRACEBACKS = logging.Formatter()


_RESERVED = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


class JsonLineFormatter(logging.Formatter):
    """One JSON object a line, for our own CLI and tests (the worker uses LiveKit's formatter)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "timestamp": datetime.fromtimestamp(record.created, tz=UTC).isoformat(),
            "level": record.levelname,
            "name": record.name,
            "message": record.getMessage(),
        }
        entry.update(
            {
                k: v
                for k, v in record.__dict__.items()
                if k not in _RESERVED and not k.startswith("_")
            }
        )
        if record.exc_text:
            entry["exc_info"] = record.exc_text
        elif record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def install(level: str = "INFO") -> None:
    """Puts the redacting filter on every root handler (adding a JSON handler if there is none)."""
    root = logging.getLogger()
    if not root.handlers:
        json_lines = logging.StreamHandler(sys.stderr)
        json_lines.setFormatter(JsonLineFormatter())
        root.addHandler(json_lines)
        root.setLevel(level)
    for handler in root.handlers:
        if not any(isinstance(f, CallContextFilter) for f in handler.filters):
            handler.addFilter(CallContextFilter())
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
