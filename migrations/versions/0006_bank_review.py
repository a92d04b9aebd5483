"""bank review record, cognitive level and draw rules (issue 15)

Revision ID: 0006
Revises: 0008
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0006"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("scheme", schema=None) as batch_op:
        batch_op.add_column(sa.Column("draw_rules", sa.JSON(), nullable=False, server_default="{}"))
    with op.batch_alter_table("item_version", schema=None) as batch_op:
        batch_op.add_column(sa.Column("level", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True))
        batch_op.add_column(
            sa.Column(
                "review_status",
                sqlmodel.sql.sqltypes.AutoString(length=16),
                nullable=False,
                server_default="draft",
            )
        )
        batch_op.add_column(
            sa.Column("reviewer", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True)
        )
        batch_op.add_column(sa.Column("reviewed_at", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("item_version", schema=None) as batch_op:
        batch_op.drop_column("reviewed_at")
        batch_op.drop_column("reviewer")
        batch_op.drop_column("review_status")
        batch_op.drop_column("level")
    with op.batch_alter_table("scheme", schema=None) as batch_op:
        batch_op.drop_column("draw_rules")
