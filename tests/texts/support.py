"""What the text tests share: the practice with texts on, a clock they move, a text to queue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from receptionist.domain.practice import Practice, PracticeDirectory
from tests.support.profiles import practice

PRACTICE_NUMBER = "+14145550100"
PATIENT = "+14145550123"
# Monday 1 March 2027, 10:00 in Chicago (16:00 UTC): inside every rule's hours.
T0 = datetime(2027, 3, 1, 16, 0, tzinfo=UTC)


def texting(provider: str = "twilio", **texts: Any) -> Practice:
    return practice(texts={"enabled": True, "provider": provider, **texts})


def directory(provider: str = "twilio", **texts: Any) -> PracticeDirectory:
    return PracticeDirectory([texting(provider, **texts)])


@dataclass
class Clock:
    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def a_text(provider: str = "twilio", number: str = PATIENT, **values: Any) -> dict[str, Any]:
    return {
        "practice_id": "lakeside",
        "kind": "booked",
        "to_number": number,
        "from_number": PRACTICE_NUMBER,
        "body": "Lakeside Test Dental: you're booked Tue, March 2 at 9 AM with Dr. Able.",
        "provider": provider,
        **values,
    }
