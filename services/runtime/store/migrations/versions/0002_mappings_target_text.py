"""Mappings hold a sink's own records, not only short codes: target_value becomes text.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04

A sink keeps what it last made true in a mapping (flow 2's applied contact, flow 3's
applied employee): names, an email and codes, which can pass 512 characters. PostgreSQL
enforced the old length; SQLite never did, so no row there changes.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("mappings") as batch:
        batch.alter_column(
            "target_value",
            existing_type=sa.String(length=512),
            type_=sa.Text(),
            existing_nullable=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("mappings") as batch:
        batch.alter_column(
            "target_value",
            existing_type=sa.Text(),
            type_=sa.String(length=512),
            existing_nullable=False,
        )
