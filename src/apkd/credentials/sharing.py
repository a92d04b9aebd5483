"""Sharing a credential elsewhere: the "add to LinkedIn profile" link.

LinkedIn's "Add to profile" for certifications takes the certification's fields in the
query of ``https://www.linkedin.com/profile/add?startTask=CERTIFICATION_NAME`` (name,
organizationId or organizationName, issueYear/Month, expirationYear/Month, certUrl, certId).
The holder opens it while logged in to LinkedIn and confirms; nothing is sent from apkd.
Pure: no database.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

__all__ = ["LINKEDIN_ADD_URL", "linkedin_add_url"]

LINKEDIN_ADD_URL = "https://www.linkedin.com/profile/add"


def linkedin_add_url(
    *,
    name: str,
    organization_name: str,
    organization_id: str = "",
    valid_from: datetime,
    valid_until: datetime | None,
    verify_url: str,
    number: str,
    tz: ZoneInfo,
) -> str:
    """The link that opens LinkedIn's "add certification" form filled in; months and years in
    the issuer's zone `tz`. A LinkedIn organization id, when known, names the body exactly."""
    start = valid_from.astimezone(tz)
    params: list[tuple[str, str]] = [("startTask", "CERTIFICATION_NAME"), ("name", name)]
    if organization_id.strip():
        params.append(("organizationId", organization_id.strip()))
    else:
        params.append(("organizationName", organization_name))
    params += [("issueYear", str(start.year)), ("issueMonth", str(start.month))]
    if valid_until is not None:
        end = valid_until.astimezone(tz)
        params += [("expirationYear", str(end.year)), ("expirationMonth", str(end.month))]
    params += [("certUrl", verify_url), ("certId", number)]
    return f"{LINKEDIN_ADD_URL}?{urlencode(params)}"
