"""Link replays: a person's request, its parts per service and topic, a dry run's plan.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05

``mlc replay --link`` re-drives one link's canonical events from a point of the log
through its sinks, or previews what they would do (``--dry-run``). The request is a
``replays`` row; each service that writes the link's flow runs its ``replay_parts`` (one
per topic, over offsets fixed when it was asked) and keeps its progress there, so a
replay killed halfway is taken over and run again; a dry run's rows go to ``replay_plan``.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Spelled out here, as in 0001: a migration keeps meaning what it meant when it shipped.
_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
_SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "replays",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("link_id", sa.String(length=64), nullable=False),
        sa.Column("requested_by", sa.String(length=256), nullable=False),
        sa.Column("since", sa.String(length=128), nullable=False),
        sa.Column("until", sa.String(length=128), nullable=True),
        sa.Column("entity", sa.String(length=256), nullable=True),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("finished_at", _utc(), nullable=True),
        sa.CheckConstraint(
            "state IN ('running', 'finished', 'failed')", name=op.f("ck_replays_state")
        ),
        sa.ForeignKeyConstraint(
            ["link_id"], ["links.id"], name=op.f("fk_replays_link_id_links"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_replays")),
    )
    op.create_index(
        op.f("ix_replays_link_id_created_at"), "replays", ["link_id", "created_at"], unique=False
    )
    op.create_table(
        "replay_parts",
        sa.Column("replay_id", sa.String(length=64), nullable=False),
        sa.Column("service", sa.String(length=64), nullable=False),
        sa.Column("topic", sa.String(length=249), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("start_offsets", _JSON, nullable=False),
        sa.Column("end_offsets", _JSON, nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("holder", sa.String(length=256), nullable=True),
        sa.Column("held_until", _utc(), nullable=True),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("counts", _JSON, nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("updated_at", _utc(), nullable=False),
        sa.CheckConstraint(
            "state IN ('waiting', 'running', 'finished', 'failed')",
            name=op.f("ck_replay_parts_state"),
        ),
        sa.ForeignKeyConstraint(
            ["replay_id"],
            ["replays.id"],
            name=op.f("fk_replay_parts_replay_id_replays"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("replay_id", "service", "topic", name=op.f("pk_replay_parts")),
    )
    op.create_index(
        op.f("ix_replay_parts_service_state"), "replay_parts", ["service", "state"], unique=False
    )
    op.create_table(
        "replay_plan",
        sa.Column("id", _SERIAL, autoincrement=True, nullable=False),
        sa.Column("replay_id", sa.String(length=64), nullable=False),
        sa.Column("service", sa.String(length=64), nullable=False),
        sa.Column("topic", sa.String(length=249), nullable=False),
        sa.Column("entity_key", sa.String(length=256), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("operation", sa.String(length=256), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("target_ids", _JSON, nullable=False),
        sa.ForeignKeyConstraint(
            ["replay_id"],
            ["replays.id"],
            name=op.f("fk_replay_plan_replay_id_replays"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_replay_plan")),
        sa.UniqueConstraint(
            "replay_id",
            "service",
            "topic",
            "entity_key",
            name=op.f("uq_replay_plan_replay_id_service_topic_entity_key"),
        ),
    )
    op.create_index(
        op.f("ix_replay_plan_replay_id_id"), "replay_plan", ["replay_id", "id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_replay_plan_replay_id_id"), table_name="replay_plan")
    op.drop_table("replay_plan")
    op.drop_index(op.f("ix_replay_parts_service_state"), table_name="replay_parts")
    op.drop_table("replay_parts")
    op.drop_index(op.f("ix_replays_link_id_created_at"), table_name="replays")
    op.drop_table("replays")
