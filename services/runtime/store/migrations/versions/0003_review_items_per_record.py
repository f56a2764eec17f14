"""Review items per record, with their history, and re-driven as a status of its own.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-10

A sink raises one item per (link, record): ``entity_key`` (until now only inside the
payload) becomes a column with an index, so the sink finds the item to update or reopen
without reading the queue. ``history`` keeps who re-drove, resolved or dismissed an item
and when, and each time it came back. ``redriven`` closes an item that was put back
through its flow; it reopens when the flow fails again. Existing items get their
``entity_key`` from their payload and an empty history.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Spelled out here, as in 0001: a migration keeps meaning what it meant when it shipped.
_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
_STATUSES_BEFORE = "status IN ('open', 'resolved', 'dismissed')"
_STATUSES = "status IN ('open', 'resolved', 'dismissed', 'redriven')"
_CHECK = "ck_review_queue_status"
_INDEX = "ix_review_queue_link_id_entity_key"


def upgrade() -> None:
    with op.batch_alter_table("review_queue") as batch:
        batch.add_column(sa.Column("entity_key", sa.String(length=256), nullable=True))
        batch.add_column(
            sa.Column("history", _JSON, nullable=False, server_default=sa.text("'[]'"))
        )
        batch.drop_constraint(op.f(_CHECK), type_="check")
        batch.create_check_constraint(op.f(_CHECK), sa.text(_STATUSES))
        batch.create_index(op.f(_INDEX), ["link_id", "entity_key"], unique=False)
    items = sa.table(
        "review_queue",
        sa.column("id", sa.Integer()),
        sa.column("payload", _JSON),
        sa.column("entity_key", sa.String()),
    )
    bind = op.get_bind()
    for item_id, payload in bind.execute(sa.select(items.c.id, items.c.payload)).all():
        key = payload.get("entity_key") if isinstance(payload, dict) else None
        if key is not None:
            bind.execute(
                items.update().where(items.c.id == item_id).values(entity_key=str(key)[:256])
            )


def downgrade() -> None:
    # The older schema has no "redriven": such an item was closed, as "resolved" is.
    op.execute("UPDATE review_queue SET status = 'resolved' WHERE status = 'redriven'")
    with op.batch_alter_table("review_queue") as batch:
        batch.drop_index(op.f(_INDEX))
        batch.drop_constraint(op.f(_CHECK), type_="check")
        batch.create_check_constraint(op.f(_CHECK), sa.text(_STATUSES_BEFORE))
        batch.drop_column("history")
        batch.drop_column("entity_key")
