"""The states of an appeal or a complaint (pure: stored as their Indonesian values, which are
also what the candidate and the public read)."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["OPEN_STATES", "CaseState", "ComplaintAction", "ComplaintSubject", "Remedy", "label"]


class CaseState(StrEnum):
    DIAJUKAN = "diajukan"  # lodged, waiting for a reviewer
    DIPERIKSA = "diperiksa"  # a reviewer is examining it
    DITERIMA = "diterima"  # upheld
    DITOLAK = "ditolak"  # rejected, with reasons


OPEN_STATES = (CaseState.DIAJUKAN, CaseState.DIPERIKSA)

_LABELS = {
    CaseState.DIAJUKAN: "Diajukan, menunggu pemeriksa",
    CaseState.DIPERIKSA: "Sedang diperiksa",
    CaseState.DITERIMA: "Diterima",
    CaseState.DITOLAK: "Ditolak",
}


def label(state: str) -> str:
    return _LABELS.get(CaseState(state), state)


class Remedy(StrEnum):
    """What an upheld appeal leads to."""

    KEY_CORRECTION = "key_correction"  # the named items' keys are corrected (regrade follows)
    REGRADE = "regrade"  # the result is graded again with the keys in force
    RESIT = "resit"  # a free re-sit, exempt from the waiting period and yearly limit


class ComplaintSubject(StrEnum):
    CREDENTIAL = "credential"
    BODY = "body"


class ComplaintAction(StrEnum):
    NONE = "none"
    SUSPEND = "suspend"
    REVOKE = "revoke"
