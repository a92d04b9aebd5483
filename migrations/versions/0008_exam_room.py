"""exam room: released logins, arrival at the door, seat numbers

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import apkd.dbtypes

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "attempt_release",
        sa.Column("attempt_id", sa.Integer(), nullable=False),
        sa.Column("sid", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("released_at", apkd.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["attempt_id"], ["attempt.id"], name=op.f("fk_attempt_release_attempt_id_attempt")
        ),
        sa.PrimaryKeyConstraint("attempt_id", "sid", name=op.f("pk_attempt_release")),
    )
    with op.batch_alter_table("registration", schema=None) as batch_op:
        batch_op.add_column(sa.Column("arrived_at", apkd.dbtypes.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("seat", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("registration", schema=None) as batch_op:
        batch_op.drop_column("seat")
        batch_op.drop_column("arrived_at")
    op.drop_table("attempt_release")
