"""exam sessions, registrations, attempts, responses, proctoring

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import apkd.dbtypes

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "exam_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scheme_id", sa.Integer(), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("venue", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("timezone", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("starts_at", apkd.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", apkd.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", apkd.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("results_published_at", apkd.dbtypes.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"], ["app_user.id"], name=op.f("fk_exam_session_created_by_app_user")
        ),
        sa.ForeignKeyConstraint(["scheme_id"], ["scheme.id"], name=op.f("fk_exam_session_scheme_id_scheme")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exam_session")),
    )
    with op.batch_alter_table("exam_session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_exam_session_scheme_id"), ["scheme_id"], unique=False)

    op.create_table(
        "session_proctor",
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"], ["exam_session.id"], name=op.f("fk_session_proctor_session_id_exam_session")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["app_user.id"], name=op.f("fk_session_proctor_user_id_app_user")
        ),
        sa.PrimaryKeyConstraint("session_id", "user_id", name=op.f("pk_session_proctor")),
    )
    with op.batch_alter_table("session_proctor", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_session_proctor_user_id"), ["user_id"], unique=False)

    op.create_table(
        "registration",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("registered_at", apkd.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("admitted_at", apkd.dbtypes.UTCDateTime(timezone=True), nullable=True),
        sa.Column("admitted_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["admitted_by"], ["app_user.id"], name=op.f("fk_registration_admitted_by_app_user")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"], ["exam_session.id"], name=op.f("fk_registration_session_id_exam_session")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"], name=op.f("fk_registration_user_id_app_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registration")),
        sa.UniqueConstraint("session_id", "user_id", name=op.f("uq_registration_session_id_user_id")),
    )
    with op.batch_alter_table("registration", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_registration_session_id"), ["session_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_registration_user_id"), ["user_id"], unique=False)

    op.create_table(
        "attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("registration_id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("form", sa.JSON(), nullable=False),
        sa.Column("started_at", apkd.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("duration_seconds", sa.Integer(), nullable=False),
        sa.Column("extension_seconds", sa.Integer(), nullable=False),
        sa.Column("paused_seconds", sa.Integer(), nullable=False),
        sa.Column("paused_at", apkd.dbtypes.UTCDateTime(timezone=True), nullable=True),
        sa.Column("deadline", apkd.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", apkd.dbtypes.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_at", apkd.dbtypes.UTCDateTime(timezone=True), nullable=True),
        sa.Column("close_reason", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("bound_sid", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("last_saved_at", apkd.dbtypes.UTCDateTime(timezone=True), nullable=True),
        sa.Column("current_position", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["registration_id"], ["registration.id"], name=op.f("fk_attempt_registration_id_registration")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"], ["exam_session.id"], name=op.f("fk_attempt_session_id_exam_session")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"], name=op.f("fk_attempt_user_id_app_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attempt")),
        sa.UniqueConstraint("registration_id", name=op.f("uq_attempt_registration_id")),
    )
    with op.batch_alter_table("attempt", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_attempt_session_id"), ["session_id"], unique=False)
        batch_op.create_index("ix_attempt_status_deadline", ["status", "deadline"], unique=False)
        batch_op.create_index(batch_op.f("ix_attempt_user_id"), ["user_id"], unique=False)

    op.create_table(
        "response",
        sa.Column("attempt_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("response", sa.JSON(), nullable=True),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("flagged", sa.Boolean(), nullable=False),
        sa.Column("saved_at", apkd.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["attempt_id"], ["attempt.id"], name=op.f("fk_response_attempt_id_attempt")),
        sa.PrimaryKeyConstraint("attempt_id", "position", name=op.f("pk_response")),
    )

    op.create_table(
        "response_history",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("attempt_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("response", sa.JSON(), nullable=True),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("sid", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("saved_at", apkd.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["attempt_id"], ["attempt.id"], name=op.f("fk_response_history_attempt_id_attempt")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_response_history")),
    )
    with op.batch_alter_table("response_history", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_response_history_attempt_id"), ["attempt_id"], unique=False)

    op.create_table(
        "incident",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("attempt_id", sa.Integer(), nullable=True),
        sa.Column("category", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("item_position", sa.Integer(), nullable=True),
        sa.Column("reported_by", sa.Integer(), nullable=False),
        sa.Column("created_at", apkd.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["attempt_id"], ["attempt.id"], name=op.f("fk_incident_attempt_id_attempt")),
        sa.ForeignKeyConstraint(
            ["reported_by"], ["app_user.id"], name=op.f("fk_incident_reported_by_app_user")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"], ["exam_session.id"], name=op.f("fk_incident_session_id_exam_session")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident")),
    )
    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_incident_session_id"), ["session_id"], unique=False)

    op.create_table(
        "proctor_action",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("attempt_id", sa.Integer(), nullable=True),
        sa.Column("registration_id", sa.Integer(), nullable=True),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("minutes", sa.Integer(), nullable=True),
        sa.Column("item_position", sa.Integer(), nullable=True),
        sa.Column("actor_id", sa.Integer(), nullable=False),
        sa.Column("created_at", apkd.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["app_user.id"], name=op.f("fk_proctor_action_actor_id_app_user")
        ),
        sa.ForeignKeyConstraint(
            ["attempt_id"], ["attempt.id"], name=op.f("fk_proctor_action_attempt_id_attempt")
        ),
        sa.ForeignKeyConstraint(
            ["registration_id"],
            ["registration.id"],
            name=op.f("fk_proctor_action_registration_id_registration"),
        ),
        sa.ForeignKeyConstraint(
            ["session_id"], ["exam_session.id"], name=op.f("fk_proctor_action_session_id_exam_session")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proctor_action")),
    )
    with op.batch_alter_table("proctor_action", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_proctor_action_session_id"), ["session_id"], unique=False)


def downgrade() -> None:
    op.drop_table("proctor_action")
    op.drop_table("incident")
    op.drop_table("response_history")
    op.drop_table("response")
    op.drop_table("attempt")
    op.drop_table("registration")
    op.drop_table("session_proctor")
    op.drop_table("exam_session")
