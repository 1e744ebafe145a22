"""The practice's book: SQLAlchemy models, queries, outbox and migrations (no LiveKit here)."""

from receptionist.store.errors import NotFound, SlotTaken, StoreError, StoreUnavailable
from receptionist.store.models import Appointment, CallRecord, Message, Patient
from receptionist.store.outbox import Outbox
from receptionist.store.repo import Busy, Store, name_key
from receptionist.store.schema import SchemaError, check_schema, upgrade

__all__ = [
    "Appointment",
    "Busy",
    "CallRecord",
    "Message",
    "NotFound",
    "Outbox",
    "Patient",
    "SchemaError",
    "SlotTaken",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "check_schema",
    "name_key",
    "upgrade",
]
