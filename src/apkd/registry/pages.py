"""Rendering of the public verification page (Jinja2 templates in apkd/web/templates)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from apkd.registry.policy import Verdict
from apkd.templating import DEFAULT_TZ, render
from apkd.timefmt import format_datetime_id

__all__ = ["CHECK_LABELS", "STATUS_DISPLAY", "render"]

PAGE_TZ = DEFAULT_TZ

# status -> (headline, css class, one-line explanation)
STATUS_DISPLAY: dict[str, tuple[str, str, str]] = {
    "valid": ("BERLAKU", "valid", "Sertifikat ini sah dan masih berlaku."),
    "suspended": ("DIBEKUKAN", "suspended", "Sertifikat ini sedang dibekukan oleh penerbit."),
    "revoked": ("DICABUT", "revoked", "Sertifikat ini telah dicabut oleh penerbit dan tidak berlaku."),
    "expired": ("KEDALUWARSA", "expired", "Masa berlaku sertifikat ini sudah berakhir."),
    "invalid": (
        "TIDAK SAH",
        "invalid",
        "Sertifikat ini tidak dapat dibuktikan keasliannya. Jangan diterima.",
    ),
    "unknown": (
        "BELUM DAPAT DIPASTIKAN",
        "unknown",
        "Sebagian pemeriksaan tidak dapat dijalankan saat ini. Lihat rincian di bawah.",
    ),
}

CHECK_LABELS: dict[str, str] = {
    "format": "Format",
    "signature": "Tanda tangan digital",
    "key_not_compromised": "Kunci penerbit aman",
    "issuer": "Penerbit",
    "validity_period": "Masa berlaku",
    "revocation": "Pencabutan",
    "suspension": "Pembekuan",
    "registry_record": "Catatan registri",
    "in_log": "Log transparansi",
}


def verify_page(
    *,
    number: str,
    view: dict[str, Any] | None,
    verdict: Verdict | None,
    now: datetime,
    notice: str | None = None,
    base_url: str = "",
) -> str:
    status = verdict.status if verdict is not None else (view or {}).get("status", "unknown")
    headline, css, explanation = STATUS_DISPLAY.get(status, STATUS_DISPLAY["unknown"])
    signature = verdict.check("signature") if verdict is not None else None
    checks = [
        {"label": CHECK_LABELS.get(c.name, c.name), "ok": c.ok, "ran": c.ran, "detail": c.detail}
        for c in (verdict.checks if verdict is not None else ())
    ]
    not_checked = [c for c in checks if not c["ran"]]
    return render(
        "verify.html",
        number=number,
        view=view or {},
        status=status,
        headline=headline,
        css=css,
        explanation=explanation,
        signature=signature,
        checks=checks,
        not_checked=not_checked,
        checked_at=format_datetime_id(now, PAGE_TZ),
        notice=notice,
        base_url=base_url,
    )


def message_page(*, title: str, message: str, status_code: int, now: datetime) -> str:
    return render(
        "message.html",
        title=title,
        message=message,
        status_code=status_code,
        checked_at=format_datetime_id(now, PAGE_TZ),
    )
