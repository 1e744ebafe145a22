"""The patients a call concerns: appointments and messages by the call id, and the call's own list.

A call's page is audited with every patient it shows data of: the patients of the visits the call
booked or moved (`appointments.call_id`), of the messages it took (`messages.call_id`), and every
patient the caller proved to be (`calls.patient_ids`, written with the record: a call that only
checked who the caller was, or cancelled a visit another call booked, is linked to nobody
otherwise, though its transcript holds their name and date of birth). Without the indexes each
view of a call read every appointment and message in the book. Records written before this
revision have no list (NULL): the book's links are all there is for them.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_appointments_call_id", "appointments", ["call_id"])
    op.create_index("ix_messages_call_id", "messages", ["call_id"])
    op.add_column("calls", sa.Column("patient_ids", sa.JSON(), nullable=True))


def downgrade() -> None:
    # Plain ALTER TABLE on both (SQLite >= 3.35), as in 0003.
    op.execute("ALTER TABLE calls DROP COLUMN patient_ids")
    op.drop_index("ix_messages_call_id", table_name="messages")
    op.drop_index("ix_appointments_call_id", table_name="appointments")
