"""The language of a call and of a patient: what the call was held in, and what to call them in.

`calls.language` is the language the caller chose (or the practice's default); `patients.language`
is the one a patient last spoke with us (or staff set), used for their reminder calls. Both are
language codes of practice.toml's `languages` ("en", "es"); "" on rows written before: the
practice's default language.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.add_column(sa.Column("language", sa.String(16), nullable=False, server_default=""))
    with op.batch_alter_table("patients") as batch:
        batch.add_column(sa.Column("language", sa.String(16), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("patients") as batch:
        batch.drop_column("language")
    with op.batch_alter_table("calls") as batch:
        batch.drop_column("language")
