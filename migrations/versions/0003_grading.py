"""results and key corrections

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import apkd.dbtypes

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "result",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("attempt_id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("units", sa.JSON(), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("graded_at", apkd.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["attempt_id"], ["attempt.id"], name=op.f("fk_result_attempt_id_attempt")),
        sa.ForeignKeyConstraint(
            ["session_id"], ["exam_session.id"], name=op.f("fk_result_session_id_exam_session")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"], name=op.f("fk_result_user_id_app_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_result")),
        sa.UniqueConstraint("attempt_id", name=op.f("uq_result_attempt_id")),
    )
    with op.batch_alter_table("result", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_result_session_id"), ["session_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_result_user_id"), ["user_id"], unique=False)

    op.create_table(
        "key_correction",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_version_id", sa.Integer(), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("answer", sa.JSON(), nullable=True),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=False),
        sa.Column("created_at", apkd.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["app_user.id"], name=op.f("fk_key_correction_actor_id_app_user")
        ),
        sa.ForeignKeyConstraint(
            ["item_version_id"],
            ["item_version.id"],
            name=op.f("fk_key_correction_item_version_id_item_version"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_key_correction")),
    )
    with op.batch_alter_table("key_correction", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_key_correction_item_version_id"), ["item_version_id"], unique=False
        )

    op.create_table(
        "result_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("result_id", sa.Integer(), nullable=False),
        sa.Column("correction_id", sa.Integer(), nullable=True),
        sa.Column("old_score", sa.Float(), nullable=False),
        sa.Column("new_score", sa.Float(), nullable=False),
        sa.Column("old_outcome", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("new_outcome", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("created_at", apkd.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["correction_id"],
            ["key_correction.id"],
            name=op.f("fk_result_change_correction_id_key_correction"),
        ),
        sa.ForeignKeyConstraint(["result_id"], ["result.id"], name=op.f("fk_result_change_result_id_result")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_result_change")),
    )
    with op.batch_alter_table("result_change", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_result_change_result_id"), ["result_id"], unique=False)


def downgrade() -> None:
    op.drop_table("result_change")
    op.drop_table("key_correction")
    op.drop_table("result")
