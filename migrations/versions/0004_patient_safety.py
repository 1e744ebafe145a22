"""Patient-level safety: a patient's own visits never overlap, failed identity checks are kept
across calls, and messages have a kind (a callback request, or a security notice for the staff).

- Patient overlap, enforced by the database like the per-provider rule: a PostgreSQL exclusion
  constraint over (patient_id, time range) for booked rows; SQLite triggers that abort with
  `patient_overlap` (bounded to 8 hours back, like migration 0002, so it is an index range scan).
- `identity_failures`: one row per failed name-and-date-of-birth check (the name's match key and
  the caller's number), so guesses spread over many calls meet the practice's lock-out.
- `messages.kind`: `callback` (what callers leave) or `security` (lock-outs, for the staff).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from receptionist.store.models import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

MAX_HOURS = 8  # appointments last at most this long (migration 0002)

_SQLITE_PATIENT_CHECK = f"""
    SELECT RAISE(ABORT, 'patient_overlap')
    WHERE NEW.status = 'booked' AND EXISTS (
        SELECT 1 FROM appointments AS a
        WHERE a.patient_id = NEW.patient_id
          AND a.starts_at >= datetime(NEW.starts_at, '-{MAX_HOURS} hours')
          AND a.starts_at < NEW.ends_at AND NEW.starts_at < a.ends_at
          AND a.status = 'booked' AND a.id <> NEW.id
    );
"""


def upgrade() -> None:
    op.create_index("ix_appointments_patient_start", "appointments", ["patient_id", "starts_at"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE appointments ADD CONSTRAINT appointments_patient_no_overlap "
            "EXCLUDE USING gist (patient_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&) "
            "WHERE (status = 'booked')"
        )
    else:
        op.execute(
            "CREATE TRIGGER appointments_patient_no_overlap_insert BEFORE INSERT ON appointments "
            f"BEGIN {_SQLITE_PATIENT_CHECK} END"
        )
        op.execute(
            "CREATE TRIGGER appointments_patient_no_overlap_update "
            "BEFORE UPDATE OF patient_id, starts_at, ends_at, status ON appointments "
            f"BEGIN {_SQLITE_PATIENT_CHECK} END"
        )

    op.create_table(
        "identity_failures",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("practice_id", sa.String(40), nullable=False),
        sa.Column("name_key", sa.String(120), nullable=False),
        sa.Column("caller", sa.String(20), nullable=False),
        sa.Column("call_id", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index(
        "ix_identity_failures_name", "identity_failures", ["practice_id", "name_key", "created_at"]
    )
    op.create_index(
        "ix_identity_failures_caller", "identity_failures", ["practice_id", "caller", "created_at"]
    )

    op.add_column(
        "messages",
        sa.Column("kind", sa.String(10), nullable=False, server_default="callback"),
    )


def downgrade() -> None:
    op.execute("ALTER TABLE messages DROP COLUMN kind")
    op.drop_index("ix_identity_failures_caller", table_name="identity_failures")
    op.drop_index("ix_identity_failures_name", table_name="identity_failures")
    op.drop_table("identity_failures")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE appointments DROP CONSTRAINT appointments_patient_no_overlap")
    else:
        op.execute("DROP TRIGGER IF EXISTS appointments_patient_no_overlap_insert")
        op.execute("DROP TRIGGER IF EXISTS appointments_patient_no_overlap_update")
    op.drop_index("ix_appointments_patient_start", table_name="appointments")
