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
    def verify(url: str, state: Path | None, numbers: tuple[str, ...]) -> None:
        """Audit log transparansi di URL: tanda tangan, konsistensi, dan inklusi entri."""
        from apkd.translog.audit_client import audit_log, default_state_path

        if not url.startswith(("http://", "https://")):
            click.echo("Galat: URL harus diawali http:// atau https://", err=True)
            sys.exit(1)
        state_path = state or default_state_path(url)
        report = asyncio.run(audit_log(url, state_path=state_path, numbers=numbers))
        for line in report.lines():
            click.echo(line)
        if report.state_saved:
            click.echo(f"Checkpoint disimpan di {state_path}.")
        sys.exit(0 if report.ok else 1)
