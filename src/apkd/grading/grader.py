"""From an attempt's frozen form, its responses and the item keys to a result record.
Pure module (no database): the service feeds it rows read in bulk, the benchmark feeds it
the same data to time scoring alone.

An item is scored against its frozen item version's key after applying the latest key
correction of that version: ``rekey`` replaces the answer, ``void`` drops the item from
scoring for everyone. Items are keyed by their position in the form (``str(position)``).

A terminated attempt is scored like any other (the record shows what was answered) but its
outcome is always ``belum_kompeten``, with the reason.

Built for bulk: forms are decoded straight from JSON into small structs that the garbage
collector does not track (``gc=False``; they hold no cycles), and the per-item record of a
result is such a struct too. With 10,000 attempts of 50 items the collector would otherwise
rescan millions of live dicts again and again.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import msgspec

from apkd.exams.states import AttemptState
from apkd.grading.scoring import (
    AttemptScore,
    Outcome,
    ScoringItem,
    UnitRule,
    exact_number,
    score_attempt,
)

__all__ = [
    "CorrectionKey",
    "FormError",
    "FormItemRef",
    "FormUnitRef",
    "FrozenForm",
    "Graded",
    "InvalidKey",
    "ItemKey",
    "ItemTemplate",
    "ResultItem",
    "ScoringCache",
    "build_scoring",
    "decode_form",
    "decode_responses",
    "effective_key",
    "encode_json",
    "form_from",
    "grade_attempt",
    "terminated_reason",
    "validate_key",
]


# --- the frozen form (docs/interfaces.md), as much of it as grading reads ---------------------


class FormItemRef(msgspec.Struct, gc=False, frozen=True):
    position: int
    item_version_id: int
    unit: str


class FormUnitRef(msgspec.Struct, gc=False, frozen=True):
    code: str
    min_score: float | None = None


class FormScheme(msgspec.Struct, gc=False, frozen=True):
    pass_score: float
    units: tuple[FormUnitRef, ...]


class FrozenForm(msgspec.Struct, gc=False, frozen=True):
    scheme: FormScheme
    items: tuple[FormItemRef, ...]

    def item_version_ids(self) -> list[int]:
        return [i.item_version_id for i in self.items]


_FORM_DECODER = msgspec.json.Decoder(FrozenForm)
_ANY_DECODER = msgspec.json.Decoder()
_ENCODER = msgspec.json.Encoder()


def decode_form(raw: str | bytes) -> FrozenForm:
    """An attempt's form from its stored JSON text (unknown fields such as option_order are
    skipped). Raises FormError when it lacks what grading needs."""
    try:
        return _FORM_DECODER.decode(raw)
    except msgspec.ValidationError as exc:
        raise FormError(f"attempt form is malformed: {exc}") from exc


def form_from(value: Mapping[str, Any] | FrozenForm) -> FrozenForm:
    """A form given as a decoded JSON mapping (or already a FrozenForm)."""
    if isinstance(value, FrozenForm):
        return value
    try:
        return msgspec.convert(value, FrozenForm)
    except msgspec.ValidationError as exc:
        raise FormError(f"attempt form is malformed: {exc}") from exc


def decode_responses(raw: str | bytes | None) -> dict[str, object]:
    """``{position text: response}`` from the JSON text of an aggregated object."""
    if not raw:
        return {}
    value = _ANY_DECODER.decode(raw)
    return value if isinstance(value, dict) else {}


def encode_json(value: Any) -> str:
    return _ENCODER.encode(value).decode("utf-8")


class ResultItem(msgspec.Struct, gc=False, frozen=True, omit_defaults=True):
    """One item of a result record: what it was graded against and what it earned."""

    position: int
    item_version_id: int
    answer: Any  # the key used (after any correction)
    points: int
    earned: int
    voided: bool
    tolerance: float | None = None  # numeric items
    correction_id: int | None = None  # the key correction applied, if any


class FormError(ValueError):
    """An attempt's form cannot be scored (unknown item version, nothing left to score)."""


class InvalidKey(ValueError):
    """A corrected key that does not fit the item (message in Indonesian)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class ItemKey:
    """What scoring needs of one item version."""

    id: int
    type: str  # single | multiple | numeric
    answer: Any  # as stored: option id, list of option ids, or a number
    tolerance: float = 0.0
    points: int = 1
    option_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class CorrectionKey:
    """The latest key correction of an item version."""

    id: int
    action: str  # rekey | void
    answer: Any = None


@dataclass(frozen=True)
class Graded:
    score: AttemptScore
    passed: bool
    outcome: Outcome
    reason: str | None
    units: list[dict[str, Any]]
    items: list[ResultItem]


def effective_key(key: ItemKey, correction: CorrectionKey | None) -> tuple[Any, bool]:
    """(answer, voided) after the correction."""
    if correction is None:
        return key.answer, False
    if correction.action == "void":
        return key.answer, True
    return correction.answer, False


def _exact_or_same(value: Any) -> Any:
    """A float or int as the exact Fraction ``scoring.exact_number`` would read, so that scoring
    does not parse the same decimal again for every attempt; anything else unchanged.
    (``scoring`` accepts any Rational where it takes a number.)"""
    if isinstance(value, float | int) and not isinstance(value, bool):
        exact = exact_number(value)
        return exact if exact is not None else value
    return value


def _scoring_answer(item_type: str, answer: Any) -> str | tuple[str, ...] | float:
    if item_type == "multiple" and isinstance(answer, list | tuple):
        return tuple(str(a) for a in answer)
    if item_type == "numeric":
        return cast("float", _exact_or_same(answer))
    return cast("str | tuple[str, ...] | float", answer)


@dataclass(frozen=True)
class ItemTemplate:
    """One form item as scored: the scoring item and what its result record will say."""

    scoring: ScoringItem
    position: int
    item_version_id: int
    answer: Any
    points: int
    voided: bool
    tolerance: float | None
    correction_id: int | None

    def record(self, earned: int) -> ResultItem:
        return ResultItem(
            position=self.position,
            item_version_id=self.item_version_id,
            answer=self.answer,
            points=self.points,
            earned=earned,
            voided=self.voided,
            tolerance=self.tolerance,
            correction_id=self.correction_id,
        )


class ScoringCache:
    """Item templates and unit rules shared by every attempt graded in one run (keys and
    corrections do not change within a run; everything cached is immutable)."""

    def __init__(self, keys: Mapping[int, ItemKey], corrections: Mapping[int, CorrectionKey]) -> None:
        self.keys = keys
        self.corrections = corrections
        self._items: dict[FormItemRef, ItemTemplate] = {}
        self._rules: dict[FormScheme, tuple[list[UnitRule], float]] = {}

    def item(self, ref: FormItemRef) -> ItemTemplate:
        found = self._items.get(ref)
        if found is not None:
            return found
        key = self.keys.get(ref.item_version_id)
        if key is None:
            raise FormError(f"item version {ref.item_version_id} of the form does not exist")
        correction = self.corrections.get(ref.item_version_id)
        answer, voided = effective_key(key, correction)
        template = ItemTemplate(
            scoring=ScoringItem(
                key=str(ref.position),
                unit=ref.unit,
                type=key.type,
                answer=_scoring_answer(key.type, answer),
                tolerance=cast("float", _exact_or_same(key.tolerance)),
                points=key.points,
                voided=voided,
            ),
            position=ref.position,
            item_version_id=ref.item_version_id,
            answer=answer,
            points=key.points,
            voided=voided,
            tolerance=key.tolerance if key.type == "numeric" else None,
            correction_id=correction.id if correction is not None else None,
        )
        self._items[ref] = template
        return template

    def rules(self, scheme: FormScheme) -> tuple[list[UnitRule], float]:
        """Unit rules and pass score of a frozen scheme (thresholds read exactly, once)."""
        found = self._rules.get(scheme)
        if found is None:
            units = [
                UnitRule(code=u.code, min_score=cast("float | None", _exact_or_same(u.min_score)))
                for u in scheme.units
            ]
            found = (units, cast("float", _exact_or_same(float(scheme.pass_score))))
            self._rules[scheme] = found
        return found


def build_scoring(
    form: FrozenForm | Mapping[str, Any],
    keys: Mapping[int, ItemKey],
    corrections: Mapping[int, CorrectionKey],
    cache: ScoringCache | None = None,
) -> tuple[list[UnitRule], float, list[ItemTemplate]]:
    """The scoring input of one form: unit rules, pass score and the item templates."""
    frozen = form_from(form)
    cache = cache or ScoringCache(keys, corrections)
    units, pass_score = cache.rules(frozen.scheme)
    return units, pass_score, [cache.item(ref) for ref in frozen.items]


def terminated_reason(close_reason: str | None) -> str:
    reason = (close_reason or "").strip()
    return f"Ujian dihentikan oleh pengawas: {reason}" if reason else "Ujian dihentikan oleh pengawas."


def grade_attempt(
    form: FrozenForm | Mapping[str, Any],
    responses: Mapping[str, object],
    keys: Mapping[int, ItemKey],
    corrections: Mapping[int, CorrectionKey],
    *,
    status: str,
    close_reason: str | None = None,
    cache: ScoringCache | None = None,
) -> Graded:
    """Grade one closed attempt. ``responses`` maps a position, as text (``"1"``), to the
    stored response. Pass one ``cache`` when grading many attempts with the same keys."""
    units, pass_score, templates = build_scoring(form, keys, corrections, cache)
    try:
        score = score_attempt([t.scoring for t in templates], responses, units, pass_score)
    except ValueError as exc:
        raise FormError(str(exc)) from exc
    records = [t.record(s.earned) for t, s in zip(templates, score.items, strict=True)]
    passed, outcome, reason = score.passed, score.outcome, None
    if status == AttemptState.TERMINATED:
        passed, outcome, reason = False, Outcome.BELUM_KOMPETEN, terminated_reason(close_reason)
    unit_rows = [
        {"code": u.code, "score": u.score, "passed": u.passed, "earned": u.earned, "possible": u.possible}
        for u in score.units
    ]
    return Graded(score=score, passed=passed, outcome=outcome, reason=reason, units=unit_rows, items=records)


def validate_key(item_type: str, option_ids: Sequence[str], answer: object) -> Any:
    """A corrected key for an item of ``item_type``, normalised as bank files store it
    (single: option id; multiple: sorted list of distinct option ids; numeric: a number).
    Raises :class:`InvalidKey` with an Indonesian message."""
    if item_type == "single":
        if not isinstance(answer, str):
            raise InvalidKey('Kunci soal pilihan tunggal harus satu id pilihan, mis. "b".')
        if answer not in option_ids:
            raise InvalidKey(f"Pilihan '{answer}' tidak ada pada soal ini ({', '.join(option_ids)}).")
        return answer
    if item_type == "multiple":
        if not isinstance(answer, list) or not all(isinstance(a, str) for a in answer):
            raise InvalidKey('Kunci soal pilihan ganda kompleks harus daftar id pilihan, mis. ["a", "c"].')
        if not answer:
            raise InvalidKey("Kunci soal pilihan ganda kompleks tidak boleh kosong.")
        if len(set(answer)) != len(answer):
            raise InvalidKey("Kunci berisi pilihan yang sama lebih dari sekali.")
        unknown = [a for a in answer if a not in option_ids]
        if unknown:
            raise InvalidKey(
                f"Pilihan {', '.join(unknown)} tidak ada pada soal ini ({', '.join(option_ids)})."
            )
        return sorted(answer)
    if item_type == "numeric":
        if isinstance(answer, bool) or not isinstance(answer, int | float):
            raise InvalidKey("Kunci soal isian angka harus berupa angka.")
        if isinstance(answer, float) and not math.isfinite(answer):
            raise InvalidKey("Kunci soal isian angka harus angka terhingga.")
        return answer
    raise InvalidKey(f"Jenis soal tidak dikenal: {item_type}.")
