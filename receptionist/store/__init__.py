"""The practice's book: SQLAlchemy models, queries, outbox and migrations (no LiveKit here)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from receptionist.store.appointments import Busy, Standing, name_key
from receptionist.store.errors import (
    NotFound,
    PatientBusy,
    SlotTaken,
    StoreError,
    StoreUnavailable,
)
from receptionist.store.lockouts import FailureCounts, Lock
from receptionist.store.models import Appointment, CallRecord, Message, Patient
from receptionist.store.outbox import Outbox
from receptionist.store.repo import Store
from receptionist.store.schema import SchemaError, check_schema, upgrade

if TYPE_CHECKING:
    from receptionist.settings import Settings


def open_store(settings: Settings) -> Store:
    """The book the settings name, with its outbox: built once by each entry point."""
    return Store(settings.database_url, outbox=Outbox(settings.outbox_dir))


__all__ = [
    "Appointment",
    "Busy",
    "CallRecord",
    "Message",
    "FailureCounts",
    "Lock",
    "NotFound",
    "PatientBusy",
    "Outbox",
    "Patient",
    "SchemaError",
    "SlotTaken",
    "Standing",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "check_schema",
    "name_key",
    "open_store",
    "upgrade",
]
