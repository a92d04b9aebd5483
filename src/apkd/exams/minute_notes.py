"""Notes another package adds to a session's minutes (berita acara): one hook, registered only
by ``apkd.wiring.wire`` (inverted, like the start gate in ``gates.py``).

The sites package registers its notes: for a session run on an exam site server, when the
package was loaded, unlocked and sealed (on the site's clock), the site clock's offset, and
the wrong unlock codes (issue 16, "put the offset in the minutes").
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlmodel.ext.asyncio.session import AsyncSession

__all__ = ["MinuteNotes", "current", "register"]

# Given the session, the exam session's id and its time zone: lines of Indonesian text.
MinuteNotes = Callable[[AsyncSession, int, str], Awaitable[list[str]]]

_notes: MinuteNotes | None = None


def register(notes: MinuteNotes | None) -> None:
    """Set (or, with None, remove) the notes of this program."""
    global _notes
    _notes = notes


def current() -> MinuteNotes | None:
    return _notes
