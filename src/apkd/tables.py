"""The registry of every table: imports each domain's models so ``SQLModel.metadata`` is whole.

Migrations (``migrations/env.py``), the migration-drift test and the test fixtures import this
module; the application does not need it (each domain imports its own models). Nothing imports
it from inside a domain, so it can import them all without a circle.
"""

from __future__ import annotations

from sqlalchemy import MetaData
from sqlmodel import SQLModel

import apkd.dbtypes  # noqa: F401  (sets the naming convention before any table is defined)
from apkd import audit  # noqa: F401
from apkd.accounts import models as _accounts  # noqa: F401
from apkd.appeals import models as _appeals  # noqa: F401
from apkd.banks import models as _banks  # noqa: F401
from apkd.credentials import models as _credentials  # noqa: F401
from apkd.exams import models as _exams  # noqa: F401
from apkd.grading import models as _grading  # noqa: F401
from apkd.signing import models as _signing  # noqa: F401
from apkd.sites import models as _sites  # noqa: F401
from apkd.translog import models as _translog  # noqa: F401

__all__ = ["metadata"]


def metadata() -> MetaData:
    """The metadata of every table (all domain models are imported with this module)."""
    return SQLModel.metadata
