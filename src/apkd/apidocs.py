"""The API documentation at ``/schema``: the OpenAPI document and a Swagger UI served from the
package (the ``swagger-ui-py`` wheel ships the assets), under a Content-Security-Policy, with no
external URL.

The OpenAPI document is completed here once per app, from the routes themselves: every
operation lists every status it can answer and the content type of each (errors are
``application/problem+json`` with the ``Problem`` schema; 401/403 where a guard stands; 404 where
the path names something; 409 on writes; 413/422 where a body is read; 429 and 503 everywhere),
and the documents that are not JSON say what they are (``application/vc+jwt``, JWK sets, PNG,
SVG, PDF, CSV, HTML, the checkpoint note). Schemathesis checks the result against the app
(tests/test_fuzz_openapi.py).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from litestar import Litestar, Request
from litestar.enums import OpenAPIMediaType
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.plugins import OpenAPIRenderPlugin
from litestar.serialization import encode_json
from litestar.static_files import create_static_files_router

from apkd.errors import PROBLEM_JSON
from apkd.spreadsheet import XLSX_MEDIA_TYPE

ASSETS_PATH = "/apidocs"
SCHEMA_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details; `type` is a page under /problems/{code}.",
    "required": ["type", "status", "title", "detail", "code"],
    "properties": {
        "type": {"type": "string", "format": "uri-reference"},
        "status": {"type": "integer"},
        "title": {"type": "string"},
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object"}},
    },
    "additionalProperties": True,
}
_PROBLEM_CONTENT = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
_HTML = {"text/html": {"schema": {"type": "string"}}}

_ERROR_TEXT = {
    "400": "Permintaan tidak dapat dibaca (JSON rusak, bukan UTF-8, terlalu dalam, jenis isian salah)",
    "401": "Perlu masuk: token tidak ada, tidak sah, atau kedaluwarsa",
    "403": "Peran atau kepemilikan tidak mengizinkan",
    "404": "Tidak ditemukan (termasuk nomor di luar rentang kolomnya)",
    "409": "Bertentangan dengan keadaan data saat ini",
    "413": "Isi permintaan terlalu besar",
    "422": "Isian melanggar batasnya atau aturan layanan",
    "429": "Terlalu banyak permintaan (Retry-After)",
    "431": "Header permintaan terlalu besar",
    "503": "Basis data tidak dapat dihubungi (Retry-After)",
}
_NOT_MODIFIED = {"description": "Tidak berubah (If-None-Match cocok dengan ETag)"}


def _binary(media_type: str) -> dict[str, Any]:
    return {media_type: {"schema": {"type": "string", "format": "binary"}}}


# What an operation answers besides JSON, by path (success content and the 304 of ETag routes).
_SUCCESS_CONTENT: dict[str, dict[str, Any]] = {
    "/api/v1/status-lists/{list_id}": {"application/vc+jwt": {"schema": {"type": "string"}}},
    "/.well-known/jwks.json": {"application/jwk-set+json": {"schema": {"type": "object"}}},
    "/issuer": {"application/ld+json": {"schema": {"type": "object"}}},
    "/issuer/keys/{kid}": {"application/jwk+json": {"schema": {"type": "object"}}},
    "/api/v1/credentials/{number}/credential.json": {
        "application/vc+ld+json": {"schema": {"type": "object"}}
    },
    "/api/v1/credentials/{number}/qr.png": _binary("image/png"),
    "/api/v1/credentials/{number}/badge.png": _binary("image/png"),
    "/api/v1/credentials/{number}/badge.svg": {"image/svg+xml": {"schema": {"type": "string"}}},
    "/api/v1/credentials/{number}/credential.jwt": {"application/vc+jwt": {"schema": {"type": "string"}}},
    "/api/v1/schemes/{code}/badge.png": _binary("image/png"),
    "/api/v1/schemes/{code}/badge.svg": {"image/svg+xml": {"schema": {"type": "string"}}},
    "/api/v1/credentials/{number}/qr.svg": {"image/svg+xml": {"schema": {"type": "string"}}},
    "/api/v1/credentials/{number}/certificate.pdf": _binary("application/pdf"),
    "/api/v1/sessions/{session_id}/results.csv": {"text/csv": {"schema": {"type": "string"}}},
    "/api/v1/sessions/{session_id}/results.xlsx": _binary(XLSX_MEDIA_TYPE),
    "/api/v1/sessions/{session_id}/roster.csv": {"text/csv": {"schema": {"type": "string"}}},
    "/api/v1/sessions/{session_id}/roster.xlsx": _binary(XLSX_MEDIA_TYPE),
    "/api/v1/sessions/{session_id}/minutes.pdf": _binary("application/pdf"),
    "/problems/{code}": _HTML,
    "/api/v1/log/checkpoint.note": {"text/plain": {"schema": {"type": "string"}}},
}
_ALSO_CONTENT: dict[str, dict[str, Any]] = {
    "/api/v1/log/checkpoint": {"text/plain": {"schema": {"type": "string"}}},
    "/api/v1/sessions/{session_id}/item-analysis": {"text/csv": {"schema": {"type": "string"}}},
    "/api/v1/schemes/{code}/item-analysis": {"text/csv": {"schema": {"type": "string"}}},
    "/v/{number}": _HTML,
}
# Statuses a handler answers on its own (not from a guard or a bound).
_EXTRA_CODES: dict[str, list[str]] = {
    "/api/v1/auth/login": ["401"],
    "/api/v1/auth/refresh": ["401"],  # a spent or unknown refresh token, or no login at all
    # the raw results file (no schema body): malformed 422, too big 413, a conflicting file 409,
    # a signature or package the centre does not know 403 (authentication is the site signature)
    "/api/v1/sites/results": ["403", "409", "413", "422"],
    # a state report (raw signed body): stale 409, too big 413, unknown, forged or malformed 422
    "/api/v1/sites/state": ["403", "409", "413", "422"],
}
_HTML_ERRORS = {"/v/{number}"}  # the page answers its errors as pages unless JSON is asked for
_ETAG_PREFIXES = (
    "/api/v1/status-lists/",
    "/.well-known/jwks.json",
    "/.well-known/jwt-vc-issuer",
    "/issuer",
    "/api/v1/credentials/{number}",
    "/api/v1/log/checkpoint",
    "/api/v1/registry/{number}",
)


def _handlers(app: Litestar) -> dict[tuple[str, str], HTTPRouteHandler]:
    found: dict[tuple[str, str], HTTPRouteHandler] = {}
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            if isinstance(handler, HTTPRouteHandler):
                for method in handler.http_methods:
                    found[(route.path_format, method.lower())] = handler
    return found


def _guarded(handler: HTTPRouteHandler | None) -> bool:
    if handler is None:
        return False
    return any(layer.guards for layer in handler.ownership_layers)


def complete(doc: dict[str, Any], app: Litestar) -> dict[str, Any]:
    """``doc`` (a copy is returned) with every status and content type of every operation."""
    doc = copy.deepcopy(doc)
    doc.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    handlers = _handlers(app)
    for path, item in doc.get("paths", {}).items():
        for method, op in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            _complete_operation(path, method, op, handlers.get((path, method)))
    return doc


def _complete_operation(path: str, method: str, op: dict[str, Any], handler: HTTPRouteHandler | None) -> None:
    responses: dict[str, Any] = op.setdefault("responses", {})
    params = op.get("parameters", [])
    has_body = "requestBody" in op
    in_path = any(p.get("in") == "path" for p in params)
    for p in params:  # ids of the path are 32-bit columns: a larger one is a 404
        schema = p.get("schema", {})
        if p.get("in") == "path" and schema.get("type") == "integer":
            schema.setdefault("format", "int32")
    codes = ["400", "429", "431", "503"]
    if params or has_body:
        codes.append("422")
    if has_body:
        codes.append("413")
    if _guarded(handler):
        codes += ["401", "403"]
        if method != "get":
            codes.append("409")
    if in_path or path.startswith("/api/v1/registry/") or path == "/api/v1/log/lookup":
        codes.append("404")
    codes += _EXTRA_CODES.get(path, [])
    for code in codes:
        spec = responses.setdefault(code, {"description": _ERROR_TEXT.get(code, "Galat")})
        spec.setdefault("description", _ERROR_TEXT.get(code, "Galat"))
        spec["content"] = dict(_PROBLEM_CONTENT)
        if path in _HTML_ERRORS:
            spec["content"].update(_HTML)
    for code, spec in responses.items():
        if code.startswith(("4", "5")) and not spec.get("content"):
            spec["content"] = dict(_PROBLEM_CONTENT)
    success = next((c for c in responses if c.startswith("2")), None)
    if success is not None:
        if path in _SUCCESS_CONTENT:
            responses[success]["content"] = copy.deepcopy(_SUCCESS_CONTENT[path])
        if path in _ALSO_CONTENT:
            responses[success].setdefault("content", {}).update(copy.deepcopy(_ALSO_CONTENT[path]))
    if method == "get" and path.startswith(_ETAG_PREFIXES):
        responses.setdefault("304", dict(_NOT_MODIFIED))
    if path == "/healthz":
        responses["503"] = {
            "description": "Basis data tidak menjawab (Retry-After)",
            "content": {"application/json": {"schema": {"type": "object"}}},
        }


class OpenAPIDocument(OpenAPIRenderPlugin):
    """``/schema/openapi.json``: Litestar's document, completed by :func:`complete` (once)."""

    def __init__(self) -> None:
        super().__init__(path="/openapi.json", media_type=OpenAPIMediaType.OPENAPI_JSON)
        self._body: bytes | None = None

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        if self._body is None:
            self._body = encode_json(complete(openapi_schema, request.app))
        return self._body


class SwaggerPage(OpenAPIRenderPlugin):
    """``/schema`` and ``/schema/swagger``: Swagger UI from the package, no inline script."""

    def __init__(self) -> None:
        super().__init__(path=["/", "/swagger"])

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        return (
            '<!doctype html><html lang="id"><head><meta charset="utf-8">'
            "<title>apkd: dokumentasi API</title>"
            f'<link rel="stylesheet" href="{ASSETS_PATH}/swagger-ui.css"></head>'
            '<body><div id="swagger-ui" data-spec-url="/schema/openapi.json"></div>'
            f'<script src="{ASSETS_PATH}/swagger-ui-bundle.js"></script>'
            '<script src="/static/js/apidocs.js"></script></body></html>'
        ).encode()


def _assets_dir() -> Path:
    import swagger_ui

    return Path(swagger_ui.__file__).parent / "static"


def assets_router() -> Any:
    return create_static_files_router(
        path=ASSETS_PATH,
        directories=[_assets_dir()],
        opt={"public": True},
        include_in_schema=False,
        cache_control=None,
        name="apidocs-assets",
    )


__all__ = ["SCHEMA_CSP", "OpenAPIDocument", "SwaggerPage", "assets_router", "complete"]
