"""Request and response shapes of appeals and complaints (never table models)."""

from __future__ import annotations

from typing import Any

from msgspec import UNSET, Struct, UnsetType


class AppealCreate(Struct):
    reason: str
    positions: list[int] = []  # the items appealed (1-based); none: the result as a whole


class AppealAssign(Struct):
    reviewer: str  # username


class ItemCorrection(Struct):
    position: int
    action: str  # rekey | void
    answer: Any | UnsetType = UNSET  # the new key (rekey)


class AppealDecision(Struct):
    upheld: bool
    reason: str
    remedy: str | None = None  # key_correction | regrade | resit (upheld only)
    corrections: list[ItemCorrection] = []  # key_correction: what to correct


class AppealItemPublic(Struct):
    position: int
    item_version_id: int


class AppealPublic(Struct):
    id: int
    attempt_id: int
    session_id: int
    username: str
    scope: str  # result | items
    items: list[AppealItemPublic]
    reason: str
    state: str  # diajukan | diperiksa | diterima | ditolak
    state_text: str
    submitted_at: str
    appeal_deadline: str
    review_due_at: str
    review_due_text: str
    overdue: bool  # still open past review_due_at
    reviewer: str | None
    decided_at: str | None
    remedy: str | None
    remedy_text: str | None
    decision_reason: str | None
    effects: dict[str, Any]


class ComplaintCreate(Struct):
    name: str
    contact: str  # e-mail or telephone number
    description: str
    subject: str = "credential"  # credential | body
    credential_number: str | None = None


class ComplaintReceipt(Struct):
    reference: str
    state: str
    state_text: str
    submitted_at: str
    review_due_at: str
    message: str


class ComplaintStatus(Struct):
    """What anyone holding the reference sees (no personal data)."""

    reference: str
    state: str
    state_text: str
    submitted_at: str
    decided_at: str | None
    decision_reason: str | None


class ComplaintPublic(Struct):
    """What the certification body sees."""

    id: int
    reference: str
    subject: str
    credential_number: str | None
    name: str
    contact: str
    description: str
    state: str
    state_text: str
    submitted_at: str
    review_due_at: str
    overdue: bool
    handler: str | None
    decided_at: str | None
    decided_by: str | None
    decision_reason: str | None
    credential_action: str | None
    credential_status: str | None


class ComplaintDecision(Struct):
    upheld: bool
    reason: str
    action: str = "none"  # none | suspend | revoke (the credential complained about)
