"""HTTP handlers of this domain. ``ROUTES`` is what app.py mounts."""

from __future__ import annotations

from typing import Any

ROUTES: list[Any] = []
