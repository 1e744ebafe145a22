"""Bound appointment length to 8 hours, so the SQLite overlap check is an index range scan.

With a maximum length, any appointment that overlaps a new one starts at most 8 hours before it,
so the trigger only looks at the provider's rows in [start - 8h, end) instead of every earlier row
(a year of history made each booking scan thousands of rows). PostgreSQL's exclusion constraint
is already indexed (GiST); it gets the same length check for consistency.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

MAX_HOURS = 8

# Times are stored as fixed-width UTC text ('YYYY-MM-DD HH:MM:SS.ffffff'); datetime() yields the
# same prefix without the fraction, which sorts at or before any time in that second, so the
# lower bound never excludes an overlapping row.
_CHECK = f"""
    SELECT RAISE(ABORT, 'appointment_too_long: at most {MAX_HOURS} hours')
    WHERE (julianday(NEW.ends_at) - julianday(NEW.starts_at)) * 86400 > {MAX_HOURS * 3600} + 0.5;
    SELECT RAISE(ABORT, 'appointment_overlap')
    WHERE NEW.status = 'booked' AND EXISTS (
        SELECT 1 FROM appointments AS a
        WHERE a.provider_id = NEW.provider_id
          AND a.starts_at >= datetime(NEW.starts_at, '-{MAX_HOURS} hours')
          AND a.starts_at < NEW.ends_at AND NEW.starts_at < a.ends_at
          AND a.status = 'booked' AND a.id <> NEW.id
    );
"""

_OLD_CHECK = """
    SELECT RAISE(ABORT, 'appointment_overlap')
    WHERE NEW.status = 'booked' AND EXISTS (
        SELECT 1 FROM appointments AS a
        WHERE a.provider_id = NEW.provider_id AND a.status = 'booked' AND a.id <> NEW.id
          AND a.starts_at < NEW.ends_at AND NEW.starts_at < a.ends_at
    );
"""


def _sqlite_triggers(body: str) -> None:
    op.execute("DROP TRIGGER IF EXISTS appointments_no_overlap_insert")
    op.execute("DROP TRIGGER IF EXISTS appointments_no_overlap_update")
    op.execute(
        "CREATE TRIGGER appointments_no_overlap_insert BEFORE INSERT ON appointments "
        f"BEGIN {body} END"
    )
    op.execute(
        "CREATE TRIGGER appointments_no_overlap_update "
        "BEFORE UPDATE OF provider_id, starts_at, ends_at, status ON appointments "
        f"BEGIN {body} END"
    )


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_triggers(_CHECK)
    else:
        op.execute(
            "ALTER TABLE appointments ADD CONSTRAINT ck_appointments_max_length "
            f"CHECK (ends_at <= starts_at + interval '{MAX_HOURS} hours')"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_triggers(_OLD_CHECK)
    else:
        op.execute("ALTER TABLE appointments DROP CONSTRAINT ck_appointments_max_length")
