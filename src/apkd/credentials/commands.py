"""`apkd keys ...`: the credential signing keys."""

from __future__ import annotations

import sys

import click
from sqlmodel.ext.asyncio.session import AsyncSession


def register(main: click.Group) -> None:
    @main.group()
    def keys() -> None:
        """Kunci penanda tangan sertifikat."""

    @keys.command("list")
    def keys_list() -> None:
        """Tampilkan semua kunci: kid, status, tanggal dibuat/pensiun/bocor."""
        from apkd.cliutil import with_session
        from apkd.credentials import issuer_keys

        async def go(s: AsyncSession) -> list[str]:
            rows = await issuer_keys.list_keys(s)
            out = []
            for row in rows:
                line = f"{row.kid}  {row.status:<11}  dibuat {row.created_at:%Y-%m-%d %H:%M} UTC"
                if row.retired_at:
                    line += f"  pensiun {row.retired_at:%Y-%m-%d %H:%M}"
                if row.compromised_at:
                    line += f"  BOCOR {row.compromised_at:%Y-%m-%d %H:%M}: {row.compromise_reason}"
                out.append(line)
            return out

        lines = with_session(go)
        if not lines:
            click.echo("Belum ada kunci. Kunci pertama dibuat saat sertifikat pertama diterbitkan.")
        for line in lines:
            click.echo(line)

    @keys.command("rotate")
    def keys_rotate() -> None:
        """Buat kunci baru untuk menandatangani mulai sekarang; kunci lama tetap dipublikasikan."""
        from apkd.cliutil import with_session
        from apkd.config import get_settings
        from apkd.credentials import issuer_keys

        settings = get_settings()

        async def go(s: AsyncSession) -> str:
            return (await issuer_keys.rotate(s, settings, actor="cli")).kid

        kid = with_session(go)
        click.echo(f"Kunci baru aktif: {kid}. Kunci sebelumnya dipensiunkan dan tetap ada di JWKS.")

    @keys.command("compromise")
    @click.argument("kid")
    @click.option("--reason", required=True, help="Alasan (ditampilkan saat verifikasi gagal).")
    def keys_compromise(kid: str, reason: str) -> None:
        """Tandai kunci KID bocor: semua sertifikat yang ditandatanganinya gagal verifikasi."""
        from apkd.cliutil import with_session
        from apkd.config import get_settings
        from apkd.credentials import issuer_keys
        from apkd.errors import AppError

        settings = get_settings()

        async def go(s: AsyncSession) -> str:
            return (await issuer_keys.compromise(s, settings, kid, reason, actor="cli")).kid

        try:
            with_session(go)
        except AppError as exc:
            click.echo(f"Galat: {exc.detail}", err=True)
            sys.exit(1)
        click.echo(
            f"Kunci {kid} ditandai bocor. Sertifikat yang ditandatanganinya kini gagal verifikasi; "
            "terbitkan ulang bila perlu."
        )

    @main.group("credentials")
    def credentials_group() -> None:
        """Sertifikat yang sudah terbit."""

    @credentials_group.command("reissue-legacy")
    @click.option("--dry-run", is_flag=True, help="Hanya hitung dan tampilkan; tidak mengubah apa pun.")
    @click.option("--batch", default=200, show_default=True, type=click.IntRange(1, 5000))
    def reissue_legacy(dry_run: bool, batch: int) -> None:
        """Terbitkan ulang sertifikat berbentuk lama (berisi hash NIP) dalam bentuk sekarang.

        Nomor, tanggal, status dan entri daftar status tetap; vc+jwt dan teks QR ditandatangani
        ulang dengan kunci aktif, dicatat di log transparansi dan jejak audit. Tiap kelompok
        (--batch) satu transaksi: bila terputus, jalankan lagi; yang sudah selesai dilewati.
        """
        from apkd.cliutil import with_session
        from apkd.config import get_settings
        from apkd.credentials.reissue import find_legacy, reissue

        settings = get_settings()
        scanned_to, seen, done = 0, 0, 0
        while True:
            after = scanned_to

            async def scan(s: AsyncSession, after: int = after) -> tuple[list[int], list[str], int | None]:
                found, last = await find_legacy(s, after_id=after, limit=batch)
                ids = [f.id for f in found]
                if dry_run or not ids:
                    return ids, [f"{f.number}: {', '.join(f.reasons)}" for f in found], last
                numbers = await reissue(s, settings, ids, actor="cli")
                return ids, numbers, last

            ids, lines, last = with_session(scan)
            if last is None:
                break
            scanned_to = last
            seen += len(ids)
            if dry_run:
                for line in lines:
                    click.echo(line)
            else:
                done += len(lines)
            click.echo(
                f"... diperiksa sampai id {last}: {seen} sertifikat berbentuk lama"
                + ("" if dry_run else f", {done} diterbitkan ulang"),
                err=True,
            )
        if dry_run:
            click.echo(
                f"{seen} sertifikat berbentuk lama akan diterbitkan ulang (uji coba: tidak ada yang diubah)."
            )
        else:
            click.echo(f"{done} sertifikat diterbitkan ulang dalam bentuk sekarang.")
