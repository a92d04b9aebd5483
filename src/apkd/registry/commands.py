"""``apkd verify``: check a credential from its QR code or its vc+jwt, without the database.

    apkd verify sertifikat.png --jwks jwks.json            # offline: signature, issuer, validity
    apkd verify 'https://…/v/APKD-…?t=…' --jwks https://registri.example   # + status lists
    apkd verify vc.jwt --jwks jwks.json --status-list rev.jwt --status-list sus.jwt

Offline (a JWKS file) checks what the keys alone can prove and says plainly what it could
not check (revocation and suspension, the registry record, the transparency log). With a
URL (the JWKS URL or the registry's base URL) it fetches the JWKS and the token's signed
status lists and checks status too. Exit 0 when valid, 1 when not (or when it cannot tell).
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click

from apkd.registry import offline, policy
from apkd.registry.offline import StatusList, StatusListInvalid
from apkd.registry.policy import KeyInfo, Verdict

LABELS = {
    "format": "Format",
    "signature": "Tanda tangan digital",
    "key_not_compromised": "Kunci penerbit tidak bocor",
    "issuer": "Penerbit",
    "validity_period": "Masa berlaku",
    "revocation": "Pencabutan",
    "suspension": "Pembekuan",
    "registry_record": "Catatan registri",
    "in_log": "Log transparansi",
}
STATUS_WORDS = {
    "valid": "BERLAKU",
    "revoked": "DICABUT",
    "suspended": "DIBEKUKAN",
    "expired": "KEDALUWARSA",
    "invalid": "TIDAK SAH",
    "unknown": "TIDAK DAPAT DIPASTIKAN",
}
_IMAGE_MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"BM", b"RIFF")
FETCH_TIMEOUT = 10.0


class InputError(Exception):
    """The input or the JWKS could not be read; the message is for the user."""


def read_input(arg: str) -> str:
    """INPUT as text: '-' reads stdin; an image file is decoded as a QR code; another file is
    read as text; anything else is the text itself."""
    if arg == "-":
        return sys.stdin.read().strip()
    path = Path(arg)
    looks_like_path = (
        len(arg) < 1024 and "\n" not in arg and not arg.lower().startswith(("http://", "https://"))
    )
    try:
        is_file = looks_like_path and path.is_file()
    except OSError:  # e.g. a token longer than a file name may be
        is_file = False
    if is_file:
        data = path.read_bytes()
        if data.startswith(_IMAGE_MAGIC):
            from apkd.credentials.qrdecode import QRDecodeError, decode_qr_image

            try:
                return decode_qr_image(data).strip()
            except QRDecodeError as exc:
                raise InputError(str(exc)) from None
        try:
            return data.decode("utf-8").strip()
        except UnicodeDecodeError:
            raise InputError(f"{arg}: bukan gambar kode QR maupun teks") from None
    return arg.strip()


def _fetch(url: str, accept: str) -> str:
    import httpx

    try:
        r = httpx.get(url, headers={"Accept": accept}, timeout=FETCH_TIMEOUT, follow_redirects=True)
    except httpx.HTTPError as exc:
        raise InputError(f"tidak dapat mengambil {url}: {type(exc).__name__}") from None
    if r.status_code != 200:
        raise InputError(f"{url} menjawab HTTP {r.status_code}")
    return r.text


def jwks_source(value: str) -> tuple[str | None, str | None]:
    """(jwks_url, base_url) for a URL value: the JWKS URL itself or the registry's base URL."""
    parts = urlsplit(value)
    origin = f"{parts.scheme}://{parts.netloc}"
    if parts.path.endswith(".json"):
        prefix = parts.path.split("/.well-known/", 1)[0] if "/.well-known/" in parts.path else ""
        return value, origin + prefix
    base = value.rstrip("/")
    return base + "/.well-known/jwks.json", base


def load_keys(doc_text: str, where: str) -> dict[str, KeyInfo]:
    try:
        doc = json.loads(doc_text)
        keys = policy.keyinfos_from_jwks(doc)
    except (ValueError, AttributeError, TypeError) as exc:
        raise InputError(f"{where}: bukan JWKS yang sah ({exc})") from None
    if not keys:
        raise InputError(f"{where}: JWKS tidak memuat kunci Ed25519")
    return keys


def _status_lists_online(
    verdict_claims: policy.Claims, keys: dict[str, KeyInfo], issuer_id: str, base_url: str, now: datetime
) -> tuple[list[StatusList], str | None]:
    lists: list[StatusList] = []
    for ref in verdict_claims.status_refs:
        url = base_url.rstrip("/") + ref.list_url if ref.list_url.startswith("/") else ref.list_url
        try:
            token = _fetch(url, "application/vc+jwt")
            lists.append(offline.read_status_list(token, keys, issuer_id, now))
        except (InputError, StatusListInvalid) as exc:
            return lists, f"Status tidak dapat diperiksa: {exc}."
    return lists, None


def run_verify(
    text: str,
    *,
    keys: dict[str, KeyInfo],
    issuer_id: str,
    now: datetime,
    base_url: str | None,
    online: bool,
    status_list_tokens: list[str],
) -> Verdict:
    if not online and not status_list_tokens:
        return offline.verify_offline(text, keys, issuer_id, now)
    lists: list[StatusList] = []
    missing: str | None = None
    for token in status_list_tokens:
        try:
            lists.append(offline.read_status_list(token, keys, issuer_id, now))
        except StatusListInvalid as exc:
            missing = f"Status tidak dapat diperiksa: {exc}."
    if online and base_url is not None:
        presented = policy.parse_input(text)
        claims, _ = (None, None) if presented.error else policy.verify_signature(presented, keys)
        if claims is not None:
            fetched, why = _status_lists_online(claims, keys, issuer_id, base_url, now)
            lists.extend(fetched)
            missing = missing or why
    if missing is not None:
        return offline.verify_offline(text, keys, issuer_id, now, status_missing=missing)
    return offline.verify_offline(text, keys, issuer_id, now, lists=lists, base_url=base_url)


def _when(now: datetime) -> str:
    from apkd.timefmt import format_datetime_id, iso_utc

    return f"{format_datetime_id(now, 'Asia/Makassar')} ({iso_utc(now)})"


def report(verdict: Verdict, now: datetime, echo: Any = click.echo) -> None:
    for c in verdict.checks:
        mark = "OK" if c.ok else ("TIDAK DIPERIKSA" if not c.ran else "GAGAL")
        echo(f"[{mark}] {LABELS.get(c.name, c.name)}: {c.detail}")
    claims = verdict.claims
    if claims is not None:
        if claims.number:
            echo(f"Nomor: {claims.number}")
        if claims.holder_name:
            echo(f"Pemegang: {claims.holder_name}")
    not_checked = [LABELS.get(n, n).lower() for n in verdict.not_checked]
    if verdict.valid:
        echo(f"Sah per {_when(now)}.")
        if not_checked:
            echo(
                "PERHATIAN: diperiksa secara luring; yang TIDAK diperiksa: "
                + ", ".join(not_checked)
                + ". Sertifikat bisa saja sudah dicabut atau dibekukan: periksa di registri "
                "(pindai kode QR) atau jalankan lagi dengan --jwks URL registri."
            )
    else:
        echo(f"Hasil: {STATUS_WORDS.get(verdict.status, verdict.status)} per {_when(now)}.")


def register(main: click.Group) -> None:
    @main.command("verify")
    @click.argument("input_", metavar="INPUT")
    @click.option(
        "--jwks",
        "jwks_arg",
        default=None,
        help="Berkas JWKS (luring) atau URL JWKS / URL dasar registri (daring: status ikut diperiksa). "
        "Bawaan: var/jwks.json.",
    )
    @click.option(
        "--status-list",
        "status_lists",
        multiple=True,
        type=click.Path(exists=True, dir_okay=False),
        help="Berkas kredensial daftar status (vc+jwt) yang sudah diunduh; boleh berulang.",
    )
    @click.option("--issuer", default=None, help="ID penerbit yang dipercaya (bawaan: APKD_BASE_URL/issuer).")
    @click.option("--json", "as_json", is_flag=True, help="Cetak hasil sebagai JSON.")
    def verify_command(
        input_: str, jwks_arg: str | None, status_lists: tuple[str, ...], issuer: str | None, as_json: bool
    ) -> None:
        """Verifikasi sertifikat dari gambar QR (PNG), teks QR, atau vc+jwt. Keluar 0 bila sah."""
        from apkd.config import get_settings

        settings = get_settings()
        now = datetime.now(UTC)
        online = False
        base_url: str | None = settings.base_url
        try:
            text = read_input(input_)
            if jwks_arg and jwks_arg.lower().startswith(("http://", "https://")):
                online = True
                jwks_url, base_url = jwks_source(jwks_arg)
                assert jwks_url is not None
                keys = load_keys(_fetch(jwks_url, "application/json"), jwks_url)
            else:
                path = Path(jwks_arg) if jwks_arg else settings.var_dir / "jwks.json"
                if not path.is_file():
                    raise InputError(
                        f"berkas JWKS {path} tidak ada: berikan --jwks BERKAS (unduh dari "
                        "/.well-known/jwks.json registri) atau --jwks URL"
                    )
                keys = load_keys(path.read_text(encoding="utf-8"), str(path))
            tokens = [Path(p).read_text(encoding="utf-8").strip() for p in status_lists]
        except InputError as exc:
            click.echo(f"Galat: {exc}", err=True)
            sys.exit(1)
        issuer_id = issuer or (
            f"{base_url.rstrip('/')}/issuer" if online and base_url else settings.issuer_id
        )
        verdict = run_verify(
            text,
            keys=keys,
            issuer_id=issuer_id,
            now=now,
            base_url=base_url,
            online=online,
            status_list_tokens=tokens,
        )
        if as_json:
            click.echo(
                json.dumps(
                    {
                        "valid": verdict.valid,
                        "status": verdict.status,
                        "checked_at": now.isoformat(),
                        "checks": [c.as_dict() for c in verdict.checks],
                        "not_checked": list(verdict.not_checked),
                    },
                    ensure_ascii=False,
                    indent=1,
                )
            )
        else:
            report(verdict, now)
        sys.exit(0 if verdict.valid else 1)
