"""Appointments and messages by the LiveKit call id that made them.

A call's page is audited with every patient it shows data of: the patients of the visits the call
booked or moved (`appointments.call_id`) and of the messages it took (`messages.call_id`). Without
these indexes each view of a call read every appointment and message in the book.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_appointments_call_id", "appointments", ["call_id"])
    op.create_index("ix_messages_call_id", "messages", ["call_id"])


def downgrade() -> None:
    op.drop_index("ix_messages_call_id", table_name="messages")
    op.drop_index("ix_appointments_call_id", table_name="appointments")
