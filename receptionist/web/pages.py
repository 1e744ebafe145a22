"""Rendering pages: one Jinja2 environment with autoescaping on for every template.

Autoescaping is on for every template whatever its file name (not only `.html`), so a caller's
`<script>` in a message is shown as text wherever it appears. Caller text also goes through
`visible` (the same output guard as the staff commands): control and bidi-override characters
left in old rows are shown as escapes instead of reordering what staff read. Rich-style markup
such as `[link=...]` means nothing to HTML and is shown as typed.

Notices after a change (`?notice=booked`) are codes mapped to fixed sentences here, so nothing a
person typed ever travels in a URL.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.requests import Request
from starlette.responses import HTMLResponse

from receptionist.domain.phone import is_e164
from receptionist.domain.practice import Practice
from receptionist.domain.replies import ReplySummary, stored_waits, summarise
from receptionist.domain.text import visible
from receptionist.store.models import AppointmentStatus, Attendance

TEMPLATES = Path(__file__).parent / "templates"

NOTICES = {
    "booked": "Booked.",
    "moved": "Moved. The old time is free again.",
    "cancelled": "Cancelled. The time is free again.",
    "cancel_undone": "Cancellation undone: the visit is booked again at its time.",
    "arrived": "Marked as arrived.",
    "no_show": "Marked as a no-show.",
    "attendance_cleared": "Arrived / no-show mark cleared.",
    "registered": "Patient registered.",
    "already_patient": "That name and date of birth are already a patient here: using that record.",
    "handled": "Marked as handled.",
    "already_handled": "Someone else marked that message as handled a moment ago.",
    "closure_added": "Closure added: the assistant uses it from the next call.",
    "closure_removed": "Closure removed: the assistant uses the usual hours from the next call.",
    "opt_out_added": "Recorded: that patient gets no more reminder calls.",
    "opt_out_already": "That patient had already asked not to get reminder calls.",
    "opt_out_removed": "Removed: that patient gets reminder calls again.",
    "account_added": "Account created.",
    "role_changed": "Role changed.",
    "account_deactivated": "Account deactivated and signed out everywhere.",
    "account_activated": "Account active again.",
    "password_reset": "Password reset; the account was signed out everywhere and unlocked.",
    "signed_out": "You are signed out.",
}


def text(value: object) -> str:
    """Caller or staff text as it reads: control and format characters shown as escapes."""
    return visible("" if value is None else str(value))


def local_time(moment: datetime | None, practice: Practice, fmt: str = "%a %d %b %H:%M") -> str:
    """A stored UTC time as the practice's wall clock (staff read their own time zone)."""
    if moment is None:
        return ""
    return moment.astimezone(practice.tz).strftime(fmt)


def hm(moment: datetime | None, practice: Practice) -> str:
    return local_time(moment, practice, "%H:%M")


def long_day(day: date) -> str:
    return day.strftime("%A %d %B %Y")


def duration(seconds: float | None) -> str:
    """`1:14` (minutes:seconds), or `1:02:05` for an hour or more."""
    total = int(round(seconds or 0))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def tel(number: str | None) -> str | None:
    """A `tel:` link for a real E.164 number; None for "unknown" and anything odd."""
    return f"tel:{number}" if number and is_e164(number) else None


def usage(summary: Mapping[str, Any] | None) -> list[str]:
    """Model usage as short lines: `openai gpt-4.1-mini: 2,100 in / 150 out tokens`.

    The agent stores `{"models": [...]}` (LiveKit's per-model usage); older records and demo data
    hold flat numbers, shown as `name: value`."""
    if not summary:
        return []
    lines: list[str] = []
    models = summary.get("models")
    if isinstance(models, list):
        for model in models:
            if isinstance(model, Mapping):
                lines.append(_model_line(model))
        return [line for line in lines if line]
    for key, value in summary.items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            lines.append(f"{key.replace('_', ' ')}: {value:,}")
    return lines


def _model_line(model: Mapping[str, Any]) -> str:
    name = " ".join(str(model.get(k, "")) for k in ("provider", "model") if model.get(k))
    kind = str(model.get("type", "")).removesuffix("_usage")
    parts = []
    if model.get("input_tokens") or model.get("output_tokens"):
        parts.append(
            f"{int(model.get('input_tokens') or 0):,} in / "
            f"{int(model.get('output_tokens') or 0):,} out tokens"
        )
    if model.get("characters_count"):
        parts.append(f"{int(model['characters_count']):,} characters")
    if model.get("audio_duration"):
        parts.append(f"{float(model['audio_duration']):.0f} s audio")
    if model.get("total_requests"):
        parts.append(f"{int(model['total_requests']):,} requests")
    if not parts:
        return ""
    return f"{kind} {name}: {', '.join(parts)}".strip()


def reply_spread(summary: ReplySummary) -> str:
    """The slow end of the replies: `1.1 s at most (3 replies)`; with twenty replies or more, the
    95th percentile instead of the single slowest."""
    replies = f"{summary.count:,} {'reply' if summary.count == 1 else 'replies'}"
    if summary.count < 20:
        return f"{summary.p95_s:.1f} s at most ({replies})"
    return f"95% within {summary.p95_s:.1f} s ({replies})"


def reply_times(usage: Mapping[str, Any] | None) -> str:
    """How long the caller waited for the assistant's replies in one call: `0.7 s typical, 1.1 s
    at most (3 replies)`; empty when the record holds none."""
    summary = summarise(stored_waits(usage))
    if summary is None:
        return ""
    return f"{summary.median_s:.1f} s typical, {reply_spread(summary)}"


class Pages:
    """The templates, with the filters every page uses."""

    def __init__(self, *, idle_seconds: int) -> None:
        self.idle_seconds = idle_seconds
        self.env = Environment(
            loader=FileSystemLoader(TEMPLATES),
            autoescape=True,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters.update(
            text=text,
            local=local_time,
            hm=hm,
            long_day=long_day,
            duration=duration,
            tel=tel,
            usage=usage,
            reply_spread=reply_spread,
            reply_times=reply_times,
        )
        # Templates compare statuses with the store's enum, never with a bare string.
        self.env.globals.update(AppointmentStatus=AppointmentStatus, Attendance=Attendance)

    def render(
        self, request: Request, template: str, *, status: int = 200, **context: Any
    ) -> HTMLResponse:
        staff = getattr(request.state, "staff", None)
        base: dict[str, Any] = {
            "staff": staff,
            "csrf": staff.csrf_token if staff is not None else "",
            "idle_seconds": self.idle_seconds,
            "path": request.url.path,
            "nav": "",
            "notice": NOTICES.get(request.query_params.get("notice", "")),
            "error": None,
        }
        base.update(context)
        html = self.env.get_template(template).render(**base)
        return HTMLResponse(html, status_code=status)
