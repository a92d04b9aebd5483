"""a scheme's current version can be retired: scheme.retired_at, scheme.retired_reason

Revision ID: 0017
Revises: 0019
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import apkd.dbtypes

revision: str = "0017"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("scheme", schema=None) as batch_op:
        batch_op.add_column(sa.Column("retired_at", apkd.dbtypes.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("retired_reason", sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("scheme", schema=None) as batch_op:
        batch_op.drop_column("retired_reason")
        batch_op.drop_column("retired_at")
