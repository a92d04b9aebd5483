"""``apkd site ...``: the site flow from the command line (docs/contract.md, "Exam sites without
internet"). Messages go to stderr; ``export`` prints only the unlock code on stdout."""

from __future__ import annotations

import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click
from sqlmodel.ext.asyncio.session import AsyncSession

from apkd.cliutil import db_session, fail, run, with_session
from apkd.config import get_settings
from apkd.errors import AppError

if TYPE_CHECKING:  # imported where used: `apkd` must not load the site flow for other commands
    from apkd.sites import service, transport


def _read(path: str) -> bytes:
    from apkd.sites.package import MAX_FILE_BYTES

    p = Path(path)
    try:
        if p.stat().st_size > MAX_FILE_BYTES:
            fail(f"{path}: berkas terlalu besar")
        return p.read_bytes()
    except OSError as exc:
        fail(f"{path}: berkas tidak dapat dibaca ({exc.strerror or exc})")


def _write(path: str, data: bytes) -> None:
    tmp = Path(f"{path}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError as exc:
        fail(f"{path}: berkas tidak dapat ditulis ({exc.strerror or exc})")


def _site_only(want_site: bool) -> None:
    site = get_settings().site_mode
    if want_site and not site:
        fail(
            "perintah ini untuk server lokasi ujian: jalankan dengan APKD_SITE_MODE=1 pada basis data lokasi"
        )
    if not want_site and site:
        fail("perintah ini untuk server pusat; server ini berjalan sebagai lokasi ujian (APKD_SITE_MODE=1)")


def _run(fn: object) -> object:
    try:
        return with_session(fn)  # type: ignore[arg-type]
    except AppError as exc:
        fail(exc.detail)


def register(main: click.Group) -> None:
    @main.group()
    def site() -> None:
        """Lokasi ujian tanpa internet: paket sesi, buka, segel, dan kirim hasil ke pusat."""

    @site.command("export")
    @click.option("--session", "session_id", type=int, required=True, help="Nomor sesi ujian.")
    @click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="Berkas paket.")
    def export(session_id: int, out: str) -> None:
        """Tulis paket terenkripsi dan bertanda tangan untuk satu sesi; cetak kode pembuka di stdout."""
        from apkd.sites import service

        _site_only(False)
        settings = get_settings()

        async def go(s: AsyncSession) -> service.Exported:
            return await service.export_package(s, settings, session_id, actor="cli")

        exported = _run(go)
        assert isinstance(exported, service.Exported)
        _write(out, exported.data)
        click.echo(
            f"Paket {exported.package_id} ditulis ke {out} (digest {exported.digest}).\n"
            f"Sidik kunci penerbit: {exported.issuer_kid}\n"
            "Kode pembuka di bawah ini: simpan terpisah dari paket (lembar pengawas).",
            err=True,
        )
        click.echo(exported.unlock_code)

    @site.command("import")
    @click.argument("file", type=click.Path(dir_okay=False))
    @click.option("--fingerprint", default=None, help="Sidik kunci penerbit yang diharapkan (dari pusat).")
    def import_(file: str, fingerprint: str | None) -> None:
        """Muat paket ke basis data lokasi ini (tolak paket yang diubah, kedaluwarsa, atau sudah dimuat)."""
        from apkd.sites import service

        _site_only(True)
        data = _read(file)

        async def go(s: AsyncSession) -> tuple[str, int, str]:
            load = await service.import_package(s, data, fingerprint=fingerprint)
            return load.package_id, load.session_id, load.issuer_kid

        result = _run(go)
        assert isinstance(result, tuple)
        package_id, session_id, kid = result
        click.echo(
            f"Paket {package_id} untuk sesi {session_id} dimuat. Sidik kunci penerbit: {kid} "
            "(cocokkan dengan yang diberikan pusat)."
        )

    @site.command("unlock")
    @click.option("--session", "session_id", type=int, required=True)
    def unlock(session_id: int) -> None:
        """Buka paket dengan kode pembuka yang dibaca dari stdin."""
        from apkd.sites import service

        _site_only(True)
        code = sys.stdin.readline().strip()
        if not code:
            fail("kode pembuka kosong: ketik kode pada stdin")
        settings = get_settings()

        async def go(s: AsyncSession) -> int:
            load = await service.unlock(s, settings, session_id, code, actor="cli")
            return load.unlock_offset_seconds or 0

        offset = _run(go)
        click.echo(
            f"Paket sesi {session_id} terbuka; peserta dapat mulai. Selisih jam lokasi: {offset} detik."
        )

    @site.command("seal")
    @click.option("--session", "session_id", type=int, required=True)
    @click.option("--out", "out", required=True, type=click.Path(dir_okay=False))
    def seal(session_id: int, out: str) -> None:
        """Tutup sesi di lokasi ini dan tulis berkas hasil bertanda tangan (boleh diulang)."""
        from apkd.sites import service

        _site_only(True)
        settings = get_settings()

        async def go(s: AsyncSession) -> bytes:
            return await service.seal(s, settings, session_id, actor="cli")

        data = _run(go)
        assert isinstance(data, bytes)
        _write(out, data)  # after the commit: the file always matches a sealed database
        click.echo(f"Sesi {session_id} disegel; hasil ditulis ke {out}.")

    @site.command("ingest")
    @click.argument("file", type=click.Path(dir_okay=False))
    def ingest(file: str) -> None:
        """Periksa dan simpan berkas hasil dari lokasi (idempoten; berkas yang bertentangan ditolak)."""
        from apkd.sites import service

        _site_only(False)
        data = _read(file)

        async def go(s: AsyncSession) -> service.Ingested:
            return await service.ingest(s, data, actor=None, via="cli")

        done = _run(go)
        assert isinstance(done, service.Ingested)
        if done.already:
            click.echo(f"Hasil paket {done.package_id} sudah diterima sebelumnya; tidak ada yang berubah.")
        else:
            click.echo(
                f"Hasil paket {done.package_id} diterima: {done.attempts} percobaan untuk sesi {done.session_id}."
            )

    @site.command("push")
    @click.option("--session", "session_id", type=int, required=True)
    @click.option("--url", required=True, help="Alamat server pusat, mis. https://apkd.example.go.id")
    @click.option(
        "--retries", type=int, default=0, help="Berapa kali mencoba lagi (0: terus sampai diterima)."
    )
    @click.option("--interval", type=float, default=30.0, help="Detik di antara percobaan.")
    def push(session_id: int, url: str, retries: int, interval: float) -> None:
        """Kirim hasil yang sudah disegel ke pusat, ulangi sampai pusat menerima."""
        from apkd.sites import service

        _site_only(True)
        settings = get_settings()

        async def sealed(s: AsyncSession) -> bytes:
            return await service.seal(s, settings, session_id, actor="cli")

        data = _run(sealed)
        assert isinstance(data, bytes)

        async def same() -> bytes:
            return data

        outcome = _deliver(url.rstrip("/") + "/api/v1/sites/results", same, retries, interval)
        if outcome.verdict == "refused":
            _record_push(session_id, f"ditolak pusat: {outcome.text}")
            fail(f"pusat menolak hasil ({outcome.status}): {outcome.text}")
        if outcome.verdict == "retry":
            _record_push(session_id, f"gagal: {outcome.text}")
            fail(f"pusat belum dapat dihubungi setelah {retries + 1} percobaan: {outcome.text}")
        _record_push(session_id, None)
        click.echo(f"Hasil sesi {session_id} diterima pusat.")

    def _deliver(
        target: str,
        body: Callable[[], Awaitable[bytes]],
        retries: int,
        interval: float,
        accepted: frozenset[str] = frozenset(),
    ) -> transport.Outcome:
        from apkd.sites import transport

        def said(attempt: int, outcome: transport.Outcome) -> None:
            click.echo(
                f"Percobaan {attempt} gagal ({outcome.text}); mencoba lagi dalam {interval:g} detik.",
                err=True,
            )

        return run(
            transport.deliver(
                target, body, retries=retries, interval=interval, accepted=accepted, on_retry=said
            )
        )

    def _record_push(session_id: int, error: str | None) -> None:
        from apkd.sites import service

        async def go(s: AsyncSession) -> None:
            await service.record_push(s, session_id, error)

        _run(go)

    @site.command("report")
    @click.option("--session", "session_id", type=int, default=None, help="Nomor sesi (kosong: semua paket).")
    @click.option(
        "--url", default=None, help="Alamat server pusat (bawaan: APKD_CENTRE_URL, lalu alamat di paket)."
    )
    @click.option(
        "--retries", type=int, default=0, help="Berapa kali mencoba lagi (0: terus sampai diterima)."
    )
    @click.option("--interval", type=float, default=30.0, help="Detik di antara percobaan.")
    def report(session_id: int | None, url: str | None, retries: int, interval: float) -> None:
        """Laporkan keadaan paket (dimuat, dibuka, disegel) ke pusat sekarang, ulangi sampai diterima."""
        from apkd.sites import service, transport
        from apkd.sites.models import SiteLoad

        _site_only(True)
        settings = get_settings()

        async def targets(s: AsyncSession) -> list[tuple[str, int, str | None]]:
            rows = [await service.load_of_session(s, session_id)] if session_id else await service.loads(s)
            return [(x.package_id, x.session_id, url or service.centre_url(settings, x)) for x in rows]

        found = _run(targets)
        assert isinstance(found, list)
        if not found:
            fail("belum ada paket yang dimuat di lokasi ini")
        failed = 0
        for package_id, sid, centre in found:
            if not centre:
                failed += 1
                click.echo(
                    f"Sesi {sid}: alamat pusat tidak diketahui; pakai --url atau APKD_CENTRE_URL.", err=True
                )
                continue
            state: list[str] = []

            async def body(package_id: str = package_id, state: list[str] = state) -> bytes:
                async with db_session() as s:
                    load = await s.get(SiteLoad, package_id)
                    assert load is not None
                    state[:] = [service.site_state(load)]
                    return await service.build_report(s, settings, load)

            try:
                outcome = _deliver(
                    centre.rstrip("/") + "/api/v1/sites/state",
                    body,
                    retries,
                    interval,
                    transport.STALE_IS_KNOWN,
                )
            except AppError as exc:
                failed += 1
                click.echo(f"Sesi {sid}: {exc.detail}", err=True)
                continue
            done = outcome.verdict == "done"
            reported = state[0] if done and state else None
            error = None if done else f"{outcome.status}: {outcome.text}"

            async def note(
                s: AsyncSession,
                package_id: str = package_id,
                reported: str | None = reported,
                error: str | None = error,
            ) -> None:
                await service.record_report(s, package_id, reported, error)

            _run(note)
            if done:
                click.echo(f"Sesi {sid}: keadaan '{reported}' diterima pusat.")
            else:
                failed += 1
                click.echo(
                    f"Sesi {sid}: laporan tidak diterima pusat ({outcome.status}): {outcome.text}", err=True
                )
        if failed:
            fail(f"{failed} laporan belum diterima pusat; ulangi nanti (server lokasi juga mencoba sendiri)")

    @site.command("status")
    def status() -> None:
        """Daftar paket dan keadaannya (pusat: diekspor sampai diterima; lokasi: dimuat/dibuka/disegel/dikirim)."""
        from apkd.sites import service

        async def go(s: AsyncSession) -> list[str]:
            if get_settings().site_mode:
                return [
                    f"{x.package_id}\tsesi {x.session_id}\t{service.load_state(x)}\t"
                    + ("dilaporkan ke pusat" if not service.report_due(x) else "laporan ke pusat tertunda")
                    for x in await service.loads(s)
                ]
            return [
                f"{x.id}\tsesi {x.session_id}\t{service.package_state(x)}" for x in await service.packages(s)
            ]

        lines = _run(go)
        assert isinstance(lines, list)
        for line in lines:
            click.echo(line)
