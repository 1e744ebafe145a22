"""Patients registered as new by phone carry a flag, so "new patient" is decided by the database.

A patient is new while flagged and not yet seen (no booked visit has started): a caller who
registered on an earlier call can still book the new patient exam. Existing rows (staff and demo
data) are existing patients.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "patients",
        sa.Column("new_patient", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    # Plain ALTER TABLE on both (SQLite >= 3.35): a batch rebuild would drop and recreate
    # `patients`, which appointments reference.
    op.execute("ALTER TABLE patients DROP COLUMN new_patient")
