"""Reminder calls: one reminder per appointment (status, attempts, claim, confirmation), every
call placed for it, and the patients who asked not to be called.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from receptionist.store.models import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reminders",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("practice_id", sa.String(40), nullable=False),
        sa.Column("appointment_id", sa.String(36), nullable=False),
        sa.Column("patient_id", sa.String(36), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("lease_until", UTCDateTime(), nullable=True),
        sa.Column("last_attempt_at", UTCDateTime(), nullable=True),
        sa.Column("dispatch_id", sa.String(64), nullable=False),
        sa.Column("reason", sa.String(120), nullable=False),
        sa.Column("confirmed_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("appointment_id", name=op.f("uq_reminders_appointment_id")),
    )
    op.create_index("ix_reminders_patient_id", "reminders", ["patient_id"])
    op.create_index("ix_reminders_due", "reminders", ["practice_id", "status", "next_attempt_at"])
    op.create_table(
        "reminder_attempts",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("reminder_id", sa.String(36), nullable=False),
        sa.Column("practice_id", sa.String(40), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("dispatch_id", sa.String(64), nullable=False),
        sa.Column("call_id", sa.String(64), nullable=False),
        sa.Column("sip_status", sa.Integer(), nullable=True),
        sa.Column("line", sa.String(16), nullable=False),
        sa.Column("answered_by", sa.String(10), nullable=False),
        sa.Column("choice", sa.String(16), nullable=False),
        sa.UniqueConstraint("reminder_id", "attempt", name="uq_reminder_attempts_try"),
    )
    op.create_index("ix_reminder_attempts_reminder_id", "reminder_attempts", ["reminder_id"])
    op.create_index("ix_reminder_attempts_started_at", "reminder_attempts", ["started_at"])
    op.create_table(
        "reminder_opt_outs",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("practice_id", sa.String(40), nullable=False),
        sa.Column("patient_id", sa.String(36), nullable=False),
        sa.Column("source", sa.String(10), nullable=False),
        sa.Column("call_id", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("practice_id", "patient_id", name="uq_reminder_opt_outs_patient"),
    )


def downgrade() -> None:
    op.drop_table("reminder_opt_outs")
    op.drop_table("reminder_attempts")
    op.drop_table("reminders")
