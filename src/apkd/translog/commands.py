"""``apkd log ...``: commands of the transparency log."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click


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
