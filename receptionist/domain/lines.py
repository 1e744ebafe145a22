"""How a line the practice dialled answered: the outcome of an outgoing phone leg.

One vocabulary for every call the agent places (a reminder call to a patient, a warm transfer's
call to the staff). Its values are what a reminder attempt's row keeps (`line`), so the domain
owns it; reading it off LiveKit's answer (a SIP status, a Twirp code) is the call side's job
(receptionist/call/sip.py).
"""

from __future__ import annotations

from enum import StrEnum


class Line(StrEnum):
    """How the line answered an attempt (what the SIP call did)."""

    ANSWERED = "answered"
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    FAILED = "failed"
    NOT_DIALLED = "not_dialled"  # the book said, just before dialling, not to call
