"""Text messages: the patient's confirmation of a visit (`appointments.confirmed_at`, a C answered
by text), the outbound queue (idempotency key, claim, provider id, delivery status), each patient
number's state (opted out, consent, invalid or landline) and the texts patients sent.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from receptionist.store.models import TEXT_STATUSES, UTCDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("appointments") as batch:
        batch.add_column(sa.Column("confirmed_at", UTCDateTime(), nullable=True))
    op.create_table(
        "texts",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("practice_id", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("to_number", sa.String(20), nullable=False),
        sa.Column("from_number", sa.String(20), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("segments", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(10), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("lease_until", UTCDateTime(), nullable=True),
        sa.Column("provider_message_id", sa.String(64), nullable=True),
        sa.Column("error", sa.String(60), nullable=False),
        sa.Column("patient_id", sa.String(36), nullable=True),
        sa.Column("appointment_id", sa.String(36), nullable=True),
        sa.Column("inbound_id", sa.String(36), nullable=True),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(f"status IN {TEXT_STATUSES!r}", name=op.f("ck_texts_status")),
        sa.UniqueConstraint("provider", "provider_message_id", name="uq_texts_provider_message"),
    )
    op.create_index("ix_texts_due", "texts", ["status", "next_attempt_at"])
    op.create_index("ix_texts_number", "texts", ["practice_id", "to_number", "created_at"])
    op.create_table(
        "text_numbers",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("practice_id", sa.String(40), nullable=False),
        sa.Column("number", sa.String(20), nullable=False),
        sa.Column("opted_out_at", UTCDateTime(), nullable=True),
        sa.Column("consent_at", UTCDateTime(), nullable=True),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("state_error", sa.String(60), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("practice_id", "number", name="uq_text_numbers_number"),
    )
    op.create_table(
        "inbound_texts",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("practice_id", sa.String(40), nullable=False),
        sa.Column("provider", sa.String(10), nullable=False),
        sa.Column("provider_message_id", sa.String(64), nullable=False),
        sa.Column("from_number", sa.String(20), nullable=False),
        sa.Column("to_number", sa.String(20), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("appointment_id", sa.String(36), nullable=True),
        sa.Column("handled_at", UTCDateTime(), nullable=True),
        sa.Column("message_id", sa.String(36), nullable=True),
        sa.UniqueConstraint("provider", "provider_message_id", name="uq_inbound_texts_provider"),
    )
    op.create_index(
        "ix_inbound_texts_number", "inbound_texts", ["practice_id", "from_number", "received_at"]
    )


def downgrade() -> None:
    op.drop_table("inbound_texts")
    op.drop_table("text_numbers")
    op.drop_table("texts")
    with op.batch_alter_table("appointments") as batch:
        batch.drop_column("confirmed_at")
