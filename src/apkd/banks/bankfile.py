"""Pure parser and validator for exam bank files (``exam_banks/*.yaml``).

The YAML is composed into a node tree (PyYAML ``SafeLoader``) and every value is built from
its node here, so that each mistake can be reported with the line it sits on. Every mistake
is collected; nothing stops at the first one. Messages are in Indonesian because the people
who write bank files read them.

Scalars are read from the text exactly as written, never through YAML 1.1 implicit typing:
``version: 2026.10`` stays ``"2026.10"``, an option id ``on``/``no``/``y`` stays a string,
and ``yes``/``true`` is never a number. Numbers must be written unquoted and in plain decimal
notation (``12.5``, ``1500000``); anything else is reported.

This module imports nothing from the database layer.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

__all__ = [
    "COGNITIVE_LEVELS",
    "ITEM_TYPES",
    "MAX_BANK_BYTES",
    "MAX_DEPTH",
    "REVIEW_STATUSES",
    "BankError",
    "BankFile",
    "ItemSpec",
    "SchemeSpec",
    "UnitSpec",
    "expand_paths",
    "format_errors",
    "load_bank",
    "load_banks",
    "parse_bank",
]

ITEM_TYPES: tuple[str, ...] = ("single", "multiple", "numeric")
# Cognitive levels of Indonesian kisi-kisi; an item without ``level`` counts as recall.
COGNITIVE_LEVELS: tuple[str, ...] = ("pengetahuan", "penerapan", "penalaran")
DEFAULT_LEVEL = "pengetahuan"
# An item without ``review`` is a draft: only a second person's review makes it ``reviewed``.
REVIEW_STATUSES: tuple[str, ...] = ("draft", "reviewed")

# Hostile-file bounds (issue 11 point 11): size, nesting, and the lengths the database holds.
MAX_BANK_BYTES = 2 * 1024 * 1024
MAX_DEPTH = 8  # mapping/sequence nesting; a bank file needs 5
MAX_ITEMS = 5000
LEN_VERSION = 32  # scheme.version
LEN_TITLE = 200  # scheme.title, scheme.position, scheme_unit.title
LEN_STEM = 4000
LEN_OPTION = 1000
LEN_REFERENCE = 500
LEN_REVIEWER = 100  # item_version.reviewer
LEN_DESCRIPTION = 8000
MAX_ITEMS_PER_FORM = 500
MAX_POINTS = 100

SCHEME_CODE_RE = re.compile(r"[A-Z0-9-]{2,16}")
UNIT_CODE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}")
ITEM_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
OPTION_ID_RE = re.compile(r"[a-z][a-z0-9_]{0,7}")

_INT_RE = re.compile(r"[-+]?[0-9]+")
_NUMBER_RE = re.compile(r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")

_TAG_NULL = "tag:yaml.org,2002:null"
_TAG_BOOL = "tag:yaml.org,2002:bool"

_TOP_FIELDS = ("scheme", "items", "enemies")
_SCHEME_FIELDS = (
    "code",
    "version",
    "title",
    "position",
    "duration_minutes",
    "validity_months",
    "pass_score",
    "units",
    "description",
    "level_shares",
)
_SCHEME_REQUIRED = _SCHEME_FIELDS[:8]
_UNIT_FIELDS = ("code", "title", "items_per_form", "min_score", "sources")
# Optional rules of the certification process (defaults: 14 days to appeal, no re-sit limits).
_SCHEME_RULES = ("appeal_days", "resit_wait_days", "sittings_per_year")
_UNIT_REQUIRED = ("code", "title", "items_per_form")
_ITEM_FIELDS = (
    "id",
    "unit",
    "type",
    "stem",
    "options",
    "answer",
    "tolerance",
    "points",
    "reference",
    "level",
    "review",
    "reviewer",
    "reviewed_at",
)
_ITEM_REQUIRED = ("id", "unit", "type", "stem", "answer")


# --------------------------------------------------------------------------- public types


def _canonical_hash(content: dict[str, Any]) -> str:
    data = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class UnitSpec:
    code: str
    title: str
    items_per_form: int
    min_score: float | None
    line: int
    sources: tuple[str, ...] = ()  # references the unit's items are written from (not stored)

    def content(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "title": self.title,
            "items_per_form": self.items_per_form,
            "min_score": self.min_score,
        }


@dataclass(frozen=True)
class SchemeSpec:
    code: str
    version: str
    title: str
    position: str
    duration_minutes: int
    validity_months: int
    pass_score: float
    units: tuple[UnitSpec, ...]
    line: int
    description: str | None = None
    # Minimum share of a form per cognitive level, e.g. (("penerapan", 0.3),); sorted by level.
    level_shares: tuple[tuple[str, float], ...] = ()
    # Groups of item ids that never share a form (the file's top-level ``enemies``).
    enemies: tuple[tuple[str, ...], ...] = ()
    # Rules of the certification process (appeal period, re-sits); see rules().
    appeal_days: int = 14
    resit_wait_days: int = 0
    sittings_per_year: int = 0

    def form_length(self) -> int:
        return sum(unit.items_per_form for unit in self.units)

    def level_minimums(self) -> dict[str, int]:
        """Items each level needs at least on one form: ceil(share x form length)."""
        n = self.form_length()
        return {level: math.ceil(share * n - 1e-9) for level, share in self.level_shares}

    def rules(self) -> dict[str, int]:
        """The process rules that differ from the defaults (so adding the rules to apkd left the
        content hash of every existing bank unchanged)."""
        out = {
            "appeal_days": self.appeal_days,
            "resit_wait_days": self.resit_wait_days,
            "sittings_per_year": self.sittings_per_year,
        }
        defaults = {"appeal_days": 14, "resit_wait_days": 0, "sittings_per_year": 0}
        return {k: v for k, v in out.items() if v != defaults[k]}

    def unit(self, code: str) -> UnitSpec | None:
        for unit in self.units:
            if unit.code == code:
                return unit
        return None

    def content(self) -> dict[str, Any]:
        """Canonical JSON-able content: every field but line numbers; unit order is kept."""
        return (
            {
                "code": self.code,
                "version": self.version,
                "title": self.title,
                "position": self.position,
                "duration_minutes": self.duration_minutes,
                "validity_months": self.validity_months,
                "pass_score": self.pass_score,
                "units": [unit.content() for unit in self.units],
            }
            | self.draw_rules()
            | self.rules()
        )

    def draw_rules(self) -> dict[str, Any]:
        """The rules of the draw beyond the units, only when there are any (old hashes hold)."""
        rules: dict[str, Any] = {}
        if self.level_shares:
            rules["level_shares"] = dict(self.level_shares)
        if self.enemies:
            rules["enemies"] = [list(group) for group in self.enemies]
        return rules

    def content_hash(self) -> str:
        return _canonical_hash(self.content())


@dataclass(frozen=True)
class ItemSpec:
    id: str
    unit: str
    type: str  # "single" | "multiple" | "numeric"
    stem: str
    options: tuple[tuple[str, str], ...]  # ordered (option_id, text); () for numeric
    answer: str | tuple[str, ...] | float  # single: option id; multiple: sorted ids; numeric: float
    tolerance: float
    points: int
    reference: str | None
    line: int
    level: str | None = None  # one of COGNITIVE_LEVELS; None counts as DEFAULT_LEVEL
    review: str = "draft"  # one of REVIEW_STATUSES
    reviewer: str | None = None
    reviewed_at: date | None = None

    @property
    def cognitive_level(self) -> str:
        return self.level or DEFAULT_LEVEL

    def content(self) -> dict[str, Any]:
        """Canonical JSON-able content: every field but ``line`` and the review record.

        Option order is part of the content (it is the order candidates see). ``level`` is
        included only when written, so items of files older than it keep their hash. A review
        is a fact about a version's content, not part of it: reviewing never makes a new version.
        """
        answer = list(self.answer) if isinstance(self.answer, tuple) else self.answer
        extra: dict[str, Any] = {"level": self.level} if self.level is not None else {}
        return extra | {
            "id": self.id,
            "unit": self.unit,
            "type": self.type,
            "stem": self.stem,
            "options": [[option_id, text] for option_id, text in self.options],
            "answer": answer,
            "tolerance": self.tolerance,
            "points": self.points,
            "reference": self.reference,
        }

    def content_hash(self) -> str:
        """SHA-256 hex of the canonical JSON of :meth:`content`."""
        return _canonical_hash(self.content())


@dataclass(frozen=True)
class BankFile:
    path: str
    scheme: SchemeSpec
    items: tuple[ItemSpec, ...]

    def items_of_unit(self, unit_code: str) -> tuple[ItemSpec, ...]:
        return tuple(item for item in self.items if item.unit == unit_code)


@dataclass(frozen=True)
class BankError:
    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


def format_errors(errors: Iterable[BankError]) -> str:
    """One ``path:line: message`` per line, sorted by path then line (stable otherwise)."""
    ordered = sorted(errors, key=lambda e: (e.path, e.line))
    return "\n".join(str(e) for e in ordered)


# --------------------------------------------------------------------------- node helpers


def _line(node: Node) -> int:
    return int(node.start_mark.line) + 1


def _show(node: Node) -> str:
    """A short rendering of a node for messages."""
    if isinstance(node, ScalarNode):
        text = str(node.value)
        if len(text) > 40:
            text = text[:37] + "..."
        return repr(text)
    if isinstance(node, SequenceNode):
        return "sebuah daftar"
    return "sebuah pemetaan"


def _is_null(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag == _TAG_NULL and node.style is None


@dataclass
class _Field:
    key_line: int
    value: Node


@dataclass
class _Ctx:
    path: str
    errors: list[BankError] = field(default_factory=list)

    def err(self, line: int, message: str) -> None:
        self.errors.append(BankError(self.path, line, message))

    # -- mappings

    def mapping(
        self,
        node: Node,
        where: str,
        allowed: Sequence[str],
        required: Sequence[str],
        owner_line: int,
    ) -> dict[str, _Field] | None:
        """Fields of a mapping node; reports bad keys, duplicates, unknown and missing fields."""
        if not isinstance(node, MappingNode):
            self.err(owner_line, f"{where} harus berupa pemetaan (kunci: nilai), bukan {_show(node)}")
            return None
        fields: dict[str, _Field] = {}
        for key_node, value_node in node.value:
            key_line = _line(key_node)
            if not isinstance(key_node, ScalarNode):
                self.err(key_line, f"{where}: nama kolom harus berupa teks biasa, bukan {_show(key_node)}")
                continue
            key = str(key_node.value)
            if key in fields:
                self.err(
                    key_line,
                    f"{where}: kolom '{key}' ditulis dua kali (pertama di baris {fields[key].key_line}); "
                    "hapus salah satu",
                )
                continue
            fields[key] = _Field(key_line, value_node)
            if key not in allowed:
                self.err(
                    key_line,
                    f"{where}: kolom '{key}' tidak dikenal; kolom yang boleh: {', '.join(allowed)}",
                )
        for key in required:
            if key not in fields:
                self.err(owner_line, f"{where}: kolom wajib '{key}' tidak ada")
        return {k: v for k, v in fields.items() if k in allowed}

    # -- scalars

    def text(
        self,
        fields: dict[str, _Field],
        key: str,
        where: str,
        optional: bool = False,
        max_len: int | None = None,
    ) -> str | None:
        """A non-empty text, exactly as written (stripped of surrounding whitespace)."""
        f = fields.get(key)
        if f is None:
            return None
        return self.text_node(f.value, f.key_line, key, where, optional, max_len)

    def text_node(
        self, node: Node, line: int, key: str, where: str, optional: bool = False, max_len: int | None = None
    ) -> str | None:
        if not isinstance(node, ScalarNode):
            self.err(line, f"{where}: '{key}' harus berupa teks, bukan {_show(node)}")
            return None
        if _is_null(node) or not str(node.value).strip():
            if not optional:
                self.err(line, f"{where}: '{key}' tidak boleh kosong")
            return None
        text = str(node.value).strip()
        if max_len is not None and len(text) > max_len:
            self.err(
                line, f"{where}: '{key}' terlalu panjang ({len(text)} karakter); paling banyak {max_len}"
            )
            return None
        return text

    def choice(self, fields: dict[str, _Field], key: str, where: str, allowed: Sequence[str]) -> str | None:
        value = self.text(fields, key, where)
        if value is not None and value not in allowed:
            self.err(
                fields[key].key_line,
                f"{where}: '{key}' bernilai {value!r}; pilih salah satu: {', '.join(allowed)}",
            )
            return None
        return value

    def _bool_message(self, where: str, key: str, node: ScalarNode, what: str) -> str:
        return (
            f"{where}: '{key}' bernilai {node.value!r}, yang dibaca YAML sebagai nilai ya/tidak (boolean), "
            f"bukan {what}; tulis sebuah angka"
        )

    def integer(self, fields: dict[str, _Field], key: str, where: str, lo: int, hi: int | None) -> int | None:
        f = fields.get(key)
        if f is None:
            return None
        node = f.value
        bounds = f"{lo}..{hi}" if hi is not None else f">= {lo}"
        if not isinstance(node, ScalarNode) or _is_null(node):
            self.err(f.key_line, f"{where}: '{key}' harus bilangan bulat {bounds}, bukan {_show(node)}")
            return None
        if node.tag == _TAG_BOOL and node.style is None:
            self.err(f.key_line, self._bool_message(where, key, node, "bilangan bulat"))
            return None
        raw = str(node.value).strip()
        if node.style is not None:
            self.err(
                f.key_line,
                f"{where}: '{key}' ditulis dalam tanda kutip sehingga menjadi teks; "
                f"tulis bilangan bulat {bounds} tanpa tanda kutip",
            )
            return None
        if not _INT_RE.fullmatch(raw):
            self.err(f.key_line, f"{where}: '{key}' harus bilangan bulat {bounds}, bukan {raw!r}")
            return None
        value = int(raw)
        if value < lo or (hi is not None and value > hi):
            self.err(f.key_line, f"{where}: '{key}' harus bilangan bulat {bounds}, bukan {value}")
            return None
        return value

    def number_node(self, node: Node, key_line: int, key: str, where: str, hint: str) -> float | None:
        """A finite number written plainly (``12``, ``12.5``, ``-3``, ``1e6``); ``hint`` ends the message."""
        if not isinstance(node, ScalarNode) or _is_null(node):
            self.err(key_line, f"{where}: '{key}' harus angka{hint}, bukan {_show(node)}")
            return None
        if node.tag == _TAG_BOOL and node.style is None:
            self.err(key_line, self._bool_message(where, key, node, "angka"))
            return None
        raw = str(node.value).strip()
        if node.style is not None:
            self.err(
                key_line,
                f"{where}: '{key}' ditulis dalam tanda kutip sehingga menjadi teks; "
                f"tulis angka{hint} tanpa tanda kutip",
            )
            return None
        if not _NUMBER_RE.fullmatch(raw):
            self.err(
                key_line,
                f"{where}: '{key}' harus angka{hint}, bukan {raw!r}; pakai titik sebagai pemisah desimal "
                "dan jangan pakai pemisah ribuan (mis. 1500000 atau 12.5)",
            )
            return None
        value = float(raw)
        if not math.isfinite(value):
            self.err(key_line, f"{where}: '{key}' terlalu besar: {raw!r}")
            return None
        return value if value != 0 else 0.0  # never -0.0

    def number(
        self, fields: dict[str, _Field], key: str, where: str, lo: float, hi: float | None
    ) -> float | None:
        f = fields.get(key)
        if f is None:
            return None
        bounds = f" {_fmt(lo)}..{_fmt(hi)}" if hi is not None else f" >= {_fmt(lo)}"
        value = self.number_node(f.value, f.key_line, key, where, bounds)
        if value is None:
            return None
        if value < lo or (hi is not None and value > hi):
            self.err(f.key_line, f"{where}: '{key}' harus angka{bounds}, bukan {_fmt(value)}")
            return None
        return value


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


# --------------------------------------------------------------------------- parsing


@dataclass
class _UnitDraft:
    raw_code: str | None  # the code as written, even when it is not valid
    code: str | None  # a valid code, first of its kind
    items_per_form: int | None
    line: int
    spec: UnitSpec | None


@dataclass
class _Parsed:
    bank: BankFile | None
    errors: list[BankError]
    scheme_code: str | None = None
    scheme_code_line: int = 1


def _parse_units(ctx: _Ctx, f: _Field) -> list[_UnitDraft]:
    node = f.value
    if not isinstance(node, SequenceNode):
        ctx.err(f.key_line, f"skema: 'units' harus berupa daftar unit kompetensi, bukan {_show(node)}")
        return []
    if not node.value:
        ctx.err(f.key_line, "skema: 'units' tidak boleh kosong; tulis minimal satu unit kompetensi")
        return []
    drafts: list[_UnitDraft] = []
    seen: dict[str, int] = {}
    for index, unit_node in enumerate(node.value, start=1):
        line = _line(unit_node)
        where = f"unit ke-{index}"
        fields = ctx.mapping(unit_node, where, _UNIT_FIELDS, _UNIT_REQUIRED, line)
        if fields is None:
            drafts.append(_UnitDraft(None, None, None, line, None))
            continue
        code = ctx.text(fields, "code", where)
        raw_code = code
        if code is not None:
            where = f"unit '{code}'"
            if not UNIT_CODE_RE.fullmatch(code):
                ctx.err(
                    fields["code"].key_line,
                    f"{where}: kode unit harus 1-32 karakter huruf, angka, titik, garis bawah atau "
                    "tanda hubung, tanpa spasi (mis. BPG.A)",
                )
                code = None
            elif code in seen:
                ctx.err(
                    fields["code"].key_line,
                    f"{where}: kode unit ganda; kode ini sudah dipakai unit di baris {seen[code]}",
                )
                code = None
            else:
                seen[code] = line
        title = ctx.text(fields, "title", where, max_len=LEN_TITLE)
        items_per_form = ctx.integer(fields, "items_per_form", where, 1, MAX_ITEMS_PER_FORM)
        sources_ok = True
        sources: tuple[str, ...] = ()
        if "sources" in fields:
            found = _text_list(ctx, fields["sources"], "sources", where, LEN_REFERENCE)
            sources_ok = found is not None
            sources = tuple(found or ())
        min_score: float | None = None
        min_ok = True
        if "min_score" in fields and not _is_null(fields["min_score"].value):
            min_score = ctx.number(fields, "min_score", where, 0, 100)
            min_ok = min_score is not None
        spec = None
        if code is not None and title is not None and items_per_form is not None and min_ok and sources_ok:
            spec = UnitSpec(code, title, items_per_form, min_score, line, sources)
        drafts.append(_UnitDraft(raw_code, code, items_per_form, line, spec))
    return drafts


def _text_list(ctx: _Ctx, f: _Field, key: str, where: str, max_len: int) -> list[str] | None:
    """A non-empty list of texts (``sources``, an ``enemies`` group)."""
    node = f.value
    if not isinstance(node, SequenceNode) or not node.value:
        ctx.err(
            f.key_line, f"{where}: '{key}' harus berupa daftar teks yang tidak kosong, bukan {_show(node)}"
        )
        return None
    out: list[str] = []
    ok = True
    for element in node.value:
        text = ctx.text_node(element, _line(element), key, where, max_len=max_len)
        if text is None:
            ok = False
        else:
            out.append(text)
    return out if ok else None


def _parse_level_shares(ctx: _Ctx, f: _Field) -> tuple[tuple[str, float], ...] | None:
    where = "skema"
    node = f.value
    if not isinstance(node, MappingNode) or not node.value:
        ctx.err(
            f.key_line,
            f"{where}: 'level_shares' harus berupa pemetaan tingkat: porsi minimal, "
            f"mis. {{penerapan: 0.3, penalaran: 0.05}}, bukan {_show(node)}",
        )
        return None
    fields = ctx.mapping(node, "skema: level_shares", COGNITIVE_LEVELS, (), f.key_line)
    if fields is None:
        return None
    shares: list[tuple[str, float]] = []
    for level in COGNITIVE_LEVELS:
        if level not in fields:
            continue
        value = ctx.number(fields, level, "skema: level_shares", 0, 1)
        if value is None:
            return None
        shares.append((level, value))
    if len(shares) != len(node.value):
        return None  # an unknown level, already reported
    if sum(share for _, share in shares) > 1 + 1e-9:
        ctx.err(f.key_line, "skema: jumlah porsi minimal di 'level_shares' melebihi 1 (100% paket)")
        return None
    return tuple(shares)


def _parse_scheme(ctx: _Ctx, f: _Field, parsed: _Parsed) -> tuple[SchemeSpec | None, list[_UnitDraft]]:
    where = "skema"
    fields = ctx.mapping(f.value, where, _SCHEME_FIELDS + _SCHEME_RULES, _SCHEME_REQUIRED, f.key_line)
    if fields is None:
        return None, []
    code = ctx.text(fields, "code", where)
    if code is not None and not SCHEME_CODE_RE.fullmatch(code):
        ctx.err(
            fields["code"].key_line,
            f"skema: kode {code!r} tidak sah; kode skema harus 2-16 karakter huruf besar A-Z, angka 0-9 "
            "atau tanda hubung (mis. BPG)",
        )
        code = None
    if code is not None:
        parsed.scheme_code = code
        parsed.scheme_code_line = fields["code"].key_line
    version = ctx.text(fields, "version", where, max_len=LEN_VERSION)
    title = ctx.text(fields, "title", where, max_len=LEN_TITLE)
    position = ctx.text(fields, "position", where, max_len=LEN_TITLE)
    description = ctx.text(fields, "description", where, optional=True, max_len=LEN_DESCRIPTION)
    shares_ok = True
    level_shares: tuple[tuple[str, float], ...] = ()
    if "level_shares" in fields:
        found = _parse_level_shares(ctx, fields["level_shares"])
        shares_ok = found is not None
        level_shares = found or ()
    duration = ctx.integer(fields, "duration_minutes", where, 1, 600)
    validity = ctx.integer(fields, "validity_months", where, 1, 120)
    pass_score = ctx.number(fields, "pass_score", where, 0, 100)
    rule_bounds = {"appeal_days": (1, 365), "resit_wait_days": (0, 730), "sittings_per_year": (0, 12)}
    rules: dict[str, int] = {}
    rules_ok = True
    for key, (lo, hi) in rule_bounds.items():
        if key in fields:
            value = ctx.integer(fields, key, where, lo, hi)
            rules_ok = rules_ok and value is not None
            if value is not None:
                rules[key] = value
    drafts = _parse_units(ctx, fields["units"]) if "units" in fields else []
    units = tuple(d.spec for d in drafts if d.spec is not None)
    if (
        code is None
        or version is None
        or title is None
        or position is None
        or duration is None
        or validity is None
        or pass_score is None
        or not drafts
        or len(units) != len(drafts)
        or not shares_ok
        or not rules_ok
        or ("description" in fields and description is None and not _is_null(fields["description"].value))
    ):
        return None, drafts
    scheme = SchemeSpec(
        code,
        version,
        title,
        position,
        duration,
        validity,
        pass_score,
        units,
        f.key_line,
        description=description,
        level_shares=level_shares,
        appeal_days=rules.get("appeal_days", 14),
        resit_wait_days=rules.get("resit_wait_days", 0),
        sittings_per_year=rules.get("sittings_per_year", 0),
    )
    return scheme, drafts


def _parse_options(ctx: _Ctx, f: _Field, where: str) -> tuple[tuple[str, str], ...] | None:
    node = f.value
    if not isinstance(node, MappingNode):
        ctx.err(
            f.key_line,
            f'{where}: \'options\' harus berupa pemetaan id: teks, mis. {{a: "...", b: "..."}}, '
            f"bukan {_show(node)}",
        )
        return None
    options: list[tuple[str, str]] = []
    seen: dict[str, int] = {}
    ok = True
    for key_node, value_node in node.value:
        line = _line(key_node)
        if not isinstance(key_node, ScalarNode):
            ctx.err(line, f"{where}: id opsi harus berupa teks pendek, bukan {_show(key_node)}")
            ok = False
            continue
        option_id = str(key_node.value)
        if not OPTION_ID_RE.fullmatch(option_id):
            ctx.err(
                line,
                f"{where}: id opsi {option_id!r} tidak sah; pakai huruf kecil a..z atau kata pendek huruf "
                "kecil (maks. 8 karakter, diawali huruf, mis. a, b, c)",
            )
            ok = False
            continue
        if option_id in seen:
            ctx.err(line, f"{where}: id opsi '{option_id}' ganda (pertama di baris {seen[option_id]})")
            ok = False
            continue
        seen[option_id] = line
        if not isinstance(value_node, ScalarNode):
            ctx.err(line, f"{where}: teks opsi '{option_id}' harus berupa teks, bukan {_show(value_node)}")
            ok = False
            continue
        text = str(value_node.value).strip()
        if _is_null(value_node) or not text:
            ctx.err(line, f"{where}: teks opsi '{option_id}' tidak boleh kosong")
            ok = False
            continue
        if len(text) > LEN_OPTION:
            ctx.err(
                line,
                f"{where}: teks opsi '{option_id}' terlalu panjang ({len(text)} karakter); "
                f"paling banyak {LEN_OPTION}",
            )
            ok = False
            continue
        options.append((option_id, text))
    if ok and len(options) < 2:
        ctx.err(f.key_line, f"{where}: 'options' harus berisi minimal 2 opsi, ada {len(options)}")
        ok = False
    return tuple(options) if ok else None


def _parse_item(
    ctx: _Ctx,
    node: Node,
    index: int,
    known_units: dict[str, int] | None,
    seen_ids: dict[str, int],
    unit_counts: dict[str, int],
) -> ItemSpec | None:
    errors_before = len(ctx.errors)
    line = _line(node)
    where = f"soal ke-{index}"
    fields = ctx.mapping(node, where, _ITEM_FIELDS, _ITEM_REQUIRED, line)
    if fields is None:
        return None
    ok = True

    item_id = ctx.text(fields, "id", where)
    duplicate = False
    if item_id is not None:
        where = f"soal '{item_id}'"
        if not ITEM_ID_RE.fullmatch(item_id):
            ctx.err(
                fields["id"].key_line,
                f"{where}: id soal harus 1-64 karakter huruf, angka, titik, garis bawah atau tanda hubung, "
                "tanpa spasi (mis. BPG-A-001)",
            )
            ok = False
        elif item_id in seen_ids:
            ctx.err(
                fields["id"].key_line,
                f"{where}: id soal ganda; id ini sudah dipakai soal di baris {seen_ids[item_id]}",
            )
            ok = False
            duplicate = True
        else:
            seen_ids[item_id] = line
    else:
        ok = False

    unit = ctx.text(fields, "unit", where)
    if unit is not None and known_units is not None and unit not in known_units:
        listed = ", ".join(known_units) or "(belum ada unit yang sah)"
        ctx.err(
            fields["unit"].key_line,
            f"{where}: unit {unit!r} tidak ada di skema; unit yang ada: {listed}",
        )
        unit = None
    if unit is not None and not duplicate:
        unit_counts[unit] = unit_counts.get(unit, 0) + 1
    ok = ok and unit is not None and known_units is not None

    item_type = ctx.text(fields, "type", where)
    if item_type is not None and item_type not in ITEM_TYPES:
        ctx.err(
            fields["type"].key_line,
            f"{where}: jenis soal {item_type!r} tidak dikenal; pilih salah satu: {', '.join(ITEM_TYPES)}",
        )
        item_type = None
    ok = ok and item_type is not None

    stem = ctx.text(fields, "stem", where, max_len=LEN_STEM)
    ok = ok and stem is not None

    options: tuple[tuple[str, str], ...] | None = ()
    if "options" in fields:
        if item_type == "numeric":
            ctx.err(
                fields["options"].key_line,
                f"{where}: soal numeric tidak memakai 'options'; hapus 'options' atau ubah jenis soal",
            )
            options = None
        else:
            options = _parse_options(ctx, fields["options"], where)
    elif item_type in ("single", "multiple"):
        ctx.err(line, f"{where}: soal {item_type} wajib punya 'options' (minimal 2 opsi)")
        options = None
    ok = ok and options is not None

    answer = _parse_answer(ctx, fields.get("answer"), item_type, options, where)
    ok = ok and answer is not None

    tolerance = 0.0
    if "tolerance" in fields:
        if item_type == "numeric":
            value = ctx.number(fields, "tolerance", where, 0, None)
            if value is None:
                ok = False
            else:
                tolerance = value
        elif item_type is not None:
            # docs/contract.md's own sample carries `tolerance: 0` on a single item: zero means
            # nothing there and is accepted; any other value is a mistake.
            value = ctx.number(fields, "tolerance", where, 0, None)
            if value is None:
                ok = False
            elif value != 0:
                ctx.err(
                    fields["tolerance"].key_line,
                    f"{where}: 'tolerance' hanya untuk soal numeric; hapus dari soal {item_type}",
                )
                ok = False

    points = 1
    if "points" in fields:
        value_int = ctx.integer(fields, "points", where, 1, MAX_POINTS)
        if value_int is None:
            ok = False
        else:
            points = value_int

    reference = ctx.text(fields, "reference", where, optional=True, max_len=LEN_REFERENCE)

    level = ctx.choice(fields, "level", where, COGNITIVE_LEVELS)
    review = ctx.choice(fields, "review", where, REVIEW_STATUSES) or "draft"
    reviewer = ctx.text(fields, "reviewer", where, max_len=LEN_REVIEWER)
    reviewed_at = _parse_date(ctx, fields.get("reviewed_at"), "reviewed_at", where)
    if review == "reviewed" and (reviewer is None or reviewed_at is None):
        ctx.err(
            fields["review"].key_line,
            f"{where}: soal berstatus reviewed wajib mencatat 'reviewer' (siapa penelaahnya) "
            "dan 'reviewed_at' (tanggal telaah, YYYY-MM-DD)",
        )

    if (
        not ok
        or len(ctx.errors) > errors_before
        or item_id is None
        or unit is None
        or item_type is None
        or stem is None
        or options is None
        or answer is None
    ):
        return None
    return ItemSpec(
        id=item_id,
        unit=unit,
        type=item_type,
        stem=stem,
        options=options,
        answer=answer,
        tolerance=tolerance,
        points=points,
        reference=reference,
        line=line,
        level=level,
        review=review,
        reviewer=reviewer,
        reviewed_at=reviewed_at,
    )


def _parse_date(ctx: _Ctx, f: _Field | None, key: str, where: str) -> date | None:
    if f is None:
        return None
    node = f.value
    raw = str(node.value).strip() if isinstance(node, ScalarNode) and not _is_null(node) else ""
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", raw):
        ctx.err(f.key_line, f"{where}: '{key}' harus tanggal YYYY-MM-DD, bukan {_show(node)}")
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        ctx.err(f.key_line, f"{where}: '{key}' bukan tanggal yang ada: {raw!r}")
        return None


def _parse_answer(
    ctx: _Ctx,
    f: _Field | None,
    item_type: str | None,
    options: tuple[tuple[str, str], ...] | None,
    where: str,
) -> str | tuple[str, ...] | float | None:
    if f is None or item_type is None:
        return None
    node = f.value
    known = [option_id for option_id, _ in options] if options else None
    if item_type == "numeric":
        return ctx.number_node(node, f.key_line, "answer", where, "")
    if item_type == "single":
        if isinstance(node, SequenceNode):
            ctx.err(
                f.key_line,
                f"{where}: soal single punya tepat satu jawaban; tulis satu id opsi (mis. answer: b), "
                "bukan daftar",
            )
            return None
        if not isinstance(node, ScalarNode) or _is_null(node) or not str(node.value).strip():
            ctx.err(f.key_line, f"{where}: 'answer' harus berupa satu id opsi (mis. answer: b)")
            return None
        answer = str(node.value).strip()
        if known is None:
            return None  # options are broken and already reported
        if answer not in known:
            ctx.err(
                f.key_line,
                f"{where}: jawaban {answer!r} bukan salah satu opsi; opsi yang ada: {', '.join(known)}",
            )
            return None
        return answer
    # multiple
    if not isinstance(node, SequenceNode) or not node.value:
        ctx.err(
            f.key_line,
            f"{where}: jawaban soal multiple harus daftar id opsi yang tidak kosong, mis. answer: [a, c]; "
            f"bukan {_show(node)}",
        )
        return None
    ids: list[str] = []
    first_line: dict[str, int] = {}
    ok = True
    for element in node.value:
        line = _line(element)
        if not isinstance(element, ScalarNode) or _is_null(element):
            ctx.err(line, f"{where}: setiap jawaban harus berupa id opsi, bukan {_show(element)}")
            ok = False
            continue
        answer_id = str(element.value).strip()
        if answer_id in first_line:
            ctx.err(line, f"{where}: id opsi '{answer_id}' ditulis dua kali dalam jawaban")
            ok = False
            continue
        first_line[answer_id] = line
        if known is not None and answer_id not in known:
            ctx.err(
                line,
                f"{where}: jawaban {answer_id!r} bukan salah satu opsi; opsi yang ada: {', '.join(known)}",
            )
            ok = False
            continue
        ids.append(answer_id)
    if not ok or known is None:
        return None
    return tuple(sorted(ids))


def _parse_document(ctx: _Ctx, root: Node | None, parsed: _Parsed) -> BankFile | None:
    if root is None:
        ctx.err(1, "berkas kosong; bank soal harus berupa pemetaan dengan kunci 'scheme' dan 'items'")
        return None
    if not isinstance(root, MappingNode):
        ctx.err(
            1,
            f"isi berkas harus berupa pemetaan dengan kunci 'scheme' dan 'items', bukan {_show(root)}",
        )
        return None
    fields = ctx.mapping(root, "berkas", _TOP_FIELDS, (), 1)
    assert fields is not None
    for key in ("scheme", "items"):
        if key not in fields:
            ctx.err(1, f"kunci '{key}' tidak ada; bank soal wajib punya 'scheme' dan 'items' di tingkat atas")

    scheme: SchemeSpec | None = None
    drafts: list[_UnitDraft] = []
    known_units: dict[str, int] | None = None
    if "scheme" in fields:
        scheme, drafts = _parse_scheme(ctx, fields["scheme"], parsed)
        if drafts and all(d.raw_code is not None for d in drafts):
            known_units = {}
            for d in drafts:
                assert d.raw_code is not None
                known_units.setdefault(d.raw_code, d.line)

    items: list[ItemSpec] = []
    unit_counts: dict[str, int] = {}
    items_ok = False
    if "items" in fields:
        f = fields["items"]
        if not isinstance(f.value, SequenceNode):
            ctx.err(f.key_line, f"'items' harus berupa daftar soal, bukan {_show(f.value)}")
        elif not f.value.value:
            ctx.err(f.key_line, "'items' tidak boleh kosong; tulis minimal satu soal")
        else:
            items_ok = True
            seen_ids: dict[str, int] = {}
            if len(f.value.value) > MAX_ITEMS:
                ctx.err(
                    f.key_line,
                    f"'items' berisi {len(f.value.value)} soal; paling banyak {MAX_ITEMS} per berkas",
                )
                return None
            for index, item_node in enumerate(f.value.value, start=1):
                item = _parse_item(ctx, item_node, index, known_units, seen_ids, unit_counts)
                if item is None:
                    items_ok = False
                else:
                    items.append(item)

    if known_units is not None and "items" in fields:
        for d in drafts:
            if d.code is None or d.items_per_form is None:
                continue
            have = unit_counts.get(d.code, 0)
            if have < d.items_per_form:
                ctx.err(
                    d.line,
                    f"unit '{d.code}' hanya punya {have} soal, padahal items_per_form meminta "
                    f"{d.items_per_form}; tambahkan {d.items_per_form - have} soal atau turunkan "
                    "items_per_form",
                )

    enemies: tuple[tuple[str, ...], ...] = ()
    if "enemies" in fields:
        enemies = _parse_enemies(ctx, fields["enemies"], {item.id for item in items} if items_ok else None)

    if ctx.errors or scheme is None or not items_ok:
        return None
    scheme = replace(scheme, enemies=enemies)
    _check_drawable(ctx, scheme, items)
    if ctx.errors:
        return None
    return BankFile(ctx.path, scheme, tuple(items))


def _parse_enemies(ctx: _Ctx, f: _Field, known: set[str] | None) -> tuple[tuple[str, ...], ...]:
    """``enemies``: a list of groups (lists) of item ids; the items of a group never share a form.

    An item may sit in several groups: each group is a set of pairs that exclude each other.
    """
    node = f.value
    if not isinstance(node, SequenceNode):
        ctx.err(
            f.key_line,
            f"'enemies' harus berupa daftar kelompok id soal, mis. [[A-001, B-007]], bukan {_show(node)}",
        )
        return ()
    groups: list[tuple[str, ...]] = []
    for group_node in node.value:
        line = _line(group_node)
        where = f"kelompok enemies di baris {line}"
        ids = _text_list(ctx, _Field(line, group_node), "enemies", where, 64)
        if ids is None:
            continue
        if len(set(ids)) != len(ids):
            ctx.err(line, f"{where}: id soal yang sama ditulis dua kali dalam satu kelompok")
            continue
        if len(ids) < 2:
            ctx.err(line, f"{where}: kelompok harus berisi minimal 2 id soal")
            continue
        unknown = [i for i in ids if known is not None and i not in known]
        if unknown:
            ctx.err(line, f"{where}: id soal tidak ada di berkas ini: {', '.join(unknown)}")
            continue
        groups.append(tuple(sorted(ids)))
    return tuple(sorted(set(groups)))


def _check_drawable(ctx: _Ctx, scheme: SchemeSpec, items: Sequence[ItemSpec]) -> None:
    """Refuse a blueprint no draw can meet: enemies or level shares that a unit cannot honour.

    Enemies: a unit can always fill its form from its items outside every group plus one
    item of each group-connected cluster that lies wholly in the unit (the drawer never
    leaves such an item blocked). Levels: each level's minimum must fit in what the units can
    give of it (no more than each unit draws), and the minimums together in the form.
    """
    unit_of = {item.id: item.unit for item in items}
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            x = parent[x]
        return x

    for group in scheme.enemies:
        for other in group[1:]:
            parent[find(other)] = find(group[0])
    clusters: dict[str, set[str]] = {}
    for item_id in list(parent):
        clusters.setdefault(find(item_id), set()).add(item_id)
    for unit in scheme.units:
        free = sum(1 for item in items if item.unit == unit.code and item.id not in parent)
        local = sum(1 for members in clusters.values() if {unit_of[m] for m in members} == {unit.code})
        if free + local < unit.items_per_form:
            ctx.err(
                unit.line,
                f"unit '{unit.code}': dengan 'enemies', paket hanya dijamin mendapat {free + local} soal "
                f"dari unit ini, padahal items_per_form meminta {unit.items_per_form}; tambah soal atau "
                "kurangi kelompok enemies",
            )
    minimums = scheme.level_minimums()
    if sum(minimums.values()) > scheme.form_length():
        ctx.err(scheme.line, "skema: porsi minimal 'level_shares' bersama-sama melebihi panjang paket")
        return
    for level, need in minimums.items():
        can = sum(
            min(
                unit.items_per_form,
                sum(1 for i in items if i.unit == unit.code and i.cognitive_level == level),
            )
            for unit in scheme.units
        )
        if can < need:
            ctx.err(
                scheme.line,
                f"skema: 'level_shares' meminta minimal {need} soal tingkat {level} per paket, tetapi "
                f"unit-unitnya paling banyak dapat memberi {can}; tambah soal {level} atau turunkan porsinya",
            )


def _yaml_error(ctx: _Ctx, text: str, exc: yaml.YAMLError) -> None:
    """One error for a YAML syntax problem, at the line PyYAML reports the problem on."""
    if isinstance(exc, yaml.reader.ReaderError):
        line = text.count("\n", 0, max(int(exc.position), 0)) + 1
        ctx.err(
            line,
            "berkas berisi karakter yang tidak boleh ada (karakter kendali atau tak tercetak); "
            "hapus karakter itu",
        )
        return
    line = 1
    detail = str(exc)
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        if mark is not None:
            line = int(mark.line) + 1
        detail = " ".join(part for part in (exc.context, exc.problem) if part) or detail
        if exc.context_mark is not None and exc.problem_mark is not None:
            context_line = int(exc.context_mark.line) + 1
            if context_line != line:
                detail += f" (bagian ini dimulai di baris {context_line})"
    ctx.err(
        line,
        f"sintaks YAML tidak valid: {detail}; periksa indentasi, titik dua, tanda kutip dan tanda '-'",
    )


def _event_line(event: yaml.Event) -> int:
    return int(event.start_mark.line) + 1 if event.start_mark is not None else 1


def _prescan(ctx: _Ctx, text: str) -> bool:
    """Refuse, before building any tree, what a bank never needs: deep nesting and aliases.

    PyYAML's composer recurses once per level (a thousand levels raise RecursionError) and
    an alias can make a small file stand for a huge one; the event stream is flat.
    """
    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.AliasEvent):
            ctx.err(
                _event_line(event),
                "alias YAML (*nama) tidak dipakai di bank soal; tulis isinya secara langsung",
            )
            return False
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                ctx.err(
                    _event_line(event),
                    f"struktur bersarang terlalu dalam (lebih dari {MAX_DEPTH} tingkat); bank soal tidak "
                    "memerlukan lebih dari 5",
                )
                return False
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
    return True


def _parse(text: str, path: str) -> _Parsed:
    ctx = _Ctx(path)
    parsed = _Parsed(None, ctx.errors)
    if len(text) > MAX_BANK_BYTES:
        ctx.err(1, f"berkas terlalu besar ({len(text)} karakter); paling banyak {MAX_BANK_BYTES} per berkas")
        return parsed
    try:
        if not _prescan(ctx, text):
            return parsed
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        _yaml_error(ctx, text, exc)
        return parsed
    parsed.bank = _parse_document(ctx, root, parsed)
    ctx.errors.sort(key=lambda e: e.line)
    return parsed


def parse_bank(text: str, path: str) -> tuple[BankFile | None, list[BankError]]:
    """Parse and validate one bank file's text. Returns the bank only when there is no error."""
    parsed = _parse(text, path)
    return parsed.bank, list(parsed.errors)


def _read(path: str | Path) -> tuple[str | None, BankError | None]:
    name = str(path)
    try:
        if Path(path).stat().st_size > MAX_BANK_BYTES:
            return None, BankError(
                name, 1, f"berkas terlalu besar; paling banyak {MAX_BANK_BYTES} bita per berkas"
            )
        data = Path(path).read_bytes()
    except FileNotFoundError:
        return None, BankError(name, 1, "berkas tidak ditemukan")
    except IsADirectoryError:
        return None, BankError(name, 1, "ini direktori, bukan berkas bank soal")
    except OSError as exc:
        return None, BankError(name, 1, f"berkas tidak dapat dibaca: {exc.strerror or exc}")
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return None, BankError(name, line, "berkas harus disimpan dengan pengodean UTF-8")


def _load(path: str | Path) -> _Parsed:
    text, error = _read(path)
    if text is None:
        assert error is not None
        return _Parsed(None, [error])
    return _parse(text, str(path))


def load_bank(path: str | Path) -> tuple[BankFile | None, list[BankError]]:
    """Read (UTF-8, BOM allowed) and validate one bank file."""
    parsed = _load(path)
    return parsed.bank, list(parsed.errors)


def expand_paths(paths: Sequence[str | Path]) -> tuple[list[Path], list[BankError]]:
    """Files to load: a directory gives its own ``*.yaml``/``*.yml`` files (not recursive), sorted.

    The same file reached twice is kept once.
    """
    files: list[Path] = []
    errors: list[BankError] = []
    seen: set[Path] = set()
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(
                (p for p in path.iterdir() if p.is_file() and p.suffix.lower() in (".yaml", ".yml")),
                key=lambda p: p.name,
            )
            if not found:
                errors.append(BankError(str(raw), 1, "direktori ini tidak berisi berkas .yaml atau .yml"))
            candidates = found
        else:
            candidates = [path]
        for candidate in candidates:
            key = candidate.resolve()
            if key in seen:
                continue
            seen.add(key)
            files.append(candidate)
    return files, errors


def load_banks(paths: Sequence[str | Path]) -> tuple[list[BankFile], list[BankError]]:
    """Load several files and directories, with cross-file checks.

    A scheme code used in a second file is an error in that file (pointing at its ``code``
    line and naming the first file); that second file is then left out of the result.
    Returned banks are the files without any error, in load order.
    """
    files, errors = expand_paths(paths)
    banks: list[BankFile] = []
    first_code: dict[str, tuple[str, int]] = {}
    for file in files:
        parsed = _load(file)
        errors.extend(parsed.errors)
        clash = False
        if parsed.scheme_code is not None:
            here = (str(file), parsed.scheme_code_line)
            other = first_code.setdefault(parsed.scheme_code, here)
            if other != here:
                clash = True
                errors.append(
                    BankError(
                        str(file),
                        parsed.scheme_code_line,
                        f"kode skema '{parsed.scheme_code}' sudah dipakai di {other[0]}:{other[1]}; "
                        "kode skema harus unik di semua berkas bank soal",
                    )
                )
        if parsed.bank is not None and not clash:
            banks.append(parsed.bank)
    return banks, errors
