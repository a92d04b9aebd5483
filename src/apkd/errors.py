"""RFC 9457 problem details: one error hierarchy for every domain, one renderer.

Services raise :class:`AppError` subclasses with a machine-readable ``code`` and an
Indonesian ``detail`` that tells the user what to do; the app turns them (and Litestar's own
HTTP errors) into ``application/problem+json``.
"""

from __future__ import annotations

import logging
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("apkd")

_TITLES = {
    400: "Permintaan tidak valid",
    401: "Perlu masuk (login)",
    403: "Akses ditolak",
    404: "Tidak ditemukan",
    405: "Metode tidak diizinkan",
    409: "Konflik",
    413: "Permintaan terlalu besar",
    422: "Data tidak dapat diproses",
    429: "Terlalu banyak permintaan",
    500: "Kesalahan server",
    503: "Layanan tidak tersedia",
}


class AppError(Exception):
    status = 400
    code = "bad_request"

    def __init__(
        self,
        detail: str,
        *,
        code: str | None = None,
        status: int | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.extra = extra or {}
        self.headers = headers or {}


class BadRequest(AppError):
    status = 400
    code = "bad_request"


class Unauthorized(AppError):
    status = 401
    code = "unauthorized"


class Forbidden(AppError):
    status = 403
    code = "forbidden"


class NotFound(AppError):
    status = 404
    code = "not_found"


class Conflict(AppError):
    status = 409
    code = "conflict"


class Unprocessable(AppError):
    status = 422
    code = "unprocessable"


class TooManyRequests(AppError):
    status = 429
    code = "rate_limited"


class ServiceUnavailable(AppError):
    status = 503
    code = "service_unavailable"


def problem(
    status: int,
    code: str,
    detail: str,
    *,
    title: str | None = None,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    instance: str | None = None,
) -> Response[dict[str, Any]]:
    body: dict[str, Any] = {
        "type": "about:blank",
        "status": status,
        "title": title or _TITLES.get(status, "Kesalahan"),
        "detail": detail,
        "code": code,
    }
    if instance:
        body["instance"] = instance
    if extra:
        body.update(extra)
    return Response(content=body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def app_error_handler(request: Request[Any, Any, Any], exc: AppError) -> Response[dict[str, Any]]:
    return problem(
        exc.status, exc.code, exc.detail, extra=exc.extra, headers=exc.headers, instance=request.url.path
    )


def validation_handler(request: Request[Any, Any, Any], exc: ValidationException) -> Response[dict[str, Any]]:
    errors = exc.extra if isinstance(exc.extra, list) else []
    return problem(
        400,
        "validation_error",
        "Data yang dikirim tidak sesuai format: periksa bagian 'errors'.",
        extra={"errors": errors},
        instance=request.url.path,
    )


def http_error_handler(request: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    status = exc.status_code
    if isinstance(exc, NotAuthorizedException):
        code, detail = (
            "unauthorized",
            "Token akses tidak ada, tidak sah, atau kedaluwarsa. Silakan masuk lagi.",
        )
    elif isinstance(exc, PermissionDeniedException):
        code, detail = "forbidden", "Peran Anda tidak berhak mengakses sumber ini."
    elif status == 404:
        code, detail = "not_found", "Alamat atau data yang diminta tidak ditemukan."
    elif status == 405:
        code, detail = "method_not_allowed", "Metode HTTP ini tidak didukung pada alamat ini."
    elif status == 413:
        code, detail = "payload_too_large", "Isi permintaan melebihi batas ukuran."
    elif status == 429:
        code, detail = "rate_limited", "Terlalu banyak permintaan. Coba lagi sebentar lagi."
    else:
        code, detail = f"http_{status}", str(exc.detail or _TITLES.get(status, "Kesalahan"))
    headers = dict(exc.headers or {})
    return problem(status, code, detail, headers=headers or None, instance=request.url.path)


def internal_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem(
        HTTP_500_INTERNAL_SERVER_ERROR,
        "internal_error",
        "Terjadi kesalahan di server. Data yang sudah tersimpan tetap aman; coba lagi.",
        instance=request.url.path,
    )


EXCEPTION_HANDLERS: dict[Any, Any] = {
    AppError: app_error_handler,
    ValidationException: validation_handler,
    HTTPException: http_error_handler,
    Exception: internal_error_handler,
}

__all__ = [
    "PROBLEM_JSON",
    "AppError",
    "BadRequest",
    "Conflict",
    "Forbidden",
    "MediaType",
    "NotFound",
    "ServiceUnavailable",
    "TooManyRequests",
    "Unauthorized",
    "Unprocessable",
    "problem",
]
