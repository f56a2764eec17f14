"""The read model (per-link outcome figures, dead letters, an index of the log), and the
console's sign-in sessions.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05

The console, ``mlc status`` and ``mlc audit`` read these rather than scanning topics from
the beginning: one consumer (``services/control/projection.py``) folds the log into them
and keeps the position it has read to in ``projection_positions``, in the same transaction.
The console (``services/control/console``) keeps who is signed in in ``console_sessions``.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Spelled out here, as in 0001: a migration keeps meaning what it meant when it shipped.
_SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "projection_positions",
        sa.Column("topic", sa.String(length=249), nullable=False),
        sa.Column("partition", sa.Integer(), nullable=False),
        sa.Column("next_offset", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("topic", "partition", name=op.f("pk_projection_positions")),
    )
    op.create_table(
        "projection_link_hours",
        sa.Column("link_id", sa.String(length=64), nullable=False),
        sa.Column("hour", _utc(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("link_id", "hour", "status", name=op.f("pk_projection_link_hours")),
    )
    op.create_table(
        "projection_link_totals",
        sa.Column("link_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("link_id", "status", name=op.f("pk_projection_link_totals")),
    )
    op.create_table(
        "projection_link_latest",
        sa.Column("link_id", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", _utc(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("service", sa.String(length=64), nullable=False),
        sa.Column("operation", sa.String(length=256), nullable=False),
        sa.Column("entity_key", sa.String(length=256), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("link_id", name=op.f("pk_projection_link_latest")),
    )
    op.create_table(
        "projection_dead_letters",
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("topic", sa.String(length=249), nullable=False),
        sa.Column("partition", sa.Integer(), nullable=False),
        sa.Column("offset", sa.BigInteger(), nullable=False),
        sa.Column("service", sa.String(length=64), nullable=False),
        sa.Column("connection_id", sa.String(length=64), nullable=True),
        sa.Column("entity_key", sa.String(length=256), nullable=True),
        sa.Column("correlation_id", sa.String(length=64), nullable=True),
        sa.Column("original_topic", sa.String(length=249), nullable=False),
        sa.Column("original_event_id", sa.String(length=64), nullable=True),
        sa.Column("error_type", sa.String(length=256), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("recorded_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_projection_dead_letters")),
    )
    op.create_index(
        op.f("ix_projection_dead_letters_recorded_at"),
        "projection_dead_letters",
        ["recorded_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_projection_dead_letters_connection_id"),
        "projection_dead_letters",
        ["connection_id"],
        unique=False,
    )
    op.create_table(
        "projection_event_index",
        sa.Column("id", _SERIAL, autoincrement=True, nullable=False),
        sa.Column("ref", sa.String(length=512), nullable=False),
        sa.Column("topic", sa.String(length=249), nullable=False),
        sa.Column("partition", sa.Integer(), nullable=False),
        sa.Column("offset", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_projection_event_index")),
    )
    op.create_index(
        op.f("ix_projection_event_index_ref"), "projection_event_index", ["ref"], unique=False
    )


    op.create_table(
        "console_sessions",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("expires_at", _utc(), nullable=False),
        sa.Column("ended_at", _utc(), nullable=True),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_console_sessions")),
    )
    op.create_index(
        op.f("ix_console_sessions_expires_at"), "console_sessions", ["expires_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_console_sessions_expires_at"), table_name="console_sessions")
    op.drop_table("console_sessions")
    op.drop_index(op.f("ix_projection_event_index_ref"), table_name="projection_event_index")
    op.drop_table("projection_event_index")
    op.drop_index(
        op.f("ix_projection_dead_letters_connection_id"), table_name="projection_dead_letters"
    )
    op.drop_index(
        op.f("ix_projection_dead_letters_recorded_at"), table_name="projection_dead_letters"
    )
    op.drop_table("projection_dead_letters")
    op.drop_table("projection_link_latest")
    op.drop_table("projection_link_totals")
    op.drop_table("projection_link_hours")
    op.drop_table("projection_positions")
