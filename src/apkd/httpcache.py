"""HTTP caching of public documents, in one place: ETag, If-None-Match, Cache-Control.

Used by the JWKS, status lists, QR images and PDFs (credentials), the log checkpoint
(translog) and registry records (registry).

    from apkd.httpcache import cached

    @get("/.well-known/jwks.json", opt={"public": True})
    async def jwks(request: Request, db: AsyncSession) -> Response[bytes]:
        doc = await service.public_jwks(db)
        return cached(request, doc, cache_control="public, max-age=300")

`cached` serialises the body once (dict/list -> compact JSON, str -> UTF-8, bytes as is),
gives it a strong ETag (SHA-256 of the bytes, unless the caller knows a cheaper one), and
answers ``304 Not Modified`` without a body when the request's If-None-Match names that
ETag (or ``*``; weak comparison, as RFC 9110 section 13.1.2 wants for If-None-Match).

`Prepared` is the same answer built once and replayed: the status line, the headers already
encoded for ASGI and the body. A hot route that serves the same document many times
(a registry record scanned at an event) returns it from a handler annotated ``-> ASGIApp``
and skips building a Response for every request.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from litestar import Request, Response
from litestar.types import Receive, Scope, Send

__all__ = [
    "NO_CACHE",
    "NO_STORE",
    "Prepared",
    "attachment",
    "cached",
    "etag_for",
    "if_none_match",
    "request_header",
]

NO_CACHE = "no-cache"  # store, but revalidate every time
NO_STORE = "no-store"  # never keep (a file with personal data, made for this request)


def attachment(
    content: bytes,
    media_type: str,
    filename: str,
    *,
    cache_control: str = NO_STORE,
    headers: Mapping[str, str] | None = None,
) -> Response[bytes]:
    """A file for the browser to save as ``filename`` (``Content-Disposition: attachment``),
    not kept by caches unless ``cache_control`` says otherwise."""
    return Response(
        content,
        media_type=media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": cache_control,
            **(headers or {}),
        },
    )


def etag_for(*parts: bytes | str) -> str:
    """A strong ETag for these exact bytes (several parts are hashed with a separator)."""
    digest = hashlib.sha256()
    for i, part in enumerate(parts):
        if i:
            digest.update(b"\0")
        digest.update(part.encode("utf-8") if isinstance(part, str) else part)
    return '"' + digest.hexdigest()[:32] + '"'


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


def request_header(scope: Scope, name: bytes) -> str | None:
    """One request header straight from the ASGI scope (`name` in lower case), or None."""
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


def _body(content: Any) -> bytes:
    if isinstance(content, bytes):
        return content
    if isinstance(content, str):
        return content.encode("utf-8")
    return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _headers(etag: str, cache_control: str, headers: Mapping[str, str] | None) -> dict[str, str]:
    out = {"ETag": etag, "Cache-Control": cache_control}
    if headers:
        out.update(headers)
    return out


def cached(
    request: Request[Any, Any, Any],
    content: Any,
    *,
    media_type: str = "application/json",
    cache_control: str = NO_CACHE,
    etag: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response[bytes]:
    """A 200 with ETag and Cache-Control, or a bodiless 304 when the client already has it.

    Pass `etag` when it is cheaper to know than hashing the body (a status list version).
    """
    body = _body(content)
    tag = etag or etag_for(body)
    out = _headers(tag, cache_control, headers)
    if if_none_match(request.headers.get("if-none-match"), tag):
        return Response(b"", status_code=304, headers=out, media_type=media_type)
    return Response(body, headers=out, media_type=media_type)


class _Replay:
    """An ASGI app sending one fixed response (status, encoded headers, body)."""

    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status, "headers": self.headers})
        await send({"type": "http.response.body", "body": self.body, "more_body": False})


class Prepared:
    """A cacheable document with its 200 and 304 answers built once, to serve many times.

    The bytes on the wire are those `cached` would send for the same arguments.
    """

    __slots__ = ("etag", "not_modified", "ok")

    def __init__(
        self,
        content: Any,
        *,
        media_type: str = "application/json",
        cache_control: str = NO_CACHE,
        etag: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        body = _body(content)
        self.etag = etag or etag_for(body)
        common = [
            (name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, value in _headers(self.etag, cache_control, headers).items()
        ]
        self.ok = _Replay(
            200,
            [
                *common,
                (b"content-type", media_type.encode("latin-1")),
                (b"content-length", str(len(body)).encode("ascii")),
            ],
            body,
        )
        self.not_modified = _Replay(304, common, b"")

    def answer(self, scope: Scope) -> _Replay:
        """The 304 when the request's If-None-Match names this document, else the 200."""
        if if_none_match(request_header(scope, b"if-none-match"), self.etag):
            return self.not_modified
        return self.ok
