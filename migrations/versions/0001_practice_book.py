"""The practice's book: patients, appointments, messages, calls; no overlapping appointments.

The no-overlap rule is enforced by the database so it holds for every writer:
- PostgreSQL: an exclusion constraint over (provider_id, tstzrange(starts_at, ends_at)) for booked
  rows, using btree_gist (a trusted extension: the database owner may create it).
- SQLite: BEFORE INSERT/UPDATE triggers that abort when a booked row of the same provider overlaps.
  Writers run `BEGIN IMMEDIATE` (see store/engine.py), so the check and the write are atomic.

Constraint names are final (`op.f`): the models' naming convention applies to `op.create_table`
too, and would otherwise turn `ck_messages_urgency` into `ck_messages_ck_messages_urgency`.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from receptionist.store.models import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

OVERLAP_MESSAGE = "appointment_overlap"  # matched by store.errors to raise SlotTaken

_SQLITE_CHECK = f"""
    SELECT RAISE(ABORT, '{OVERLAP_MESSAGE}')
    WHERE NEW.status = 'booked' AND EXISTS (
        SELECT 1 FROM appointments AS a
        WHERE a.provider_id = NEW.provider_id AND a.status = 'booked' AND a.id <> NEW.id
          AND a.starts_at < NEW.ends_at AND NEW.starts_at < a.ends_at
    );
"""


def upgrade() -> None:
    op.create_table(
        "patients",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("practice_id", sa.String(40), nullable=False),
        sa.Column("full_name", sa.String(120), nullable=False),
        sa.Column("name_key", sa.String(120), nullable=False),
        sa.Column("date_of_birth", sa.Date(), nullable=False),
        sa.Column("phone", sa.String(20), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint(
            "practice_id", "name_key", "date_of_birth", name="uq_patients_identity"
        ),
    )
    op.create_index("ix_patients_practice_id", "patients", ["practice_id"])

    op.create_table(
        "appointments",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("practice_id", sa.String(40), nullable=False),
        sa.Column("provider_id", sa.String(40), nullable=False),
        sa.Column("patient_id", sa.String(36), sa.ForeignKey("patients.id"), nullable=False),
        sa.Column("visit_type", sa.String(40), nullable=False),
        sa.Column("starts_at", UTCDateTime(), nullable=False),
        sa.Column("ends_at", UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("call_id", sa.String(64), nullable=False),
        sa.Column("replaces_id", sa.String(36), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("cancelled_at", UTCDateTime(), nullable=True),
        sa.CheckConstraint("ends_at > starts_at", name=op.f("ck_appointments_ends_after_start")),
        sa.CheckConstraint(
            "status IN ('booked', 'cancelled', 'rescheduled')",
            name=op.f("ck_appointments_status"),
        ),
    )
    op.create_index("ix_appointments_patient_id", "appointments", ["patient_id"])
    op.create_index("ix_appointments_provider_start", "appointments", ["provider_id", "starts_at"])
    op.create_index("ix_appointments_practice_start", "appointments", ["practice_id", "starts_at"])

    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
        op.execute(
            "ALTER TABLE appointments ADD CONSTRAINT appointments_no_overlap EXCLUDE USING gist "
            "(provider_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&) "
            "WHERE (status = 'booked')"
        )
    elif dialect == "sqlite":
        op.execute(
            "CREATE TRIGGER appointments_no_overlap_insert BEFORE INSERT ON appointments "
            f"BEGIN {_SQLITE_CHECK} END"
        )
        op.execute(
            "CREATE TRIGGER appointments_no_overlap_update "
            "BEFORE UPDATE OF provider_id, starts_at, ends_at, status ON appointments "
            f"BEGIN {_SQLITE_CHECK} END"
        )
    else:
        raise RuntimeError(f"unsupported database {dialect!r}: use SQLite or PostgreSQL")

    op.create_table(
        "messages",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("practice_id", sa.String(40), nullable=False),
        sa.Column("caller_name", sa.String(120), nullable=False),
        sa.Column("callback_number", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("urgency", sa.String(10), nullable=False),
        sa.Column("patient_id", sa.String(36), nullable=True),
        sa.Column("call_id", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("handled_at", UTCDateTime(), nullable=True),
        sa.CheckConstraint(
            "urgency IN ('routine', 'soon', 'urgent')", name=op.f("ck_messages_urgency")
        ),
    )
    op.create_index("ix_messages_practice_id", "messages", ["practice_id"])

    op.create_table(
        "calls",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("practice_id", sa.String(40), nullable=False),
        sa.Column("caller", sa.String(20), nullable=False),
        sa.Column("dialled", sa.String(20), nullable=False),
        sa.Column("livekit_call_id", sa.String(64), nullable=False),
        sa.Column("sip_call_id", sa.String(256), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("duration_seconds", sa.Float(), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("outcomes", sa.JSON(), nullable=False),
        sa.Column("usage", sa.JSON(), nullable=True),
        sa.Column("transcript", sa.JSON(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_calls_practice_id", "calls", ["practice_id"])
    op.create_index("ix_calls_started_at", "calls", ["started_at"])


def downgrade() -> None:
    op.drop_table("calls")
    op.drop_table("messages")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS appointments_no_overlap_insert")
        op.execute("DROP TRIGGER IF EXISTS appointments_no_overlap_update")
    op.drop_table("appointments")
    op.drop_table("patients")
