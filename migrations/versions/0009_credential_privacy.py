"""credentials reveal no NIP: the holder's stable subject id; the NIP salt goes

Revision ID: 0009
Revises: 0006
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import apkd.dbtypes

revision: str = "0009"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "credential_holder",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("subject_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", apkd.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["app_user.id"], name=op.f("fk_credential_holder_user_id_app_user")
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_credential_holder")),
        sa.UniqueConstraint("subject_id", name=op.f("uq_credential_holder_subject_id")),
    )
    with op.batch_alter_table("credential", schema=None) as batch_op:
        batch_op.drop_column("nip_salt")


def downgrade() -> None:
    with op.batch_alter_table("credential", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "nip_salt",
                sqlmodel.sql.sqltypes.AutoString(length=64),
                nullable=False,
                server_default="",
            )
        )
    op.drop_table("credential_holder")
