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
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from apkd import audit
from apkd.banks.bankfile import BankFile, ItemSpec, SchemeSpec
from apkd.banks.models import Item, ItemVersion, Scheme, SchemeUnit
from apkd.db import serialize, utcnow


@dataclass
class SchemeImport:
    code: str
    created: bool = False
    scheme_changed: bool = False
    items_added: int = 0
    items_versioned: int = 0
    items_retired: int = 0
    items_unchanged: int = 0

    @property
    def changed(self) -> bool:
        return (
            self.created
            or self.scheme_changed
            or bool(self.items_added or self.items_versioned or self.items_retired)
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
        return ", ".join(parts)


@dataclass
class ImportReport:
    schemes: list[SchemeImport] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(s.changed for s in self.schemes)


def scheme_hash(spec: SchemeSpec) -> str:
    body = {
        "code": spec.code,
        "version": spec.version,
        "title": spec.title,
        "position": spec.position,
        "duration_minutes": spec.duration_minutes,
        "validity_months": spec.validity_months,
        "pass_score": spec.pass_score,
        "units": [[u.code, u.title, u.items_per_form, u.min_score] for u in spec.units],
    }
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
            content_hash=s_hash,
            updated_at=now,
        )
        session.add(scheme)
        await session.flush()
        report.created = True
    elif scheme.content_hash != s_hash:
        scheme.version, scheme.title, scheme.position = spec.version, spec.title, spec.position
        scheme.duration_minutes, scheme.validity_months = spec.duration_minutes, spec.validity_months
        scheme.pass_score, scheme.content_hash, scheme.updated_at = spec.pass_score, s_hash, now
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
            item = found[0]
            if item.retired_at is not None:
                item.retired_at = None
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
    )


async def import_banks(
    session: AsyncSession, banks: Sequence[BankFile], *, actor: str | None
) -> ImportReport:
    report = ImportReport()
    for bank in banks:
        report.schemes.append(await import_bank(session, bank, actor=actor))
    return report


async def list_schemes(session: AsyncSession) -> list[tuple[Scheme, list[SchemeUnit]]]:
    schemes = (await session.exec(select(Scheme).order_by(col(Scheme.code)))).all()
    units = (
        await session.exec(select(SchemeUnit).order_by(col(SchemeUnit.scheme_id), col(SchemeUnit.ordinal)))
    ).all()
    by_scheme: dict[int, list[SchemeUnit]] = {}
    for u in units:
        by_scheme.setdefault(u.scheme_id, []).append(u)
    return [(s, by_scheme.get(s.id or 0, [])) for s in schemes]


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
