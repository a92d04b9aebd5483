"""Sending a signed file from a site to the centre: one POST, and the retry rules that the
results push and the state reports share (docs/decisions/042-site-state-reports.md).

A 200 is done; a 4xx other than 408/429 is the centre's refusal (retrying cannot help), except
the problem codes a caller names as "already known" (``report_stale``); anything else (no
answer, 5xx, 408, 429) is worth another try.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx

__all__ = ["STALE_IS_KNOWN", "Outcome", "deliver", "post"]

# A state report the centre refuses as stale: it already holds a newer one, nothing to resend.
STALE_IS_KNOWN = frozenset({"report_stale"})


@dataclass(frozen=True)
class Outcome:
    status: int  # 0: no answer from the centre
    text: str
    code: str | None = None  # the problem code of a refusal
    accepted: frozenset[str] = frozenset()

    @property
    def verdict(self) -> str:
        if self.status == 200 or (self.code is not None and self.code in self.accepted):
            return "done"
        if 400 <= self.status < 500 and self.status not in (408, 429):
            return "refused"
        return "retry"


async def post(
    url: str, data: bytes, *, wait_seconds: float = 60.0, accepted: frozenset[str] = frozenset()
) -> Outcome:
    """POST ``data`` as JSON to ``url`` once; never raises for a network fault."""
    try:
        async with httpx.AsyncClient(timeout=wait_seconds) as client:
            r = await client.post(url, content=data, headers={"Content-Type": "application/json"})
    except httpx.HTTPError as exc:
        return Outcome(0, str(exc) or type(exc).__name__, accepted=accepted)
    code = None
    if r.headers.get("content-type", "").startswith("application/problem+json"):
        try:
            value = json.loads(r.text).get("code")
            code = value if isinstance(value, str) else None
        except (ValueError, AttributeError):
            code = None
    return Outcome(r.status_code, r.text[:300], code, accepted)


async def deliver(
    url: str,
    body: Callable[[], Awaitable[bytes]],
    *,
    retries: int,
    interval: float,
    accepted: frozenset[str] = frozenset(),
    on_retry: Callable[[int, Outcome], None] | None = None,
    wait_seconds: float = 60.0,
) -> Outcome:
    """Post ``await body()`` (built again for each try) until the centre answers for good, or
    ``retries`` more tries have failed (0: no limit). Returns the last outcome."""
    attempt = 0
    while True:
        attempt += 1
        outcome = await post(url, await body(), wait_seconds=wait_seconds, accepted=accepted)
        if outcome.verdict != "retry" or (retries and attempt > retries):
            return outcome
        if on_retry is not None:
            on_retry(attempt, outcome)
        await asyncio.sleep(interval)
