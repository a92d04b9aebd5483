"""signing keys, credentials, status lists

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import apkd.dbtypes

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "signing_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kid", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("purpose", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("public_jwk", sa.JSON(), nullable=False),
        sa.Column("private_key_enc", sa.LargeBinary(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("created_at", apkd.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("retired_at", apkd.dbtypes.UTCDateTime(timezone=True), nullable=True),
        sa.Column("compromised_at", apkd.dbtypes.UTCDateTime(timezone=True), nullable=True),
        sa.Column("compromise_reason", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signing_key")),
        sa.UniqueConstraint("kid", name=op.f("uq_signing_key_kid")),
    )
    with op.batch_alter_table("signing_key", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_signing_key_purpose"), ["purpose"], unique=False)

    op.create_table(
        "credential_serial",
        sa.Column("scheme_code", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("next_serial", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("scheme_code", "year", name=op.f("pk_credential_serial")),
    )

    op.create_table(
        "status_list",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("purpose", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("bits", sa.LargeBinary(), nullable=False),
        sa.Column("allocated", sa.LargeBinary(), nullable=False),
        sa.Column("allocated_count", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", apkd.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_list")),
    )

    op.create_table(
        "credential",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("uuid", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("scheme_code", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("scheme_version", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("region_code", sqlmodel.sql.sqltypes.AutoString(length=4), nullable=False),
        sa.Column("serial", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("attempt_id", sa.Integer(), nullable=True),
        sa.Column("result_id", sa.Integer(), nullable=True),
        sa.Column("renews_id", sa.Integer(), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("holder_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("nip_masked", sqlmodel.sql.sqltypes.AutoString(length=18), nullable=False),
        sa.Column("nip_salt", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("instansi", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("valid_from", apkd.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("valid_until", apkd.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("issued_at", apkd.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("kid", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("vc_jwt", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("vc_sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("qr_text", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("revocation_list_id", sa.Integer(), nullable=False),
        sa.Column("revocation_index", sa.Integer(), nullable=False),
        sa.Column("suspension_list_id", sa.Integer(), nullable=False),
        sa.Column("suspension_index", sa.Integer(), nullable=False),
        sa.Column("revoked_at", apkd.dbtypes.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revocation_reason", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("suspended_at", apkd.dbtypes.UTCDateTime(timezone=True), nullable=True),
        sa.Column("suspension_reason", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.ForeignKeyConstraint(
            ["attempt_id"], ["attempt.id"], name=op.f("fk_credential_attempt_id_attempt")
        ),
        sa.ForeignKeyConstraint(
            ["renews_id"], ["credential.id"], name=op.f("fk_credential_renews_id_credential")
        ),
        sa.ForeignKeyConstraint(["result_id"], ["result.id"], name=op.f("fk_credential_result_id_result")),
        sa.ForeignKeyConstraint(
            ["revocation_list_id"],
            ["status_list.id"],
            name=op.f("fk_credential_revocation_list_id_status_list"),
        ),
        sa.ForeignKeyConstraint(
            ["suspension_list_id"],
            ["status_list.id"],
            name=op.f("fk_credential_suspension_list_id_status_list"),
        ),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"], name=op.f("fk_credential_user_id_app_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credential")),
        sa.UniqueConstraint("attempt_id", name=op.f("uq_credential_attempt_id")),
        sa.UniqueConstraint(
            "scheme_code", "year", "serial", name=op.f("uq_credential_scheme_code_year_serial")
        ),
        sa.UniqueConstraint("uuid", name=op.f("uq_credential_uuid")),
    )
    if op.get_bind().dialect.name == "postgresql":
        # A vc+jwt is base64url text (~4 KB) that hardly compresses: store it out of line
        # without pglz, which otherwise dominates the cost of issuing thousands at once.
        op.execute("ALTER TABLE credential ALTER COLUMN vc_jwt SET STORAGE EXTERNAL")
    with op.batch_alter_table("credential", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_credential_kid"), ["kid"], unique=False)
        batch_op.create_index(batch_op.f("ix_credential_number"), ["number"], unique=True)
        batch_op.create_index(batch_op.f("ix_credential_user_id"), ["user_id"], unique=False)

    op.create_table(
        "credential_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("credential_id", sa.Integer(), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("created_at", apkd.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["app_user.id"], name=op.f("fk_credential_event_actor_id_app_user")
        ),
        sa.ForeignKeyConstraint(
            ["credential_id"], ["credential.id"], name=op.f("fk_credential_event_credential_id_credential")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credential_event")),
    )
    with op.batch_alter_table("credential_event", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_credential_event_credential_id"), ["credential_id"], unique=False
        )


def downgrade() -> None:
    op.drop_table("credential_event")
    op.drop_table("credential")
    op.drop_table("status_list")
    op.drop_table("credential_serial")
    op.drop_table("signing_key")
