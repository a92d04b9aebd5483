"""The start gate: one hook another package may register to refuse starting an attempt in a
session (inverted, like grading's effects; registered only by ``apkd.wiring.wire``).

On an exam site server (issue 16) the sites package registers its rule: a session loaded from
a package starts only once the package is unlocked, and never after it is sealed. A program
without a gate (the centre) pays nothing on the start path.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlmodel.ext.asyncio.session import AsyncSession

__all__ = ["StartGate", "current", "register"]

# Given the session and the exam session's id: why no attempt may start now, or None.
StartGate = Callable[[AsyncSession, int], Awaitable[str | None]]

_gate: StartGate | None = None


def register(gate: StartGate | None) -> None:
    """Set (or, with None, remove) the gate of this program."""
    global _gate
    _gate = gate


def current() -> StartGate | None:
    return _gate
