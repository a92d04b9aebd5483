"""exam sites report their state to the centre: report columns on site_package and site_load

Revision ID: 0015
Revises: 0010
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import apkd.dbtypes

revision: str = "0015"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_str = sqlmodel.sql.sqltypes.AutoString
_dt = apkd.dbtypes.UTCDateTime


def upgrade() -> None:
    with op.batch_alter_table("site_package", schema=None) as batch_op:
        batch_op.add_column(sa.Column("report_kid", _str(length=64), nullable=True))
        batch_op.add_column(sa.Column("report_public_jwk", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("site_state", _str(length=16), nullable=True))
        batch_op.add_column(sa.Column("site_loaded_at", _dt(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("site_unlocked_at", _dt(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("site_sealed_at", _dt(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("report_seq", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("last_report_at", _dt(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("clock_offset_seconds", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("site_counts", sa.JSON(), nullable=True))
    with op.batch_alter_table("site_load", schema=None) as batch_op:
        batch_op.add_column(sa.Column("report_seq", sa.BigInteger(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("reported_state", _str(length=16), nullable=True))
        batch_op.add_column(sa.Column("reported_at", _dt(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("report_error", _str(), nullable=True))
        batch_op.add_column(sa.Column("centre_offset_seconds", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("site_load", schema=None) as batch_op:
        for name in ("centre_offset_seconds", "report_error", "reported_at", "reported_state", "report_seq"):
            batch_op.drop_column(name)
    with op.batch_alter_table("site_package", schema=None) as batch_op:
        for name in (
            "site_counts", "clock_offset_seconds", "last_report_at", "report_seq", "site_sealed_at",
            "site_unlocked_at", "site_loaded_at", "site_state", "report_public_jwk", "report_kid",
        ):  # fmt: skip
            batch_op.drop_column(name)
