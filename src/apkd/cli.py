"""The ``apkd`` command. Each domain may add its own commands in ``apkd.<domain>.commands``
through a ``register(group)`` function; the core commands live here."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

import click

from apkd.cliutil import db_session, fail, run, with_session
from apkd.config import ConfigError, get_settings

__all__ = ["db_session", "fail", "main", "run", "with_session"]
DOMAIN_COMMANDS = ("exams", "grading", "credentials", "translog", "registry")


@click.group()
def main() -> None:
    """apkd: sertifikasi Aparatur Pengelola Keuangan Daerah."""
    from apkd.accounts.security import configure_password_hashing

    try:
        settings = get_settings()
    except ConfigError as exc:
        fail(str(exc))
    configure_password_hashing(settings)
    from apkd.wiring import wire  # the CLI is a program of its own: wire it like create_app

    wire(settings)


# --- db ---------------------------------------------------------------------------------
@main.group()
def db() -> None:
    """Basis data."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Terapkan migrasi Alembic sampai versi terbaru (SQLite atau PostgreSQL)."""
    from apkd.migrate import MigrationsNotFound, upgrade

    try:
        upgrade(get_settings().database_url)
    except MigrationsNotFound as exc:
        fail(str(exc))
    click.echo("Basis data sudah pada versi terbaru.")


# --- bank ---------------------------------------------------------------------------------
@main.group()
def bank() -> None:
    """Bank soal."""


def _load(paths: tuple[str, ...]) -> list[Any]:
    from apkd.banks.bankfile import format_errors, load_banks

    for p in paths:
        if not Path(p).exists():
            fail(f"{p}: berkas atau folder tidak ditemukan")
    banks, errors = load_banks(list(paths))
    if errors:
        click.echo(format_errors(errors), err=True)
        click.echo(f"{len(errors)} kesalahan ditemukan.", err=True)
        sys.exit(1)
    return banks


@bank.command("check")
@click.argument("paths", nargs=-1, required=True)
def bank_check(paths: tuple[str, ...]) -> None:
    """Periksa berkas bank soal; keluar 1 dengan pesan berkas:baris bila ada kesalahan."""
    banks = _load(paths)
    for b in banks:
        click.echo(f"{b.path}: OK, skema {b.scheme.code} versi {b.scheme.version}, {len(b.items)} soal")


@bank.command("import")
@click.argument("paths", nargs=-1, required=True)
def bank_import(paths: tuple[str, ...]) -> None:
    """Periksa lalu impor bank soal (idempoten; soal yang berubah menjadi versi baru)."""
    from apkd.banks.service import import_banks

    banks = _load(paths)
    report = with_session(lambda s: import_banks(s, banks, actor="cli"))
    for line in report.schemes:
        click.echo(str(line))


# --- user ---------------------------------------------------------------------------------
@main.group()
def user() -> None:
    """Pengguna."""


@user.command("create")
@click.option("--role", required=True, type=click.Choice(["admin", "proctor", "candidate", "auditor"]))
@click.option("--username", required=True)
@click.option("--password-stdin", is_flag=True, required=True, help="Baca kata sandi dari stdin.")
@click.option("--full-name", default=None)
@click.option("--nip", default=None)
@click.option("--instansi", default=None)
@click.option("--jabatan", default=None)
@click.option("--region-code", default=None, help="Kode wilayah kabupaten/kota instansi (4 digit).")
def user_create(
    role: str,
    username: str,
    password_stdin: bool,
    full_name: str | None,
    nip: str | None,
    instansi: str | None,
    jabatan: str | None,
    region_code: str | None,
) -> None:
    """Buat pengguna baru."""
    from apkd.accounts.schemas import UserCreate
    from apkd.accounts.service import create_user
    from apkd.errors import AppError

    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        fail("kata sandi kosong: kirim lewat stdin, mis. echo 'rahasia123' | apkd user create ...")
    data = UserCreate(
        username=username,
        password=password,
        role=role,
        full_name=full_name or username,
        nip=nip,
        instansi=instansi,
        jabatan=jabatan,
        region_code=region_code,
    )
    try:
        u = with_session(lambda s: create_user(s, data, actor="cli"))
    except AppError as exc:
        fail(exc.detail)
        return
    click.echo(f"Pengguna dibuat: {u.username} (id {u.id}, peran {u.role})")


# --- audit --------------------------------------------------------------------------------
@main.group()
def audit() -> None:
    """Log audit."""


@audit.command("verify")
def audit_verify() -> None:
    """Periksa rantai hash log audit; laporkan mata rantai pertama yang rusak."""
    from apkd.audit import verify_chain

    report = with_session(verify_chain)
    click.echo(str(report))
    if not report.ok:
        sys.exit(1)


# --- serve & demo ---------------------------------------------------------------------------
@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int)
def serve(host: str, port: int, workers: int) -> None:
    """Jalankan server ASGI."""
    import uvicorn

    uvicorn.run(
        "apkd.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        # apkd reads X-Forwarded-For itself, from APKD_TRUSTED_PROXIES only (apkd.clientaddr);
        # uvicorn's own handling would believe any local client.
        proxy_headers=False,
        log_level="info",
    )


@main.command()
def demo() -> None:
    """Isi data demo (idempoten) dan cetak akun masuknya."""
    from apkd.demo import seed_demo

    settings = get_settings()
    if settings.is_production:
        fail("data demo tidak boleh diisi saat APKD_ENV=production")
    lines = with_session(seed_demo)
    for line in lines:
        click.echo(line)


def _register_domains() -> None:
    for name in DOMAIN_COMMANDS:
        module_name = f"apkd.{name}.commands"
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                continue
            raise
        module.register(main)


_register_domains()
