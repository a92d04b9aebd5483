"""What the ``apkd`` command's subcommands share: running a coroutine, failing with a clear
message, and a database session that is one unit of work.

Domain commands (``apkd.<domain>.commands``) import these from here, not from ``apkd.cli``
(which imports the domains to register their commands): no import circle.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any, NoReturn, TypeVar

import click
from sqlmodel.ext.asyncio.session import AsyncSession

from apkd.config import get_settings

__all__ = ["db_session", "fail", "run", "with_session"]

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def fail(message: str) -> NoReturn:
    """Print ``Galat: message`` on stderr and exit 1."""
    click.echo(f"Galat: {message}", err=True)
    sys.exit(1)


@asynccontextmanager
async def db_session() -> AsyncIterator[AsyncSession]:
    """A command's unit of work: committed when the block succeeds, rolled back when it raises
    (docs/decisions/007-transactions.md)."""
    from apkd.db import create_engine, session_factory

    settings = get_settings()
    engine = create_engine(settings.database_url, pool_size=2, direct_pool_size=settings.direct_pool_size)
    try:
        async with session_factory(engine)() as session:
            try:
                yield session
            except BaseException:
                await session.rollback()
                raise
            else:
                await session.commit()
    finally:
        await engine.dispose()


def with_session(fn: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run ``fn`` in one unit of work (see :func:`db_session`)."""

    async def go() -> T:
        async with db_session() as s:
            return await fn(s)

    return run(go())
