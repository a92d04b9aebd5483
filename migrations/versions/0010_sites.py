"""exam sites without internet: site_package (centre), site_load (site)

Revision ID: 0010
Revises: 0011
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import apkd.dbtypes

revision: str = "0010"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_str = sqlmodel.sql.sqltypes.AutoString
_dt = apkd.dbtypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "site_package",
        sa.Column("id", _str(length=32), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("digest", _str(length=64), nullable=False),
        sa.Column("site_kid", _str(length=64), nullable=False),
        sa.Column("site_public_jwk", sa.JSON(), nullable=False),
        sa.Column("created_at", _dt(timezone=True), nullable=False),
        sa.Column("expires_at", _dt(timezone=True), nullable=False),
        sa.Column("created_by", _str(length=64), nullable=True),
        sa.Column("results_digest", _str(length=64), nullable=True),
        sa.Column("results_file", sa.LargeBinary(), nullable=True),
        sa.Column("ingested_at", _dt(timezone=True), nullable=True),
        sa.Column("ingested_via", _str(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["session_id"], ["exam_session.id"], name=op.f("fk_site_package_session_id_exam_session")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_site_package")),
    )
    with op.batch_alter_table("site_package", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_site_package_session_id"), ["session_id"], unique=False)
    op.create_table(
        "site_load",
        sa.Column("package_id", _str(length=32), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("digest", _str(length=64), nullable=False),
        sa.Column("issuer_kid", _str(length=64), nullable=False),
        sa.Column("package_file", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", _dt(timezone=True), nullable=False),
        sa.Column("expires_at", _dt(timezone=True), nullable=False),
        sa.Column("loaded_at", _dt(timezone=True), nullable=False),
        sa.Column("load_offset_seconds", sa.Integer(), nullable=False),
        sa.Column("failed_unlocks", sa.Integer(), nullable=False),
        sa.Column("unlocked_at", _dt(timezone=True), nullable=True),
        sa.Column("unlock_offset_seconds", sa.Integer(), nullable=True),
        sa.Column("site_kid", _str(length=64), nullable=False),
        sa.Column("site_key_enc", sa.LargeBinary(), nullable=True),
        sa.Column("sealed_at", _dt(timezone=True), nullable=True),
        sa.Column("results_digest", _str(length=64), nullable=True),
        sa.Column("pushed_at", _dt(timezone=True), nullable=True),
        sa.Column("push_error", _str(), nullable=True),
        sa.ForeignKeyConstraint(
            ["session_id"], ["exam_session.id"], name=op.f("fk_site_load_session_id_exam_session")
        ),
        sa.PrimaryKeyConstraint("package_id", name=op.f("pk_site_load")),
    )
    with op.batch_alter_table("site_load", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_site_load_session_id"), ["session_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("site_load", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_site_load_session_id"))
    op.drop_table("site_load")
    with op.batch_alter_table("site_package", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_site_package_session_id"))
    op.drop_table("site_package")
