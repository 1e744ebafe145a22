"""Indexes for the staff app's pages (measured by bench/web.py with a year of the book).

- `calls(livekit_call_id)`: appointments and messages carry the LiveKit call id; following "the
  assistant, on a call" (the appointment page, `/calls/from/<id>`) read the whole call log.
- `calls(practice_id, started_at)` replaces `calls(practice_id)`: the call log (newest first, a page
  at a time) and the week's calls are one range of it. With only `practice_id` SQLite read every
  call of the practice and sorted them all to show fifty.
- `messages(practice_id, handled_at, created_at)` replaces `messages(practice_id)`: the open queue
  and its live count (polled by every open Messages screen) read only the open messages; the
  handled list is read newest-handled first straight from the index.
- `appointments(practice_id, created_at)`: "bookings made this week" reads this week's bookings,
  not every appointment from this week to half a year ahead.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_calls_livekit_call_id", "calls", ["livekit_call_id"])
    op.create_index("ix_calls_practice_start", "calls", ["practice_id", "started_at"])
    op.drop_index("ix_calls_practice_id", table_name="calls")
    op.create_index(
        "ix_messages_practice_handled", "messages", ["practice_id", "handled_at", "created_at"]
    )
    op.drop_index("ix_messages_practice_id", table_name="messages")
    op.create_index(
        "ix_appointments_practice_created", "appointments", ["practice_id", "created_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_appointments_practice_created", table_name="appointments")
    op.create_index("ix_messages_practice_id", "messages", ["practice_id"])
    op.drop_index("ix_messages_practice_handled", table_name="messages")
    op.create_index("ix_calls_practice_id", "calls", ["practice_id"])
    op.drop_index("ix_calls_practice_start", table_name="calls")
    op.drop_index("ix_calls_livekit_call_id", table_name="calls")
