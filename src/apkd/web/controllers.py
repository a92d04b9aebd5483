"""Static files of the user interface (``/static/...``), public and long-cached."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar.static_files import create_static_files_router

STATIC_DIR = Path(__file__).parent / "static"

ROUTES: list[Any] = [
    create_static_files_router(
        path="/static",
        directories=[STATIC_DIR],
        opt={"public": True},
        cache_control=None,
        include_in_schema=False,
        name="static",
    )
]
