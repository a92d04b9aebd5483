"""Cross-domain hooks, wired where the program is assembled, never by importing a module.

:func:`wire` is called by ``apkd.app.create_app`` and by the ``apkd`` command before any
subcommand runs. Grading's credential effects (issuing on publish, revoking on regrade) are the
credentials package's, with these settings; on a site server (``site_mode``) the exams start
gate is the sites package's.
"""

from __future__ import annotations

from apkd.config import Settings
from apkd.credentials.service import Effects
from apkd.exams import gates, minute_notes
from apkd.grading import effects
from apkd.sites.service import minutes_notes, start_refusal

__all__ = ["wire"]


def wire(settings: Settings) -> None:
    """Register every cross-domain hook for a program running with ``settings``."""
    effects.register(Effects(settings))
    # A site server starts attempts of a loaded session only between unlock and seal.
    gates.register(start_refusal if settings.site_mode else None)
    # A session run on a site: its package, clock offset and wrong codes go into the minutes.
    minute_notes.register(minutes_notes)
