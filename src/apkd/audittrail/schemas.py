"""Response shapes of the audit trail (msgspec Structs)."""

from __future__ import annotations

from typing import Any

from msgspec import Struct


class AuditEventPublic(Struct):
    seq: int
    at: str
    actor: str | None
    action: str
    subject_type: str
    subject_id: str
    details: Any  # the event's details as recorded (JSON)
    hash: str


class AuditPage(Struct):
    total: int
    page: int
    per_page: int
    items: list[AuditEventPublic]
    actions: list[str]  # every action recorded, for the filter


class ChainCheck(Struct):
    ok: bool
    checked: int
    broken_at: int | None
    reason: str | None
    message: str  # in Indonesian
    head_seq: int | None
    head_hash: str | None
