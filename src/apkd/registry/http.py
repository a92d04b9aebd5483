"""HTTP caching for public documents (JWKS, status lists, checkpoints, registry records).

    from apkd.registry.http import cached

    @get("/.well-known/jwks.json", opt={"public": True})
    async def jwks(request: Request, db: AsyncSession) -> Response[bytes]:
        doc = await service.public_jwks(db)
        return cached(request, doc, max_age=300)

`cached` serialises the body once (dict/list -> compact JSON, str -> UTF-8, bytes as is),
gives it a strong ETag (SHA-256 of the bytes), and answers ``304 Not Modified`` without a
body when the request's If-None-Match names that ETag (or ``*``; weak comparison, as
RFC 9110 section 13.1.2 wants for If-None-Match). ``Cache-Control`` is
``public, max-age=N`` (``no-cache`` when max_age is 0: store, but revalidate every time).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from litestar import Request, Response

__all__ = ["cached", "etag_for", "if_none_match"]


def etag_for(body: bytes) -> str:
    """A strong ETag for these exact bytes."""
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def if_none_match(header: str | None, etag: str) -> bool:
    """True when an If-None-Match header value matches `etag` (weak comparison)."""
    if not header:
        return False
    bare = etag.removeprefix("W/")
    for candidate in header.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == bare:
            return True
    return False


def _body(content: Any) -> bytes:
    if isinstance(content, bytes):
        return content
    if isinstance(content, str):
        return content.encode("utf-8")
    return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def cached(
    request: Request[Any, Any, Any],
    content: Any,
    *,
    media_type: str = "application/json",
    max_age: int = 60,
    etag: str | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response[bytes]:
    """A response with ETag and Cache-Control, or a bodiless 304 when the client has it.

    Pass `etag` when it is cheaper to know than hashing the body (e.g. a status list version).
    """
    body = _body(content)
    tag = etag or etag_for(body)
    cache_control = f"public, max-age={max_age}" if max_age > 0 else "no-cache"
    out_headers = {"ETag": tag, "Cache-Control": cache_control, "Vary": "Accept"}
    if headers:
        out_headers.update(headers)
    if if_none_match(request.headers.get("if-none-match"), tag):
        return Response(b"", status_code=304, headers=out_headers, media_type=media_type)
    return Response(body, status_code=status_code, headers=out_headers, media_type=media_type)
