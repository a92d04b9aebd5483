"""Numbers for a batch of credentials: serials per (scheme, year), and random indexes in the
revocation and suspension status lists. Both in the caller's transaction, under database
locks, so concurrent issuers never collide."""

from __future__ import annotations

import random
import secrets
from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from apkd.credentials.models import CredentialSerial, StatusList
from apkd.credentials.statuslist import STATUS_LIST_SIZE, allocate_random_index
from apkd.db import is_postgres, utcnow
from apkd.dbtypes import table_of

__all__ = ["StatusIndexAllocator", "allocate_serials"]


async def allocate_serials(session: AsyncSession, scheme_code: str, year: int, n: int) -> int:
    """Reserve ``n`` consecutive serials for (scheme, year); return the first one.

    One UPDATE ... RETURNING: on PostgreSQL it takes the row lock (held until commit), on
    SQLite the transaction already holds the write lock. Concurrent issuers get disjoint,
    gapless blocks; a rolled-back transaction gives its block back.
    """
    if n <= 0:
        raise ValueError("n must be positive")
    values = {"scheme_code": scheme_code, "year": year, "next_serial": 1}
    table = table_of(CredentialSerial)
    if is_postgres(session):
        ins: Any = pg_insert(table).values(**values).on_conflict_do_nothing()
    else:
        ins = sqlite_insert(table).values(**values).on_conflict_do_nothing()
    await session.exec(ins)
    stmt = (
        update(table)
        .where(table.c.scheme_code == scheme_code, table.c.year == year)
        .values(next_serial=table.c.next_serial + n)
        .returning(table.c.next_serial)
    )
    next_serial = int((await session.exec(stmt)).scalar_one())
    return next_serial - n


class StatusIndexAllocator:
    """Draws random free indexes from the (locked) lists of one purpose, in memory."""

    def __init__(self, session: AsyncSession, purpose: str) -> None:
        # Unpredictable from outside (seeded from the OS), cheap per draw.
        self.rng = random.Random(secrets.randbits(128))
        self.session = session
        self.purpose = purpose
        self.lists: list[StatusList] = []
        self.maps: dict[int, bytearray] = {}
        self.added: dict[int, int] = defaultdict(int)

    async def load(self) -> None:
        stmt = (
            select(StatusList)
            .where(StatusList.purpose == self.purpose, col(StatusList.allocated_count) < col(StatusList.size))
            .order_by(col(StatusList.id))
            .with_for_update()
        )
        self.lists = list((await self.session.exec(stmt)).all())
        for row in self.lists:
            assert row.id is not None
            self.maps[row.id] = bytearray(row.allocated)

    async def _new_list(self) -> StatusList:
        size = STATUS_LIST_SIZE
        row = StatusList(
            purpose=self.purpose,
            size=size,
            bits=bytes(size // 8),
            allocated=bytes(size // 8),
            allocated_count=0,
            version=1,
            updated_at=utcnow(),
        )
        self.session.add(row)
        await self.session.flush()
        assert row.id is not None
        self.lists.append(row)
        self.maps[row.id] = bytearray(row.allocated)
        return row

    async def take(self, n: int) -> list[tuple[int, int]]:
        """n (list id, index) pairs, each index random among the free ones of its list."""
        out: list[tuple[int, int]] = []
        pos = 0
        while len(out) < n:
            if pos >= len(self.lists):
                await self._new_list()
            row = self.lists[pos]
            assert row.id is not None
            free = row.size - row.allocated_count - self.added[row.id]
            if free <= 0:
                pos += 1
                continue
            used = self.maps[row.id]
            k = min(free, n - len(out))
            for _ in range(k):
                index = allocate_random_index(used, self.rng, row.size)
                used[index >> 3] |= 0x80 >> (index & 7)
                out.append((row.id, index))
            self.added[row.id] += k
            pos += 1
        return out

    def write_back(self, now: datetime) -> None:
        for row in self.lists:
            assert row.id is not None
            added = self.added.get(row.id, 0)
            if added:
                row.allocated = bytes(self.maps[row.id])
                row.allocated_count += added
                row.updated_at = now
                self.session.add(row)
