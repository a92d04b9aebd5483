"""Log events and their leaves: which events may enter the public, permanent log, and the
exact bytes of a leaf. Pure: no database.

Only the keys in ALLOWED_KEYS are accepted, all string-valued, with patterns that refuse
anything that looks like personal data (a NIK or a NIP), so no name or number of a person can
enter the log.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from apkd.db import utcnow

__all__ = [
    "ALLOWED_KEYS",
    "EVENT_TYPES",
    "LogEventType",
    "canonical_bytes",
    "decode_leaf",
    "is_number",
    "validate_event",
    "validate_events",
]


class LogEventType(StrEnum):
    ISSUED = "issued"
    REVOKED = "revoked"
    SUSPENDED = "suspended"
    REINSTATED = "reinstated"
    KEY_ROTATED = "key_rotated"
    KEY_COMPROMISED = "key_compromised"


ALLOWED_KEYS = frozenset({"type", "number", "vc_sha256", "time", "kid", "reason_code"})
EVENT_TYPES = frozenset(t.value for t in LogEventType)

_NUMBER_RE = re.compile(r"[A-Z0-9][A-Z0-9-]{0,63}")
_SHA256_RE = re.compile(r"[0-9a-f]{64}")
_KID_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
_REASON_RE = re.compile(r"[a-z0-9_]{1,64}")
_LONG_DIGITS = re.compile(r"\d{16,}")  # a NIK (16 digits) or a NIP (18 digits)


# json.dumps with these arguments builds a new encoder per call; one, made once, gives the
# same bytes.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_bytes(event: Mapping[str, Any]) -> bytes:
    """The leaf bytes of an event: JSON with sorted keys, no spaces, UTF-8."""
    return _CANONICAL.encode(dict(event)).encode("utf-8")


_FIELD_PATTERNS = (
    ("number", _NUMBER_RE),
    ("vc_sha256", _SHA256_RE),
    ("kid", _KID_RE),
    ("reason_code", _REASON_RE),
)
_NO_LONG_DIGITS = ("number", "kid", "reason_code")


def validate_event(event: Mapping[str, Any]) -> dict[str, str]:
    """A checked copy of ``event``; ValueError when it is not a loggable event.

    Only the keys in ALLOWED_KEYS are accepted, all string-valued, so no personal data (a
    name, a NIP) can enter the public, permanent log. ``time`` defaults to now (UTC).
    """
    return _validate_event(event, set())


def validate_events(events: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """validate_event for each event of a batch; every check runs for every event, except
    that a ``time`` text already parsed for an earlier event of the batch is not parsed again
    (a batch usually shares one)."""
    seen_times: set[str] = set()
    return [_validate_event(e, seen_times) for e in events]


def _validate_event(event: Mapping[str, Any], seen_times: set[str]) -> dict[str, str]:
    if not isinstance(event, Mapping):
        raise ValueError("a log event must be a dict")
    if not ALLOWED_KEYS.issuperset(event):
        unknown = sorted(str(k) for k in event if k not in ALLOWED_KEYS)
        raise ValueError(f"log event has keys that are not allowed (personal data?): {unknown}")
    out: dict[str, str] = {}
    for key, value in event.items():
        if not isinstance(value, str):
            raise ValueError(f"log event field {key!r} must be a string")
        out[key] = value
    if out.get("type") not in EVENT_TYPES:
        raise ValueError(f"log event type must be one of {sorted(EVENT_TYPES)}")
    for key, pattern in _FIELD_PATTERNS:
        if key in out and not pattern.fullmatch(out[key]):
            raise ValueError(f"log event field {key!r} is malformed")
    for key in _NO_LONG_DIGITS:
        if key in out and _LONG_DIGITS.search(out[key]):
            raise ValueError(f"log event field {key!r} looks like a NIK/NIP; personal data is refused")
    stamp = out.get("time")
    if stamp is None:
        out["time"] = utcnow().isoformat().replace("+00:00", "Z")
    elif stamp not in seen_times:
        try:
            parsed = datetime.fromisoformat(stamp)
        except ValueError:
            raise ValueError("log event time must be ISO 8601") from None
        if parsed.tzinfo is None:
            raise ValueError("log event time must carry a UTC offset")
        seen_times.add(stamp)
    return out


def decode_leaf(leaf: bytes) -> dict[str, Any]:
    """The event of a leaf; a leaf that is not a JSON object (a damaged log) decodes to {}."""
    try:
        value = json.loads(leaf.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def is_number(text: str) -> bool:
    """Whether ``text`` has the shape of a credential number as logged."""
    return bool(_NUMBER_RE.fullmatch(text)) and not _LONG_DIGITS.search(text)
