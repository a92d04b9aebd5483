"""Password hashing off the event loop: argon2 in worker threads, a bounded number at a time.

An argon2id hash or verification is tens of milliseconds of CPU. Run in the handler it stops
every other request of the worker meanwhile (20 candidates logging in together once held a
proctor's request for 3.3 s and /healthz for 5.3 s). Here each runs in a thread of a small pool
of its own (argon2-cffi releases the GIL while hashing), and at most
``APKD_PASSWORD_HASH_CONCURRENCY`` run at once per worker: the others wait their turn without
occupying a thread, so a login storm queues logins instead of starving the answer saves.
"""

from __future__ import annotations

import asyncio
import weakref
from concurrent.futures import ThreadPoolExecutor

from apkd.accounts import security

__all__ = ["configure", "hash_password", "verify_password"]

_limit = 2
_executor: ThreadPoolExecutor | None = None
_gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = weakref.WeakKeyDictionary()


def configure(concurrency: int) -> None:
    """At most ``concurrency`` hashes at once in this process (APKD_PASSWORD_HASH_CONCURRENCY)."""
    global _limit, _executor
    concurrency = max(1, concurrency)
    if concurrency != _limit:
        _limit = concurrency
        old, _executor = _executor, None
        _gates.clear()
        if old is not None:
            old.shutdown(wait=False)


def _pool() -> ThreadPoolExecutor:
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(max_workers=_limit, thread_name_prefix="apkd-argon2")
    return _executor


def _gate() -> asyncio.Semaphore:
    loop = asyncio.get_running_loop()
    gate = _gates.get(loop)
    if gate is None:
        gate = _gates[loop] = asyncio.Semaphore(_limit)
    return gate


async def verify_password(password_hash: str | None, password: str) -> bool:
    """security.verify_password in a worker thread (an unknown user costs one verification too)."""
    async with _gate():
        return await asyncio.get_running_loop().run_in_executor(
            _pool(), security.verify_password, password_hash, password
        )


async def hash_password(password: str) -> str:
    """security.hash_password in a worker thread."""
    async with _gate():
        return await asyncio.get_running_loop().run_in_executor(_pool(), security.hash_password, password)
