"""What grading asks of the credential side, inverted (docs/interfaces.md).

Grading knows nothing of credentials: after publishing or regrading it calls
``current().issue(...)`` for results that (newly) pass and ``current().revoke_regraded(...)``
for results that no longer pass. The credentials package registers the real implementation
when ``apkd.credentials.service`` is imported (app.py imports every domain). Until then a
loudly named stand-in, :class:`NoCredentialEffects`, does nothing and reports zero.

Both calls run in the caller's transaction; the caller commits. Issuing is idempotent (one
credential per attempt), so handing over a result that already has a credential is harmless.
"""

from __future__ import annotations

import logging
from typing import Protocol

from sqlmodel.ext.asyncio.session import AsyncSession

__all__ = ["CredentialEffects", "NoCredentialEffects", "current", "register", "reset"]

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


class NoCredentialEffects:
    """Development stand-in used while no credentials implementation is registered."""

    async def issue(self, session: AsyncSession, result_ids: list[int], *, actor: str | None) -> int:
        if result_ids:
            log.warning("no credential implementation registered: %d issuance(s) skipped", len(result_ids))
        return 0

    async def revoke_regraded(
        self, session: AsyncSession, result_ids: list[int], *, actor: str | None
    ) -> int:
        if result_ids:
            log.warning("no credential implementation registered: %d revocation(s) skipped", len(result_ids))
        return 0


_NONE = NoCredentialEffects()
_registered: CredentialEffects | None = None


def register(effects: CredentialEffects) -> None:
    """Install the implementation grading calls (the credentials package does this on import)."""
    global _registered
    _registered = effects


def reset() -> None:
    """Back to the stand-in (for tests)."""
    global _registered
    _registered = None


def current() -> CredentialEffects:
    return _registered if _registered is not None else _NONE
