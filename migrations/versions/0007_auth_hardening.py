"""logins that can be ended, atomic login throttling

- app_user.token_version (carried by access tokens; bumped to end all of a user's tokens)
  and app_user.last_login_addr (the right password from there skips the per-user slowdown);
- auth_login: one row per login (sid) with its current refresh token, hashed;
- login_throttle re-made: one row per key (username, bucket of unknown usernames, client
  address), times in epoch milliseconds so the counting UPSERT is the same SQL on SQLite and
  PostgreSQL. Its rows are short-lived counters: they are not carried over.

Revision ID: 0007
Revises: 0005
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import apkd.dbtypes

revision: str = "0007"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("token_version", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(
            sa.Column("last_login_addr", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.alter_column("token_version", server_default=None)

    op.drop_table("login_throttle")
    op.create_table(
        "login_throttle",
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_ms", sa.BigInteger(), nullable=False),
        sa.Column("next_ms", sa.BigInteger(), nullable=False),
        sa.Column("grant_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_login_throttle")),
    )
    with op.batch_alter_table("login_throttle", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_login_throttle_last_ms"), ["last_ms"], unique=False)

    op.create_table(
        "auth_login",
        sa.Column("sid", sqlmodel.sql.sqltypes.AutoString(length=43), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", apkd.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("refresh_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("refreshed_at", apkd.dbtypes.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ended_at", apkd.dbtypes.UTCDateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"], name=op.f("fk_auth_login_user_id_app_user")),
        sa.PrimaryKeyConstraint("sid", name=op.f("pk_auth_login")),
    )
    with op.batch_alter_table("auth_login", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_auth_login_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_auth_login_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("auth_login", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_auth_login_user_id"))
        batch_op.drop_index(batch_op.f("ix_auth_login_created_at"))
    op.drop_table("auth_login")
    op.drop_table("login_throttle")
    op.create_table(
        "login_throttle",
        sa.Column("username", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("window_start", apkd.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("username", name=op.f("pk_login_throttle")),
    )
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.drop_column("last_login_addr")
        batch_op.drop_column("token_version")
