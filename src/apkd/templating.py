"""The one Jinja2 environment of the HTML pages (templates in apkd/web/templates).

Used by the public verification page (registry) and the exam-room pages (web). Autoescaping
is on for every template; the ``tanggal`` filter shows a date in Indonesian in the given zone
(default WITA, the zone of the first test sites).
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, select_autoescape

from apkd import __version__
from apkd.timefmt import format_date_id

__all__ = ["DEFAULT_TZ", "render"]

DEFAULT_TZ = "Asia/Makassar"


def tanggal(value: Any, tz: str = DEFAULT_TZ) -> str:
    """A date in Indonesian ("28 November 2026") in zone `tz`; "-" for nothing."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, datetime):
        return format_date_id(value.astimezone(ZoneInfo(tz)))
    return "-"


@lru_cache(maxsize=1)
def _env() -> Environment:
    env = Environment(
        loader=PackageLoader("apkd.web", "templates"),
        autoescape=select_autoescape(["html", "xml"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["tanggal"] = tanggal
    env.globals["version"] = __version__
    return env


def render(template: str, **context: Any) -> str:
    return _env().get_template(template).render(**context)
