"""Run Alembic programmatically (``apkd db upgrade``, tests, ``make run``).

The migrations live at the repo's top (``migrations/``, where ``alembic`` from the repo finds
them through alembic.ini) and the wheel carries a copy as ``apkd/migrations``
(docs/decisions/008-migrations-in-the-wheel.md). An installed package uses its own copy; a
source checkout (editable install) uses the repo's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config

PACKAGE = Path(__file__).resolve().parent
REPO = PACKAGE.parents[1]


class MigrationsNotFound(RuntimeError):
    """Neither the installed package nor a source checkout has the migrations."""


def script_location() -> Path:
    """The migrations folder: the installed package's first, the repo's second."""
    for candidate in (PACKAGE / "migrations", REPO / "migrations"):
        if (candidate / "env.py").is_file() and (candidate / "versions").is_dir():
            return candidate
    raise MigrationsNotFound(
        f"folder migrasi tidak ditemukan (dicari di {PACKAGE / 'migrations'} dan {REPO / 'migrations'})"
    )


def alembic_config(url: str | None = None) -> Config:
    location = script_location()
    ini = location.parent / "alembic.ini"  # the repo's; an installed package has none
    cfg = Config(str(ini)) if ini.is_file() else Config()
    cfg.set_main_option("script_location", str(location))
    cfg.attributes["configure_logger"] = False
    if url:
        cfg.attributes["url"] = url
    return cfg


def upgrade(url: str | None = None, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def upgrade_on_connection(connection: Any, revision: str = "head") -> None:
    cfg = alembic_config()
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, revision)
