"""When to try a failed notification again, and when to stop.

Backoff doubles from 10 s to at most 15 min: a mail server restarting is retried within seconds, one
down for hours is not hammered. Retries stop a day after the message was left: by then the staff
app has shown it for hours and a late page would only confuse whoever is on call.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class RetryPolicy:
    first: timedelta = timedelta(seconds=10)
    longest: timedelta = timedelta(minutes=15)
    max_age: timedelta = timedelta(hours=24)
    max_attempts: int = 120  # about a day of retries at the longest backoff

    def backoff(self, attempts: int) -> timedelta:
        """The wait after the `attempts`-th failed attempt (1 -> 10 s, 2 -> 20 s, ...)."""
        doublings = min(max(attempts - 1, 0), 32)  # 2**32 * 10 s is far past any cap
        return min(self.first * 2**doublings, self.longest)

    def retry_at(self, *, attempts: int, created_at: datetime, now: datetime) -> datetime | None:
        """When to try again after a failure at `now`, or None to give up."""
        at = now + self.backoff(attempts)
        if attempts >= self.max_attempts or at - created_at > self.max_age:
            return None
        return at


RETRY = RetryPolicy()
