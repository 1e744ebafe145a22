"""Call recoveries: one row per call a watcher picked up after its agent was lost.

The unique (room_sid, lost_agent) pair is how several `receptionist watch` processes agree that
exactly one of them dispatches the agent again (see receptionist/ops/claims.py).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from receptionist.store.models import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "call_recoveries",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("room_sid", sa.String(64), nullable=False),
        sa.Column("lost_agent", sa.String(128), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="1"),
        sa.Column("claimed_by", sa.String(64), nullable=False),
        sa.Column("claimed_at", UTCDateTime(), nullable=False),
        sa.Column("dispatch_id", sa.String(64), nullable=False, server_default=""),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("room_sid", "lost_agent", name="uq_call_recoveries_incident"),
    )


def downgrade() -> None:
    op.drop_table("call_recoveries")
