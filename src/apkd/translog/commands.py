"""``apkd log ...``: commands of the transparency log."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    import httpx


def register(main: click.Group) -> None:
    @main.group("log")
    def log_group() -> None:
        """Log transparansi (RFC 9162)."""

    @log_group.command("verify")
    @click.argument("url")
    @click.option(
        "--state",
        "state",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="Berkas JSON checkpoint terakhir yang sudah diperiksa (bawaan: ~/.apkd/log-state-<host>.json).",
    )
    @click.option(
        "--number",
        "numbers",
        multiple=True,
        help="Nomor kredensial yang entrinya harus terbukti tercatat (boleh diulang).",
    )
    @click.option(
        "--witness-key",
        "witness_keys",
        multiple=True,
        help="Kunci verifikasi saksi (vkey C2SP nama+hash+base64) yang cosignature-nya wajib ada (boleh diulang).",
    )
    @click.option(
        "--witness-quorum",
        "quorum",
        type=int,
        default=None,
        help="Jumlah minimal saksi yang harus menyaksikan checkpoint (bawaan: semua --witness-key).",
    )
    def verify(
        url: str,
        state: Path | None,
        numbers: tuple[str, ...],
        witness_keys: tuple[str, ...],
        quorum: int | None,
    ) -> None:
        """Audit log transparansi di URL: tanda tangan, konsistensi, inklusi entri, dan saksi."""
        from apkd.translog.audit_client import audit_log, default_state_path
        from apkd.translog.cosign import CosignError, parse_witness_key

        if not url.startswith(("http://", "https://")):
            click.echo("Galat: URL harus diawali http:// atau https://", err=True)
            sys.exit(1)
        try:
            witnesses = [parse_witness_key(k) for k in witness_keys]
        except CosignError as exc:
            click.echo(f"Galat: --witness-key: {exc}", err=True)
            sys.exit(2)
        if quorum is not None and not 1 <= quorum <= len(witnesses):
            click.echo(
                f"Galat: --witness-quorum harus antara 1 dan jumlah --witness-key ({len(witnesses)}).",
                err=True,
            )
            sys.exit(2)
        state_path = state or default_state_path(url)
        report = asyncio.run(
            audit_log(url, state_path=state_path, numbers=numbers, witnesses=witnesses, quorum=quorum)
        )
        for line in report.lines():
            click.echo(line)
        if report.state_saved:
            click.echo(f"Checkpoint disimpan di {state_path}.")
        sys.exit(0 if report.ok else 1)

    @log_group.command("witness-push")
    @click.option(
        "--witness",
        "urls",
        multiple=True,
        required=True,
        help="URL awalan pengiriman saksi (C2SP tlog-witness: <URL>/add-checkpoint); boleh diulang.",
    )
    @click.option(
        "--timeout", "timeout", type=float, default=20.0, show_default=True, help="Detik per saksi."
    )
    def witness_push(urls: tuple[str, ...], timeout: float) -> None:
        """Minta saksi menandatangani bersama (cosign) checkpoint log saat ini, lalu simpan cosignature-nya."""
        import httpx

        from apkd.cliutil import db_session, fail
        from apkd.config import ConfigError, get_settings
        from apkd.translog.checkpoints import current_checkpoint, witness_keys
        from apkd.translog.feeder import FeedResult, feed_witness

        for url in urls:
            if not url.startswith(("http://", "https://")):
                fail(f"URL saksi harus diawali http:// atau https://: {url}")
        settings = get_settings()
        try:
            if not witness_keys(settings):
                fail("APKD_LOG_WITNESSES kosong: log ini tidak akan menerima cosignature saksi mana pun.")
        except ConfigError as exc:
            fail(str(exc))

        async def go() -> list[FeedResult]:
            out: list[FeedResult] = []
            # The checkpoint is signed and stored first, in a unit of its own, so that nothing
            # holds a write lock while the witnesses answer; each witness's cosignature is then
            # taken in its own unit of work.
            async with db_session() as s:
                await current_checkpoint(s, settings)
            async with httpx.AsyncClient(transport=TRANSPORT, timeout=timeout) as http:
                for url in urls:
                    async with db_session() as s:
                        out.append(await feed_witness(s, settings, url, client=http))
            return out

        results = asyncio.run(go())
        for r in results:
            click.echo(f"[{'OK' if r.ok else 'GAGAL'}] {r.url}: {r.detail}")
        sys.exit(0 if all(r.ok for r in results) else 1)


TRANSPORT: httpx.AsyncBaseTransport | None = None
"""The HTTP transport of ``witness-push`` (None = the network); tests point it at a witness."""
