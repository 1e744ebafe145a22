"""The front desk's side of a visit: a cancellation's reason and who cancelled, the visit that
undid it, and whether the patient arrived or did not come (issue 23).

Plain nullable columns on `appointments`: the visit's status is unchanged by attendance (an
arrived or no-show visit is still `booked`, still holding its time), so the no-overlap rule
(PostgreSQL's exclusion constraint, SQLite's triggers) and every query on status stay as they are.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from receptionist.store.models import UTCDateTime

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

COLUMNS = (
    ("cancel_reason", sa.String(200)),
    ("cancelled_by", sa.String(36)),
    ("undone_as", sa.String(36)),
    ("attendance", sa.String(10)),
    ("attendance_at", UTCDateTime()),
    ("attendance_by", sa.String(36)),
)


def upgrade() -> None:
    for name, kind in COLUMNS:
        op.add_column("appointments", sa.Column(name, kind, nullable=True))


def downgrade() -> None:
    # Plain ALTER TABLE on both (SQLite >= 3.35): a batch rebuild would drop the table's overlap
    # triggers and the rows' references.
    for name, _ in reversed(COLUMNS):
        op.execute(f"ALTER TABLE appointments DROP COLUMN {name}")
