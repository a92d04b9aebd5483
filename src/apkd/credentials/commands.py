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
