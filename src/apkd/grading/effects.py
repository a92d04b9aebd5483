"""What grading asks of the credential side, inverted (docs/interfaces.md).

Grading knows nothing of credentials: after publishing or regrading it calls
``current().issue(...)`` for results that (newly) pass and ``current().revoke_regraded(...)``
for results that no longer pass. The implementation is registered explicitly where the
program is assembled: ``apkd.wiring.wire`` (called by ``create_app`` and by the ``apkd``
command) registers the credentials package's. Nothing registers itself on import.

A missing registration is an error (:class:`EffectsNotRegistered`), never a silent skip:
publishing without it would grade and issue no credential. Tests (and benchmarks) that want
grading alone register :class:`NoCredentialEffects`, the loudly named stand-in, themselves.

Both calls run in the caller's transaction; the caller commits. Issuing is idempotent (one
credential per attempt), so handing over a result that already has a credential is harmless.
"""

from __future__ import annotations

import logging
from typing import Protocol

from sqlmodel.ext.asyncio.session import AsyncSession

__all__ = [
    "CredentialEffects",
    "EffectsNotRegistered",
    "NoCredentialEffects",
    "current",
    "register",
    "registered",
    "reset",
]

log = logging.getLogger("apkd.grading")


class CredentialEffects(Protocol):
    async def issue(self, session: AsyncSession, result_ids: list[int], *, actor: str | None) -> int:
        """Issue a credential for each passing result that has none; return how many were issued."""
        ...

    async def revoke_regraded(
        self, session: AsyncSession, result_ids: list[int], *, actor: str | None
    ) -> int:
        """Revoke (reason "regraded") the credentials of these results; return how many."""
        ...

    async def count_unissued(self, session: AsyncSession, result_ids: list[int]) -> int:
        """How many of these (passing) results have no credential yet; writes nothing."""
        ...


class EffectsNotRegistered(RuntimeError):
    """Grading was asked to publish in a program that never registered the credential side."""

    def __init__(self) -> None:
        super().__init__(
            "no credential effects registered: build the program with apkd.app.create_app() or "
            "call apkd.wiring.wire(settings) first (tests wanting grading alone register "
            "apkd.grading.effects.NoCredentialEffects())"
        )


class NoCredentialEffects:
    """Stand-in that issues and revokes nothing: only for tests and benchmarks of grading
    alone, registered explicitly."""

    async def issue(self, session: AsyncSession, result_ids: list[int], *, actor: str | None) -> int:
        if result_ids:
            log.warning("NoCredentialEffects registered: %d issuance(s) skipped", len(result_ids))
        return 0

    async def revoke_regraded(
        self, session: AsyncSession, result_ids: list[int], *, actor: str | None
    ) -> int:
        if result_ids:
            log.warning("NoCredentialEffects registered: %d revocation(s) skipped", len(result_ids))
        return 0

    async def count_unissued(self, session: AsyncSession, result_ids: list[int]) -> int:
        return 0


_registered: CredentialEffects | None = None


def register(effects: CredentialEffects | None) -> None:
    """Install the implementation grading calls (None: back to nothing registered)."""
    global _registered
    _registered = effects


def reset() -> None:
    """Nothing registered any more (for tests)."""
    register(None)


def registered() -> CredentialEffects | None:
    """The registered implementation, or None (to save and restore it around a test)."""
    return _registered


def current() -> CredentialEffects:
    """The registered implementation; EffectsNotRegistered when there is none."""
    if _registered is None:
        raise EffectsNotRegistered()
    return _registered
