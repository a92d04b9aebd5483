"""accounts, audit log and exam banks

Revision ID: 0001
Revises:
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import apkd.dbtypes

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "app_user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("password_hash", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("full_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("nip", sqlmodel.sql.sqltypes.AutoString(length=18), nullable=True),
        sa.Column("instansi", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("jabatan", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("region_code", sqlmodel.sql.sqltypes.AutoString(length=4), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", apkd.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_app_user")),
        sa.UniqueConstraint("nip", name=op.f("uq_app_user_nip")),
    )
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_app_user_role"), ["role"], unique=False)
        batch_op.create_index(batch_op.f("ix_app_user_username"), ["username"], unique=True)

    op.create_table(
        "login_throttle",
        sa.Column("username", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("window_start", apkd.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("username", name=op.f("pk_login_throttle")),
    )

    op.create_table(
        "audit_event",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("at", apkd.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("subject_type", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("subject_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("prev_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_event")),
    )
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_event_action"), ["action"], unique=False)

    op.create_table(
        "scheme",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("version", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("position", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("validity_months", sa.Integer(), nullable=False),
        sa.Column("pass_score", sa.Float(), nullable=False),
        sa.Column("content_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("updated_at", apkd.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scheme")),
    )
    with op.batch_alter_table("scheme", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_scheme_code"), ["code"], unique=True)

    op.create_table(
        "scheme_unit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scheme_id", sa.Integer(), nullable=False),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("items_per_form", sa.Integer(), nullable=False),
        sa.Column("min_score", sa.Float(), nullable=True),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["scheme_id"], ["scheme.id"], name=op.f("fk_scheme_unit_scheme_id_scheme")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scheme_unit")),
        sa.UniqueConstraint("scheme_id", "code", name=op.f("uq_scheme_unit_scheme_id_code")),
    )
    with op.batch_alter_table("scheme_unit", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_scheme_unit_scheme_id"), ["scheme_id"], unique=False)

    op.create_table(
        "item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scheme_id", sa.Integer(), nullable=False),
        sa.Column("external_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("retired_at", apkd.dbtypes.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["scheme_id"], ["scheme.id"], name=op.f("fk_item_scheme_id_scheme")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_item")),
        sa.UniqueConstraint("scheme_id", "external_id", name=op.f("uq_item_scheme_id_external_id")),
    )
    with op.batch_alter_table("item", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_item_scheme_id"), ["scheme_id"], unique=False)

    op.create_table(
        "item_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("unit_code", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("type", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("stem", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("answer", sa.JSON(), nullable=False),
        sa.Column("tolerance", sa.Float(), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("reference", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("created_at", apkd.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["item.id"], name=op.f("fk_item_version_item_id_item")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_item_version")),
        sa.UniqueConstraint("item_id", "version", name=op.f("uq_item_version_item_id_version")),
    )
    with op.batch_alter_table("item_version", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_item_version_item_id"), ["item_id"], unique=False)


def downgrade() -> None:
    op.drop_table("item_version")
    op.drop_table("item")
    op.drop_table("scheme_unit")
    op.drop_table("scheme")
    op.drop_table("audit_event")
    op.drop_table("login_throttle")
    op.drop_table("app_user")
