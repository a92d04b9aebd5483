"""CLI commands of the exams domain: ``apkd session register SESSION_ID FILE.csv``."""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path

import click


class CsvFileError(Exception):
    """The file as a whole cannot be used (no header with 'nip', not UTF-8, unreadable)."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line, self.message = line, message


def read_nip_csv(path: Path) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """Read a CSV whose header has a ``nip`` column. Returns (rows, errors), each as
    (line number in the file, NIP text / message); empty lines are skipped. Raises
    CsvFileError when the file as a whole is unusable."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CsvFileError(0, f"berkas tidak dapat dibaca: {exc.strerror or exc}") from exc
    try:
        content = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CsvFileError(0, "berkas harus berenkode UTF-8") from exc
    sample = content[:4096]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(content), dialect)
    rows: list[tuple[int, str]] = []
    errors: list[tuple[int, str]] = []
    header: list[str] | None = None
    nip_col = -1
    try:
        for record in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in record):
                continue
            if header is None:
                header = [c.strip().lower() for c in record]
                if "nip" not in header:
                    raise CsvFileError(line, "baris judul harus memuat kolom 'nip'")
                nip_col = header.index("nip")
                continue
            if nip_col >= len(record) or not record[nip_col].strip():
                errors.append((line, "kolom nip kosong"))
                continue
            rows.append((line, record[nip_col]))
    except csv.Error as exc:
        errors.append((reader.line_num, f"baris CSV tidak dapat dibaca: {exc}"))
    if header is None:
        raise CsvFileError(1, "berkas kosong: baris judul dengan kolom 'nip' diperlukan")
    return rows, errors


def register(main: click.Group) -> None:
    @main.group("session")
    def session_group() -> None:
        """Sesi ujian."""

    @session_group.command("register")
    @click.argument("session_id", type=int)
    @click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
    def session_register(session_id: int, file: Path) -> None:
        """Daftarkan peserta dari berkas CSV berisi kolom NIP.

        Setiap baris yang bermasalah dilaporkan sebagai BERKAS:BARIS: pesan; baris yang sah
        tetap didaftarkan. Keluar dengan kode 1 bila ada baris yang bermasalah.
        """
        from apkd.cliutil import fail, with_session
        from apkd.errors import AppError
        from apkd.exams.sessions import register_bulk

        if not file.exists():
            fail(f"{file}: berkas tidak ditemukan")
        try:
            rows, errors = read_nip_csv(file)
        except CsvFileError as exc:
            click.echo(f"{file}:{exc.line}: {exc.message}", err=True)
            sys.exit(1)
        try:
            report = with_session(lambda s: register_bulk(s, session_id, rows, actor="cli"))
        except AppError as exc:
            fail(exc.detail)
            return
        bad = sorted(errors + report.errors)
        for line, msg in bad:
            click.echo(f"{file}:{line}: {msg}", err=True)
        for line, msg in report.skipped:
            click.echo(f"{file}:{line}: {msg}")
        click.echo(
            f"{len(report.registered)} peserta didaftarkan pada sesi #{session_id}; "
            f"{len(report.skipped)} sudah terdaftar; {len(bad)} baris bermasalah."
        )
        if bad:
            click.echo(
                "Baris yang sah tetap didaftarkan; perbaiki baris yang bermasalah lalu jalankan lagi "
                "(yang sudah terdaftar akan dilewati).",
                err=True,
            )
            sys.exit(1)
