"""Initial state store tables.

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-23

The tables of ARCHITECTURE.md's "State that is not an event"; see tables.py
for what each column means.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Spelled out here rather than imported from tables.py: a migration must keep
# meaning what it meant when it shipped, whatever tables.py becomes later.
_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
_SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", _SERIAL, autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=256), nullable=False),
        sa.Column("action", sa.String(length=128), nullable=False),
        sa.Column("subject", sa.String(length=256), nullable=False),
        sa.Column("detail", _JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(op.f("ix_audit_log_subject_id"), "audit_log", ["subject", "id"], unique=False)

    op.create_table(
        "connections",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("vendor", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=128), nullable=False),
        sa.Column("display_name", sa.String(length=256), nullable=False),
        sa.Column("settings", _JSON, nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_connections")),
    )
    op.create_index(op.f("ix_connections_vendor"), "connections", ["vendor"], unique=False)

    op.create_table(
        "idempotency_ledger",
        sa.Column("id", _SERIAL, autoincrement=True, nullable=False),
        sa.Column("service", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=512), nullable=False),
        sa.Column("outcome", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_ledger")),
        sa.UniqueConstraint("service", "key", name=op.f("uq_idempotency_ledger_service_key")),
    )
    op.create_index(
        op.f("ix_idempotency_ledger_created_at"), "idempotency_ledger", ["created_at"], unique=False
    )

    op.create_table(
        "leases",
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("holder", sa.String(length=256), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_leases")),
    )
    op.create_table(
        "connection_credentials",
        sa.Column("connection_id", sa.String(length=64), nullable=False),
        sa.Column("field", sa.String(length=64), nullable=False),
        sa.Column("token", sa.Text(), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["connections.id"],
            name=op.f("fk_connection_credentials_connection_id_connections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("connection_id", "field", name=op.f("pk_connection_credentials")),
    )
    op.create_table(
        "links",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("source_connection_id", sa.String(length=64), nullable=False),
        sa.Column("target_connection_id", sa.String(length=64), nullable=False),
        sa.Column("flow", sa.String(length=64), nullable=False),
        sa.Column("options", _JSON, nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_connection_id"],
            ["connections.id"],
            name=op.f("fk_links_source_connection_id_connections"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["target_connection_id"],
            ["connections.id"],
            name=op.f("fk_links_target_connection_id_connections"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_links")),
    )
    op.create_index(
        op.f("ix_links_source_connection_id"), "links", ["source_connection_id"], unique=False
    )
    op.create_index(
        op.f("ix_links_target_connection_id"), "links", ["target_connection_id"], unique=False
    )

    op.create_table(
        "watermarks",
        sa.Column("service", sa.String(length=64), nullable=False),
        sa.Column("connection_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["connections.id"],
            name=op.f("fk_watermarks_connection_id_connections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("service", "connection_id", "name", name=op.f("pk_watermarks")),
    )
    op.create_table(
        "cross_references",
        sa.Column("id", _SERIAL, autoincrement=True, nullable=False),
        sa.Column("link_id", sa.String(length=64), nullable=False),
        sa.Column("source_key", sa.String(length=256), nullable=False),
        sa.Column("target_kind", sa.String(length=64), nullable=False),
        sa.Column("target_id", sa.String(length=256), nullable=False),
        sa.Column("fingerprint", sa.String(length=128), nullable=True),
        sa.Column("source_version", sa.String(length=128), nullable=True),
        sa.Column("source_updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["link_id"],
            ["links.id"],
            name=op.f("fk_cross_references_link_id_links"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cross_references")),
        sa.UniqueConstraint(
            "link_id",
            "source_key",
            "target_kind",
            name=op.f("uq_cross_references_link_id_source_key_target_kind"),
        ),
    )
    op.create_index(
        op.f("ix_cross_references_link_id_target_kind_target_id"),
        "cross_references",
        ["link_id", "target_kind", "target_id"],
        unique=False,
    )

    op.create_table(
        "mappings",
        sa.Column("link_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("source_value", sa.String(length=512), nullable=False),
        sa.Column("target_value", sa.String(length=512), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["link_id"], ["links.id"], name=op.f("fk_mappings_link_id_links"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("link_id", "kind", "source_value", name=op.f("pk_mappings")),
    )
    op.create_table(
        "review_queue",
        sa.Column("id", _SERIAL, autoincrement=True, nullable=False),
        sa.Column("service", sa.String(length=64), nullable=False),
        sa.Column("link_id", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("payload", _JSON, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('open', 'resolved', 'dismissed')", name=op.f("ck_review_queue_status")
        ),
        sa.ForeignKeyConstraint(
            ["link_id"],
            ["links.id"],
            name=op.f("fk_review_queue_link_id_links"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_queue")),
    )
    op.create_index(
        op.f("ix_review_queue_status_id"), "review_queue", ["status", "id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_review_queue_status_id"))

    op.drop_table("review_queue")
    op.drop_table("mappings")
    op.drop_index(op.f("ix_cross_references_link_id_target_kind_target_id"))

    op.drop_table("cross_references")
    op.drop_table("watermarks")
    op.drop_index(op.f("ix_links_target_connection_id"))
    op.drop_index(op.f("ix_links_source_connection_id"))

    op.drop_table("links")
    op.drop_table("connection_credentials")
    op.drop_table("leases")
    op.drop_index(op.f("ix_idempotency_ledger_created_at"))

    op.drop_table("idempotency_ledger")
    op.drop_index(op.f("ix_connections_vendor"))

    op.drop_table("connections")
    op.drop_index(op.f("ix_audit_log_subject_id"))

    op.drop_table("audit_log")
