"""Cross-domain hooks, wired where the program is assembled, never by importing a module.

:func:`wire` is called by ``apkd.app.create_app`` and by the ``apkd`` command before any
subcommand runs. Today it has one hook: grading's credential effects (issuing on publish,
revoking on regrade) are the credentials package's, with these settings.
"""

from __future__ import annotations

from apkd.config import Settings
from apkd.credentials.service import Effects
from apkd.grading import effects

__all__ = ["wire"]


def wire(settings: Settings) -> None:
    """Register every cross-domain hook for a program running with ``settings``."""
    effects.register(Effects(settings))
