"""What every request passes at the edge of the app, before any handler sees it.

Before routing (:func:`wrap_edge`, around the whole ASGI app):
  - request headers have a size limit (``431``);
  - ``HEAD`` is answered wherever ``GET`` is, as ``GET`` without the body (RFC 9110 9.3.2);
  - a JSON body must be UTF-8 (``400 invalid_utf8``) and nested at most ``MAX_JSON_DEPTH``
    deep (``400 json_too_deep``): msgspec and the handlers never see one that is not.
After routing (:func:`path_bounds`, Litestar middleware; the path parameters are parsed):
  - an integer in the path outside a 32-bit column is an id that cannot exist: ``404``;
  - a text in the path or a query value holding a control character is refused (``404`` /
    ``422``) before it reaches the database (PostgreSQL answers NUL with an error).
On every response (:func:`security_headers`, a ``before_send`` hook): ``nosniff``, and HSTS in
production.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any, cast
from urllib.parse import parse_qsl

import msgspec
from litestar.datastructures import MutableScopeHeaders
from litestar.types import ASGIApp, Message, Scope

from apkd.apidocs import SCHEMA_CSP
from apkd.bounds import INT32_MAX, INT32_MIN, has_control_characters
from apkd.config import Settings
from apkd.errors import PROBLEM_JSON, NotFound, Unprocessable, problem_type

MAX_HEADER_BYTES = 16 * 1024  # all names and values together; a Bearer token is ~400 bytes
MAX_HEADERS = 100
MAX_JSON_DEPTH = 64
MAX_PATH_TEXT = 256
HSTS = "max-age=31536000; includeSubDomains"

# The raw ASGI plumbing below works on plain dicts (the TypedDicts of litestar.types do not let a
# request scope become a GET or a received message be replayed).
_Scope = dict[str, Any]
_Message = dict[str, Any]
_Receive = Callable[[], Awaitable[_Message]]
_Send = Callable[[_Message], Awaitable[None]]

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# A JSON string (escapes included), removed before the brackets are counted.
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_BRACKET = re.compile(rb"[\[\]{}]")


def json_too_deep(body: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether the JSON text ``body`` nests arrays/objects more than ``limit`` deep. Linear, and
    free for the usual body: fewer opening brackets than the limit cannot nest deeper."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    depth = 0
    for m in _BRACKET.finditer(_JSON_STRING.sub(b"", body)):
        if m.group() in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def _is_json(scope: _Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"content-type":
            return b"json" in value.lower()
    return True  # Litestar reads a body without a content type as JSON


async def _send_problem(
    send: _Send, settings: Settings, path: str, status: int, code: str, title: str, detail: str
) -> None:
    body = msgspec.json.encode(
        {
            "type": problem_type(code, settings.base_url),
            "status": status,
            "title": title,
            "detail": detail,
            "code": code,
            "instance": path,
        }
    )
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", PROBLEM_JSON.encode()),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})


def _headers_too_large(scope: _Scope) -> bool:
    headers = scope["headers"]
    if len(headers) > MAX_HEADERS:
        return True
    return sum(len(k) + len(v) for k, v in headers) > MAX_HEADER_BYTES


def _head_as_get(send: _Send) -> _Send:
    """Send a GET's answer as the answer to HEAD: the same status and headers, no body."""

    async def wrapped(message: _Message) -> None:
        if message["type"] == "http.response.body":
            if not message.get("more_body", False):
                await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        await send(message)

    return wrapped


async def _read_body(receive: _Receive, cap: int) -> tuple[list[_Message], bytes | None]:
    """The request's messages up to ``cap`` body bytes, and the whole body when it fits."""
    messages: list[_Message] = []
    size = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages, None
        size += len(message.get("body", b""))
        if size > cap:
            return messages, None  # too large: the app answers 413 as it reads the rest
        if not message.get("more_body", False):
            return messages, b"".join(m.get("body", b"") for m in messages)


def _replay(messages: list[_Message], receive: _Receive) -> _Receive:
    queue = list(messages)

    async def replayed() -> _Message:
        if queue:
            return queue.pop(0)
        return await receive()

    return replayed


def wrap_edge(app: ASGIApp, settings: Settings) -> ASGIApp:
    """The checks that run before routing (see the module docstring)."""
    cap = settings.max_body_bytes

    inner = cast(Callable[[_Scope, _Receive, _Send], Awaitable[None]], app)

    async def edge(scope: _Scope, receive: _Receive, send: _Send) -> None:
        if scope["type"] != "http":
            await inner(scope, receive, send)
            return
        if _headers_too_large(scope):
            await _send_problem(
                send,
                settings,
                scope["path"],
                431,
                "headers_too_large",
                "Header permintaan terlalu besar",
                f"Header permintaan melebihi batas ({MAX_HEADERS} header, {MAX_HEADER_BYTES} bita).",
            )
            return
        if scope["method"] == "HEAD":
            scope = {**scope, "method": "GET"}
            send = _head_as_get(send)
        elif scope["method"] in _BODY_METHODS and _is_json(scope):
            messages, body = await _read_body(receive, cap)
            receive = _replay(messages, receive)
            if body:
                try:
                    body.decode("utf-8")
                except UnicodeDecodeError:
                    await _send_problem(
                        send,
                        settings,
                        scope["path"],
                        400,
                        "invalid_utf8",
                        "Permintaan tidak valid",
                        "Isi permintaan harus teks UTF-8 yang sah.",
                    )
                    return
                if json_too_deep(body):
                    await _send_problem(
                        send,
                        settings,
                        scope["path"],
                        400,
                        "json_too_deep",
                        "Permintaan tidak valid",
                        f"JSON bersarang terlalu dalam (paling dalam {MAX_JSON_DEPTH} tingkat).",
                    )
                    return
        await inner(scope, receive, send)

    return cast(ASGIApp, edge)


def _check_path_and_query(scope: _Scope) -> None:
    for name, value in (scope.get("path_params") or {}).items():
        if isinstance(value, int) and not isinstance(value, bool) and not INT32_MIN <= value <= INT32_MAX:
            raise NotFound(
                f"Data dengan {name} {value} tidak ada (di luar rentang nomor yang mungkin).",
                code="not_found",
            )
        if isinstance(value, str) and (len(value) > MAX_PATH_TEXT or has_control_characters(value)):
            raise NotFound("Alamat atau data yang diminta tidak ditemukan.", code="not_found")
    query: bytes = scope.get("query_string", b"")
    if b"%" in query:  # a control character in a URL is always percent-encoded
        for key, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
            if has_control_characters(key) or has_control_characters(value):
                raise Unprocessable(
                    f"Parameter '{key[:40]}' memuat karakter kendali yang tidak diizinkan.",
                    code="forbidden_characters",
                )


def path_bounds(app: ASGIApp) -> ASGIApp:
    """Litestar middleware: ids and texts of the path, and query values, within their bounds."""

    inner = cast(Callable[[_Scope, _Receive, _Send], Awaitable[None]], app)

    async def bounded(scope: _Scope, receive: _Receive, send: _Send) -> None:
        if scope["type"] == "http":
            _check_path_and_query(scope)
        await inner(scope, receive, send)

    return cast(ASGIApp, bounded)


def security_headers(settings: Settings) -> Callable[[Message, Scope], Awaitable[None]]:
    """A ``before_send`` hook: ``nosniff`` on every response, HSTS in production."""
    hsts = settings.is_production

    async def hook(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        headers = MutableScopeHeaders.from_message(message)
        if "x-content-type-options" not in headers:
            headers["X-Content-Type-Options"] = "nosniff"
        if hsts and "strict-transport-security" not in headers:
            headers["Strict-Transport-Security"] = HSTS
        path = scope.get("path", "")
        if (path == "/schema" or path.startswith("/schema/")) and "content-security-policy" not in headers:
            headers["Content-Security-Policy"] = SCHEMA_CSP

    return hook


__all__ = [
    "MAX_HEADER_BYTES",
    "MAX_JSON_DEPTH",
    "json_too_deep",
    "path_bounds",
    "security_headers",
    "wrap_edge",
]
