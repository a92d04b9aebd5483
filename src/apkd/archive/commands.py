"""``apkd archive --session ID`` and ``apkd archive verify FILE``: records for auditors."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from apkd.cliutil import fail, with_session


def register(main: click.Group) -> None:
    @main.group("archive", invoke_without_command=True)
    @click.option("--session", "session_id", type=int, default=None, help="Nomor sesi ujian yang diarsipkan.")
    @click.option(
        "--out",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="Berkas tujuan (bawaan: arsip-sesi-ID.jws di folder ini).",
    )
    @click.pass_context
    def archive(ctx: click.Context, session_id: int | None, out: Path | None) -> None:
        """Arsip bertanda tangan satu sesi ujian untuk auditor (skema, soal, jawaban, waktu,
        berita acara, penilaian, keputusan, banding, sertifikat, rantai audit)."""
        if ctx.invoked_subcommand is not None:
            return
        if session_id is None:
            fail("sebutkan sesi: apkd archive --session ID (atau apkd archive verify BERKAS)")
        from apkd.archive.build import build
        from apkd.config import get_settings
        from apkd.errors import AppError

        settings = get_settings()
        try:
            data = with_session(lambda s: build(s, session_id, settings))
        except AppError as exc:
            fail(exc.detail)
        target = out or Path(f"arsip-sesi-{session_id}.jws")
        target.write_bytes(data)
        click.echo(f"Arsip sesi #{session_id} ditulis ke {target} ({len(data)} bita).")
        click.echo("Berkas ini memuat data pribadi peserta dan kunci jawaban: simpan di tempat terbatas.")

    @archive.command("verify")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option(
        "--jwks",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        default=None,
        help="JWKS penerbit (/.well-known/jwks.json) untuk memastikan kuncinya milik penerbit.",
    )
    def verify(file: Path, jwks: Path | None) -> None:
        """Periksa arsip secara luring; keluar 0 bila sah, 1 bila tidak."""
        from apkd.archive.bundle import verify as verify_bundle

        pinned = None
        if jwks is not None:
            try:
                pinned = json.loads(jwks.read_text(encoding="utf-8"))
            except (ValueError, UnicodeDecodeError) as exc:
                fail(f"{jwks}: bukan JSON yang sah ({exc})")
        report = verify_bundle(file.read_bytes(), pinned)
        for c in report.checks:
            click.echo(f"{'OK   ' if c.ok else 'GAGAL'} {c.name}: {c.detail}")
        if report.ok and report.payload is not None:
            s = report.payload.get("session", {})
            click.echo(
                f"Arsip SAH: sesi #{s.get('id')} {s.get('title')!r}, {len(report.payload.get('attempts', []))} ujian, "
                f"{len(report.payload.get('credentials', []))} sertifikat."
            )
            if pinned is None:
                click.echo(
                    "Catatan: kunci dicocokkan dengan JWKS di dalam arsip; berikan --jwks untuk JWKS penerbit."
                )
            return
        click.echo("Arsip TIDAK SAH.")
        sys.exit(1)
