"""Rendering of the public verification page (Jinja2 templates in apkd/web/templates)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from apkd.registry.policy import Verdict
from apkd.templating import DEFAULT_TZ, render
from apkd.timefmt import format_datetime_id

__all__ = [
    "CHECK_LABELS",
    "NEXT_STEP",
    "STATUS_DISPLAY",
    "home_page",
    "message_page",
    "next_step",
    "verify_page",
]

PAGE_TZ = DEFAULT_TZ

# status -> (headline, css class, one-line explanation)
STATUS_DISPLAY: dict[str, tuple[str, str, str]] = {
    "valid": ("BERLAKU", "valid", "Sertifikat ini sah dan masih berlaku."),
    "suspended": (
        "TIDAK BERLAKU SEMENTARA",
        "suspended",
        "Sertifikat ini sedang dibekukan oleh penerbit dan untuk sementara tidak berlaku.",
    ),
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

# status -> what the person checking should do now
NEXT_STEP: dict[str, str] = {
    "valid": "Cocokkan nama dan NIP di atas dengan identitas pemegang dan dengan sertifikat cetaknya. "
    "Bila sama, sertifikat ini dapat diterima.",
    "suspended": "Jangan diterima untuk sementara. Minta pemegang menyelesaikannya dengan penerbit, lalu periksa "
    "lagi nomor ini; statusnya berubah di sini begitu penerbit memulihkannya.",
    "revoked": "Jangan diterima: sertifikat ini tidak berlaku lagi. Pemegang perlu mengikuti sertifikasi ulang.",
    "expired": "Jangan diterima sebagai bukti kompetensi yang berlaku. Pemegang perlu mengikuti sertifikasi ulang "
    "untuk memperoleh sertifikat baru.",
    "invalid": "Jangan diterima; laporkan ke {issuer} beserta foto sertifikat dan kode QR-nya. Kode ini tidak "
    "diterbitkan oleh penerbit atau telah diubah.",
    "unknown": "Coba periksa lagi beberapa saat lagi. Sampai statusnya pasti, jangan terima sertifikat ini untuk "
    "keputusan penting.",
}
ISSUER_FALLBACK = "penerbit sertifikat (lembaga sertifikasi APKD)"
NOT_FOUND_STEP = (
    "Periksa kembali nomor pada sertifikat, huruf demi huruf, atau pindai kode QR-nya. Bila nomor sudah "
    "benar dan tetap tidak terdaftar, jangan diterima dan laporkan ke " + ISSUER_FALLBACK + "."
)
MISTYPED_STEP = (
    "Periksa kembali nomor: kemungkinan ada huruf atau angka yang salah ketik (misalnya O dan 0, I dan 1). "
    "Ketik ulang nomor persis seperti pada sertifikat, atau pindai kode QR-nya."
)


def next_step(status: str, issuer: str | None = None) -> str:
    return NEXT_STEP.get(status, NEXT_STEP["unknown"]).format(issuer=issuer or ISSUER_FALLBACK)


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
    nip_form: bool = False,
    token: str | None = None,
    nip_result: str | None = None,
) -> str:
    """`nip_form`: offer the form that checks a NIP the holder shows (the credential is in the
    registry); `token`: the QR token the page was reached with, carried by that form;
    `nip_result`: match | mismatch | unknown | empty | needs_scan | limited, after the form was sent."""
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
        next_step=next_step(status, ((view or {}).get("issuer") or {}).get("name")),
        signature=signature,
        checks=checks,
        not_checked=not_checked,
        checked_at=format_datetime_id(now, PAGE_TZ),
        notice=notice,
        base_url=base_url,
        nip_form=nip_form,
        token=token,
        nip_result=nip_result,
        nip_message=NIP_RESULTS.get(nip_result or ""),
    )


# What the page says after a NIP was checked: (css class, text).
NIP_RESULTS = {
    "match": ("ok", "NIP yang ditunjukkan COCOK dengan NIP pemegang sertifikat ini."),
    "mismatch": (
        "bad",
        "NIP yang ditunjukkan TIDAK COCOK dengan NIP pemegang sertifikat ini. Periksa kembali angka "
        "yang diketik; bila tetap tidak cocok, sertifikat ini bukan milik orang tersebut.",
    ),
    "unknown": ("warn", "NIP belum dapat dicocokkan saat ini (registri tidak terjangkau). Coba lagi nanti."),
    "empty": ("warn", "Ketik NIP 18 angka yang ditunjukkan pemegang terlebih dahulu."),
    "needs_scan": (
        "warn",
        "NIP hanya dapat dicocokkan dari halaman yang dibuka dengan memindai kode QR pada sertifikat.",
    ),
    "limited": (
        "warn",
        "Terlalu banyak pencocokan NIP dalam satu menit. Tunggu sebentar, lalu coba lagi.",
    ),
}


def message_page(
    *,
    title: str,
    message: str,
    status_code: int,
    now: datetime,
    next_step: str | None = None,
    css: str = "unknown",
    typed: str = "",
) -> str:
    return render(
        "message.html",
        title=title,
        message=message,
        status_code=status_code,
        next_step=next_step,
        css=css,
        typed=typed,
        checked_at=format_datetime_id(now, PAGE_TZ),
    )


def home_page(*, now: datetime, error: str | None = None, typed: str = "") -> str:
    """``/`` and ``/v``: a box to type a credential number."""
    return render("home.html", error=error, typed=typed, checked_at=format_datetime_id(now, PAGE_TZ))
