"""NexHealth Synchronizer API: client.py (token, envelope, paging, 429), mirror.py (available
slots as open times), book.py (NexHealthBook: asynchronous writes confirmed by the PMS)."""

from receptionist.pms.nexhealth.client import (
    Forbidden,
    NexHealthClient,
    NexHealthError,
    RateLimited,
    Refused,
    Row,
    ServerError,
    Timeout,
    Unauthorized,
    Unreachable,
)

__all__ = [
    "Forbidden",
    "NexHealthClient",
    "NexHealthError",
    "RateLimited",
    "Refused",
    "Row",
    "ServerError",
    "Timeout",
    "Unauthorized",
    "Unreachable",
]
