"""The per-worker batching of rate-limit counts (apkd.registry.ratelimit.Batched): exact near
the limit, few store round trips far from it, and a bounded overshoot across workers."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apkd.registry.ratelimit import Batched, MemoryCounter


class CountingStore(MemoryCounter):
    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    async def hit(self, key: str, window: int, n: int = 1) -> int:
        self.calls += 1
        return await super().hit(key, window, n)


async def test_one_worker_is_exact_at_the_limit() -> None:
    limiter = Batched(MemoryCounter(), limit=120)
    counts = [await limiter.hit("10.0.0.1", 7) for _ in range(125)]
    assert counts[:120] == list(range(1, 121))  # every answer is the true count
    assert all(c > 120 for c in counts[120:])  # the 121st is refused


async def test_far_from_the_limit_the_store_is_asked_rarely() -> None:
    store = CountingStore()
    limiter = Batched(store, limit=1_000_000)
    for _ in range(3200):
        await limiter.hit("10.0.0.1", 7)
    assert store.calls == 100  # batches of 32
    assert await store.hit("10.0.0.1", 7, 0) == 3200  # nothing lost


async def test_near_the_limit_every_request_is_told() -> None:
    store = CountingStore()
    limiter = Batched(store, limit=40)
    for _ in range(40):
        await limiter.hit("10.0.0.1", 7)
    assert store.calls == 40


async def test_a_new_window_starts_from_zero_and_keys_are_apart() -> None:
    limiter = Batched(MemoryCounter(), limit=3)
    assert [await limiter.hit("a", 1) for _ in range(4)] == [1, 2, 3, 4]
    assert await limiter.hit("b", 1) == 1
    assert await limiter.hit("a", 2) == 1


async def test_a_failing_store_loses_no_pending_hit() -> None:
    class Flaky(MemoryCounter):
        fail = True

        async def hit(self, key: str, window: int, n: int = 1) -> int:
            if self.fail:
                raise ConnectionError("store down")
            return await super().hit(key, window, n)

    store = Flaky()
    limiter = Batched(store, limit=5)
    with pytest.raises(ConnectionError):
        await limiter.hit("a", 1)
    store.fail = False
    assert await limiter.hit("a", 1) == 2


@settings(max_examples=60, deadline=None)
@given(
    limit=st.integers(min_value=1, max_value=3000),
    workers=st.integers(min_value=1, max_value=8),
    order=st.lists(st.integers(min_value=0, max_value=7), min_size=1, max_size=4000),
)
def test_workers_sharing_a_store_pass_the_limit_by_little(limit: int, workers: int, order: list[int]) -> None:
    """However one client's requests are spread over the workers, no more than
    limit + workers x limit / 32 of them are admitted in a window."""

    async def run() -> int:
        store = MemoryCounter()
        pool = [Batched(store, limit) for _ in range(workers)]
        admitted = 0
        for w in order:
            if await pool[w % workers].hit("10.0.0.9", 7) <= limit:
                admitted += 1
        return admitted

    admitted = asyncio.run(run())
    assert admitted <= limit + workers * (limit // 32)
    if workers == 1:
        assert admitted == min(limit, len(order))
