"""RFC 9457 problem details for the app: one renderer for :class:`apkd.errors.AppError`,
Litestar's own HTTP and validation errors, database outages and anything unexpected."""

from __future__ import annotations

import logging
import re
from typing import Any

from litestar import Request, Response
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from apkd.errors import (
    PROBLEM_JSON,
    RETRY_AFTER_OUTAGE,
    AppError,
    is_database_outage,
    is_refused_value,
    problem_type,
)

__all__ = ["EXCEPTION_HANDLERS", "outage_response", "problem"]

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
    431: "Header permintaan terlalu besar",
    500: "Kesalahan server",
    503: "Layanan tidak tersedia",
}



def _base_url(request: Request[Any, Any, Any] | None) -> str:
    if request is None:
        return ""
    settings = getattr(request.app.state, "settings", None)
    return str(getattr(settings, "base_url", "") or "")


def problem(
    status: int,
    code: str,
    detail: str,
    *,
    title: str | None = None,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    instance: str | None = None,
    request: Request[Any, Any, Any] | None = None,
) -> Response[dict[str, Any]]:
    """An RFC 9457 problem. Members that RFC 9457 defines (``type``, ``status``, ``title``,
    ``detail``, ``instance``) are never overwritten by ``extra``."""
    if instance is None and request is not None:
        instance = request.url.path
    body: dict[str, Any] = dict(extra or {})
    body.update(
        {
            "type": problem_type(code, _base_url(request)),
            "status": status,
            "title": title or _TITLES.get(status, "Kesalahan"),
            "detail": detail,
            "code": code,
        }
    )
    if instance:
        body["instance"] = instance
    return Response(content=body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def app_error_handler(request: Request[Any, Any, Any], exc: AppError) -> Response[dict[str, Any]]:
    return problem(exc.status, exc.code, exc.detail, extra=exc.extra, headers=exc.headers, request=request)


# msgspec's words for a value of the right type that breaks a bound (apkd.bounds): such a
# request is well-formed but cannot be processed (422); anything else is malformed (400).
_BOUND_RE = re.compile(r"^Expected `\w+` (?:of length [<>]=|[<>]=? |matching regex |that is a multiple)")
_REGEX_RE = re.compile(r"^Expected `\w+` matching regex ")
_LENGTH_RE = re.compile(r"^Expected `\w+` of length <= (\d+)")
_NUMBER_RE = re.compile(r"^Expected `\w+` ([<>]=?) (-?\d+)")


def _explain(message: str) -> str:
    """An Indonesian reading of one msgspec constraint message."""
    if _REGEX_RE.match(message):
        return "Teks memuat karakter yang tidak diizinkan (karakter kendali atau pembalik arah teks)."
    m = _LENGTH_RE.match(message)
    if m:
        return f"Terlalu panjang: paling banyak {m.group(1)}."
    m = _NUMBER_RE.match(message)
    if m:
        word = "paling besar" if m.group(1).startswith("<") else "paling kecil"
        return f"Angka di luar rentang: {word} {m.group(2)}."
    return message


def validation_handler(request: Request[Any, Any, Any], exc: ValidationException) -> Response[dict[str, Any]]:
    errors = [e for e in exc.extra if isinstance(e, dict)] if isinstance(exc.extra, list) else []
    messages = [str(e.get("message", "")) for e in errors]
    if messages and all(_BOUND_RE.match(m) for m in messages):
        characters = any(_REGEX_RE.match(m) for m in messages)
        for e in errors:
            e["detail"] = _explain(str(e.get("message", "")))
        return problem(
            422,
            "forbidden_characters" if characters else "out_of_range",
            "Ada isian yang melanggar batasnya (panjang, rentang angka, atau karakter yang diizinkan): "
            "periksa bagian 'errors'.",
            extra={"errors": errors},
            request=request,
        )
    return problem(
        400,
        "validation_error",
        "Data yang dikirim tidak sesuai format: periksa bagian 'errors'.",
        extra={"errors": errors},
        request=request,
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
    elif status == 400:  # a body that is not JSON, a query value of the wrong type, ...
        code, detail = "bad_request", f"Permintaan tidak dapat dibaca: {exc.detail}."
    else:
        code, detail = f"http_{status}", str(exc.detail or _TITLES.get(status, "Kesalahan"))
    headers = dict(exc.headers or {})
    return problem(status, code, detail, headers=headers or None, request=request)


def outage_response(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    return problem(
        503,
        "database_unavailable",
        "Basis data sedang tidak dapat dihubungi. Jawaban yang sudah tersimpan tetap aman; "
        f"coba lagi dalam {RETRY_AFTER_OUTAGE} detik.",
        headers={"Retry-After": RETRY_AFTER_OUTAGE},
        request=request,
    )


def internal_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    if is_database_outage(exc):
        log.warning("database unavailable on %s %s: %s", request.method, request.url.path, type(exc).__name__)
        return outage_response(request)
    if is_refused_value(exc):
        log.warning("database refused a value on %s %s", request.method, request.url.path)
        return problem(
            422,
            "value_refused",
            "Basis data menolak salah satu nilai yang dikirim (terlalu panjang, di luar rentang, "
            "atau memuat karakter yang tidak diizinkan). Periksa isian lalu kirim lagi.",
            request=request,
        )
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem(
        HTTP_500_INTERNAL_SERVER_ERROR,
        "internal_error",
        "Terjadi kesalahan di server. Data yang sudah tersimpan tetap aman; coba lagi.",
        request=request,
    )


EXCEPTION_HANDLERS: dict[Any, Any] = {
    AppError: app_error_handler,
    ValidationException: validation_handler,
    HTTPException: http_error_handler,
    Exception: internal_error_handler,
}
