"""Name keys fit their columns: a key longer than `NAME_LENGTH` is bounded as `name_key` now does.

A name can grow under NFKD past the 120 characters of `patients.name_key` and
`identity_failures.name_key` (one Arabic ligature becomes 18 characters). PostgreSQL refused such
keys, so it holds none; SQLite does not enforce a varchar's length and may have stored them.
Those rows get the bounded key `name_key` computes today, so the patient is still found by name
and date of birth (and not registered a second time), and the failures still count for the name.
No schema change; the downgrade leaves the (shorter, still valid) keys as they are.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from receptionist.store.appointments import bounded_key
from receptionist.store.models import NAME_LENGTH

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    for table in ("patients", "identity_failures"):
        rows = bind.execute(
            sa.text(f"SELECT id, name_key FROM {table} WHERE length(name_key) > :limit"),
            {"limit": NAME_LENGTH},
        ).all()
        for row_id, key in rows:
            bind.execute(
                sa.text(f"UPDATE {table} SET name_key = :key WHERE id = :id"),
                {"key": bounded_key(key), "id": row_id},
            )


def downgrade() -> None:
    pass
