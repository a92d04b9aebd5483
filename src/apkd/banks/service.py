"""Importing bank files into schemes, units, items and immutable item versions.

Idempotent: importing the same content twice changes nothing. An edited item gets a new
version; versions are never rewritten, so attempts that froze a version keep it. An item that
disappears from its file is retired (no longer drawn), never deleted.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from apkd import audit
from apkd.banks.bankfile import BankFile, ItemSpec, SchemeSpec
from apkd.banks.models import Item, ItemVersion, Scheme, SchemeUnit
from apkd.db import serialize, utcnow
from apkd.errors import Conflict, NotFound
from apkd.textrules import clean_reason


@dataclass
class SchemeImport:
    code: str
    created: bool = False
    scheme_changed: bool = False
    items_added: int = 0
    items_versioned: int = 0
    items_retired: int = 0
    items_unchanged: int = 0
    reviews_recorded: int = 0  # unchanged items whose review record changed (in place)

    @property
    def changed(self) -> bool:
        return (
            self.created
            or self.scheme_changed
            or bool(self.items_added or self.items_versioned or self.items_retired or self.reviews_recorded)
        )

    def __str__(self) -> str:
        if not self.changed:
            return f"{self.code}: tidak ada perubahan ({self.items_unchanged} soal)"
        parts = [
            f"{self.code}: "
            + ("skema baru" if self.created else "skema diperbarui" if self.scheme_changed else "skema tetap")
        ]
        parts.append(f"{self.items_added} soal baru")
        parts.append(f"{self.items_versioned} versi baru")
        parts.append(f"{self.items_retired} soal dinonaktifkan")
        parts.append(f"{self.items_unchanged} tetap")
        if self.reviews_recorded:
            parts.append(f"{self.reviews_recorded} catatan telaah diperbarui")
        return ", ".join(parts)


@dataclass
class ImportReport:
    schemes: list[SchemeImport] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(s.changed for s in self.schemes)


def scheme_hash(spec: SchemeSpec) -> str:
    body = (
        {
            "code": spec.code,
            "version": spec.version,
            "title": spec.title,
            "position": spec.position,
            "duration_minutes": spec.duration_minutes,
            "validity_months": spec.validity_months,
            "pass_score": spec.pass_score,
            "units": [[u.code, u.title, u.items_per_form, u.min_score] for u in spec.units],
        }
        | spec.draw_rules()
        | spec.rules()
    )  # only when there are any: hashes of older files hold
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _answer_json(answer: object) -> object:
    if isinstance(answer, tuple):
        return list(answer)
    return answer


def _latest_versions() -> Any:
    """Subquery: each item's latest version number (`item_id`, `v`)."""
    return (
        select(ItemVersion.item_id, func.max(ItemVersion.version).label("v"))
        .group_by(col(ItemVersion.item_id))
        .subquery()
    )


def _is_latest(latest: Any) -> Any:
    """Join condition: this ItemVersion row is its item's latest (see `_latest_versions`)."""
    return (col(ItemVersion.item_id) == latest.c.item_id) & (col(ItemVersion.version) == latest.c.v)


def draft_items(bank: BankFile) -> list[str]:
    """Ids of the bank's items (all drawable) that no second person has reviewed."""
    return [item.id for item in bank.items if item.review != "reviewed"]


def refuse_drafts(banks: Sequence[BankFile]) -> None:
    """Production rule: a scheme whose drawable items include drafts is not imported."""
    problems = []
    for bank in banks:
        drafts = draft_items(bank)
        if drafts:
            shown = ", ".join(drafts[:5]) + (f" dan {len(drafts) - 5} lainnya" if len(drafts) > 5 else "")
            problems.append(f"skema {bank.scheme.code}: {len(drafts)} soal belum ditelaah ({shown})")
    if problems:
        raise Conflict(
            "Bank soal berisi soal berstatus draft, yang tidak boleh diujikan di produksi: "
            + "; ".join(problems)
            + ". Catat telaahnya (review: reviewed, reviewer, reviewed_at) atau impor dengan --allow-drafts.",
            code="bank_has_drafts",
        )


async def import_bank(session: AsyncSession, bank: BankFile, *, actor: str | None) -> SchemeImport:
    spec = bank.scheme
    report = SchemeImport(code=spec.code)
    await serialize(session, f"bank:{spec.code}")
    now = utcnow()
    s_hash = scheme_hash(spec)
    scheme = (await session.exec(select(Scheme).where(Scheme.code == spec.code))).first()
    if scheme is None:
        scheme = Scheme(
            code=spec.code,
            version=spec.version,
            title=spec.title,
            position=spec.position,
            duration_minutes=spec.duration_minutes,
            validity_months=spec.validity_months,
            pass_score=spec.pass_score,
            appeal_days=spec.appeal_days,
            resit_wait_days=spec.resit_wait_days,
            sittings_per_year=spec.sittings_per_year,
            content_hash=s_hash,
            updated_at=now,
            draw_rules=spec.draw_rules(),
        )
        session.add(scheme)
        await session.flush()
        report.created = True
    elif scheme.content_hash != s_hash:
        if scheme.version != spec.version and scheme.retired_at is not None:
            scheme.retired_at, scheme.retired_reason = None, None  # a new version is in force
        scheme.version, scheme.title, scheme.position = spec.version, spec.title, spec.position
        scheme.duration_minutes, scheme.validity_months = spec.duration_minutes, spec.validity_months
        scheme.pass_score, scheme.content_hash, scheme.updated_at = spec.pass_score, s_hash, now
        scheme.draw_rules = spec.draw_rules()
        scheme.appeal_days, scheme.resit_wait_days = spec.appeal_days, spec.resit_wait_days
        scheme.sittings_per_year = spec.sittings_per_year
        report.scheme_changed = True
    assert scheme.id is not None
    if report.created or report.scheme_changed:
        existing_units = {
            u.code: u
            for u in (await session.exec(select(SchemeUnit).where(SchemeUnit.scheme_id == scheme.id))).all()
        }
        for ordinal, u in enumerate(spec.units):
            row = existing_units.pop(u.code, None)
            if row is None:
                session.add(
                    SchemeUnit(
                        scheme_id=scheme.id,
                        code=u.code,
                        title=u.title,
                        items_per_form=u.items_per_form,
                        min_score=u.min_score,
                        ordinal=ordinal,
                    )
                )
            else:
                row.title, row.items_per_form, row.min_score, row.ordinal = (
                    u.title,
                    u.items_per_form,
                    u.min_score,
                    ordinal,
                )
        for row in existing_units.values():
            await session.delete(row)

    # Existing items with their latest version, in one query.
    latest = _latest_versions()
    rows = (
        await session.exec(
            select(Item, ItemVersion)
            .join(latest, col(Item.id) == latest.c.item_id)
            .join(ItemVersion, _is_latest(latest))
            .where(Item.scheme_id == scheme.id)
        )
    ).all()
    current = {item.external_id: (item, ver) for item, ver in rows}
    seen: set[str] = set()
    new_items: list[tuple[Item, ItemSpec]] = []
    for spec_item in bank.items:
        seen.add(spec_item.id)
        h = spec_item.content_hash()
        found = current.get(spec_item.id)
        if found is not None and found[1].content_hash == h:
            item, ver = found
            if item.retired_at is not None:
                item.retired_at = None
            if _review_record(ver) != _review_record(spec_item):
                ver.review_status = spec_item.review
                ver.reviewer, ver.reviewed_at = spec_item.reviewer, spec_item.reviewed_at
                report.reviews_recorded += 1
            report.items_unchanged += 1
            continue
        if found is None:
            item = Item(scheme_id=scheme.id, external_id=spec_item.id)
            new_items.append((item, spec_item))
            report.items_added += 1
            continue
        item, ver = found
        item.retired_at = None
        session.add(_version(item.id, ver.version + 1, spec_item, h))
        report.items_versioned += 1
    if new_items:
        session.add_all([i for i, _ in new_items])
        await session.flush()
        session.add_all([_version(i.id, 1, s, s.content_hash()) for i, s in new_items])
    for ext_id, (item, _ver) in current.items():
        if ext_id not in seen and item.retired_at is None:
            item.retired_at = now
            report.items_retired += 1
    if report.changed:
        await audit.record(
            session,
            "bank.imported",
            "scheme",
            spec.code,
            actor=actor,
            details={
                "version": spec.version,
                "created": report.created,
                "scheme_changed": report.scheme_changed,
                "items_added": report.items_added,
                "items_versioned": report.items_versioned,
                "items_retired": report.items_retired,
                "reviews_recorded": report.reviews_recorded,
            },
        )
    await session.flush()
    return report


def _version(item_id: int | None, version: int, spec: ItemSpec, content_hash: str) -> ItemVersion:
    assert item_id is not None
    return ItemVersion(
        item_id=item_id,
        version=version,
        content_hash=content_hash,
        unit_code=spec.unit,
        type=spec.type,
        stem=spec.stem,
        options=[[k, v] for k, v in spec.options],
        answer=_answer_json(spec.answer),
        tolerance=spec.tolerance,
        points=spec.points,
        reference=spec.reference,
        level=spec.level,
        review_status=spec.review,
        reviewer=spec.reviewer,
        reviewed_at=spec.reviewed_at,
    )


def _review_record(v: ItemVersion | ItemSpec) -> tuple[str, str | None, date | None]:
    if isinstance(v, ItemVersion):
        return (v.review_status, v.reviewer, v.reviewed_at)
    return (v.review, v.reviewer, v.reviewed_at)


async def import_banks(
    session: AsyncSession, banks: Sequence[BankFile], *, actor: str | None, allow_drafts: bool = True
) -> ImportReport:
    """Import every bank; with ``allow_drafts=False`` (production) nothing is imported when a
    bank has a draft item (:func:`refuse_drafts`)."""
    if not allow_drafts:
        refuse_drafts(banks)
    report = ImportReport()
    for bank in banks:
        report.schemes.append(await import_bank(session, bank, actor=actor))
    return report


async def retire_scheme(
    session: AsyncSession, code: str, *, version: str, reason: str, actor: str | None
) -> Scheme:
    """Retire the scheme's current version (admin): no new session may use it (decision 046).
    ``version`` must be the current one (409 ``scheme_version_mismatch``), once (409
    ``scheme_retired``). Sessions, results and credentials that used it are left as they are."""
    reason = clean_reason(reason, label="Alasan pensiun")
    await serialize(session, f"bank:{code.strip().upper()}")
    scheme = (await session.exec(select(Scheme).where(Scheme.code == code.strip().upper()))).first()
    if scheme is None:
        raise NotFound(f"Skema '{code}' tidak ditemukan.", code="scheme_not_found")
    if version.strip() != scheme.version:
        raise Conflict(
            f"Versi yang berlaku untuk skema {scheme.code} adalah {scheme.version}, bukan {version.strip()}.",
            code="scheme_version_mismatch",
        )
    if scheme.retired_at is not None:
        raise Conflict(
            f"Skema {scheme.code} versi {scheme.version} sudah dipensiunkan.", code="scheme_retired"
        )
    scheme.retired_at, scheme.retired_reason = utcnow(), reason
    session.add(scheme)
    await session.flush()
    await audit.record(
        session,
        "scheme.retired",
        "scheme",
        scheme.id or 0,
        actor=actor,
        details={"code": scheme.code, "version": scheme.version, "reason": reason},
    )
    return scheme


async def list_schemes(session: AsyncSession) -> list[tuple[Scheme, list[SchemeUnit]]]:
    schemes = (await session.exec(select(Scheme).order_by(col(Scheme.code)))).all()
    units = (
        await session.exec(select(SchemeUnit).order_by(col(SchemeUnit.scheme_id), col(SchemeUnit.ordinal)))
    ).all()
    by_scheme: dict[int, list[SchemeUnit]] = {}
    for u in units:
        by_scheme.setdefault(u.scheme_id, []).append(u)
    return [(s, by_scheme.get(s.id or 0, [])) for s in schemes]


async def active_item_counts(session: AsyncSession) -> dict[int, dict[str, int]]:
    """Active items in the bank per scheme id and unit code (their latest versions' units)."""
    latest = _latest_versions()
    rows = (
        await session.exec(
            select(Item.scheme_id, ItemVersion.unit_code, func.count())
            .select_from(ItemVersion)
            .join(latest, _is_latest(latest))
            .join(Item, col(Item.id) == col(ItemVersion.item_id))
            .where(col(Item.retired_at).is_(None))
            .group_by(col(Item.scheme_id), col(ItemVersion.unit_code))
        )
    ).all()
    out: dict[int, dict[str, int]] = {}
    for scheme_id, unit, n in rows:
        out.setdefault(scheme_id, {})[unit] = int(n)
    return out


async def current_pool(session: AsyncSession, scheme_id: int) -> list[ItemVersion]:
    """The latest version of every active item of a scheme: what new forms are drawn from."""
    latest = _latest_versions()
    rows = (
        await session.exec(
            select(ItemVersion)
            .join(latest, _is_latest(latest))
            .join(Item, col(Item.id) == col(ItemVersion.item_id))
            .where(Item.scheme_id == scheme_id, col(Item.retired_at).is_(None))
        )
    ).all()
    return list(rows)


@dataclass(frozen=True)
class DrawRules:
    """What the drawer needs beyond units and pool: enemies as item version ids, level shares."""

    enemies: tuple[tuple[int, ...], ...] = ()
    level_shares: dict[str, float] = field(default_factory=dict)


async def draw_rules(session: AsyncSession, scheme_id: int, pool: Sequence[ItemVersion]) -> DrawRules:
    """The scheme's draw rules mapped onto ``pool`` (its :func:`current_pool`)."""
    scheme = await session.get(Scheme, scheme_id)
    rules = (scheme.draw_rules if scheme is not None else None) or {}
    groups = rules.get("enemies") or []
    enemies: list[tuple[int, ...]] = []
    if groups:
        external = dict(
            (await session.exec(select(Item.id, Item.external_id).where(Item.scheme_id == scheme_id))).all()
        )
        ref_of = {external.get(iv.item_id): iv.id for iv in pool if iv.id is not None}
        for group in groups:
            refs = tuple(sorted(ref for ext in group if (ref := ref_of.get(ext)) is not None))
            if len(refs) > 1:
                enemies.append(refs)
    shares = {str(k): float(v) for k, v in (rules.get("level_shares") or {}).items()}
    return DrawRules(tuple(enemies), shares)


async def review_records(session: AsyncSession, item_version_ids: Sequence[int]) -> dict[int, ItemVersion]:
    """Item versions by id (their review record and level), for the review queue."""
    if not item_version_ids:
        return {}
    rows = (
        await session.exec(select(ItemVersion).where(col(ItemVersion.id).in_(list(item_version_ids))))
    ).all()
    return {iv.id: iv for iv in rows if iv.id is not None}
