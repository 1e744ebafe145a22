"""Notifications: telling the practice's people about urgent and security messages as they come.

Operator-side, like `ops/` and `web/`: no call imports it. The agent only writes notification rows
with each message (`receptionist.domain.messages.leave_message`); the sender here, run by the staff
app or `receptionist notify run`, sends them by email and webhook and records the outcome.

    content.py   what a notification says (no patient data unless the practice opts in)
    mail.py      SMTP with STARTTLS and a verified certificate
    webhook.py   signed JSON POST with an idempotency key
    config.py    whether each channel's settings can work, and the fix when not
    retry.py     backoff and when to give up
    sender.py    claim, send, record: `send_due` (one pass) and `run_sender` (until stopped)
"""

from __future__ import annotations

from receptionist.notify.config import channel_problems, problems_for, ready_channels
from receptionist.notify.retry import RETRY, RetryPolicy
from receptionist.notify.sender import Counts, deliver, flush_outbox, run_sender, send_due

__all__ = [
    "RETRY",
    "Counts",
    "RetryPolicy",
    "channel_problems",
    "deliver",
    "flush_outbox",
    "problems_for",
    "ready_channels",
    "run_sender",
    "send_due",
]
