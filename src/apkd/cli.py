"""The ``apkd`` command. Each domain may add its own commands in ``apkd.<domain>.commands``
through a ``register(group)`` function; the core commands live here."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from apkd.cliutil import db_session, fail, run, with_session
from apkd.config import ConfigError, get_settings

if TYPE_CHECKING:
    from sqlmodel.ext.asyncio.session import AsyncSession

__all__ = ["db_session", "fail", "main", "run", "with_session"]
DOMAIN_COMMANDS = ("exams", "grading", "credentials", "translog", "registry", "archive", "sites")


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


def _draw_trials(bank: Any, trials: int = 200) -> str | None:
    """Draw ``trials`` forms the way an attempt does; the first refusal, if any."""
    from apkd.exams.assembly import AssemblyError, PoolItem, UnitBlueprint, assemble_form

    ref_of = {item.id: ref for ref, item in enumerate(bank.items, start=1)}
    pool = [
        PoolItem(ref_of[i.id], i.unit, i.type, tuple(o for o, _ in i.options), i.level) for i in bank.items
    ]
    blueprint = [UnitBlueprint(u.code, u.items_per_form) for u in bank.scheme.units]
    enemies = [tuple(ref_of[i] for i in group) for group in bank.scheme.enemies]
    for seed in range(trials):
        try:
            assemble_form(seed, blueprint, pool, enemies=enemies, level_shares=dict(bank.scheme.level_shares))
        except AssemblyError as exc:
            return exc.message
    return None


@bank.command("check")
@click.argument("paths", nargs=-1, required=True)
def bank_check(paths: tuple[str, ...]) -> None:
    """Periksa berkas bank soal; keluar 1 dengan pesan berkas:baris bila ada kesalahan."""
    banks = _load(paths)
    refused = False
    for b in banks:
        problem = _draw_trials(b)
        if problem is not None:
            click.echo(
                f"{b.path}:{b.scheme.line}: paket soal tidak selalu dapat disusun: {problem}", err=True
            )
            refused = True
            continue
        drafts = sum(1 for i in b.items if i.review != "reviewed")
        click.echo(
            f"{b.path}: OK, skema {b.scheme.code} versi {b.scheme.version}, {len(b.items)} soal"
            + (f" ({drafts} belum ditelaah)" if drafts else "")
        )
    if refused:
        sys.exit(1)


@bank.command("import")
@click.argument("paths", nargs=-1, required=True)
@click.option(
    "--allow-drafts",
    is_flag=True,
    help="Di produksi, impor juga skema yang soalnya masih draft (belum ditelaah orang kedua).",
)
def bank_import(paths: tuple[str, ...], allow_drafts: bool) -> None:
    """Periksa lalu impor bank soal (idempoten; soal yang berubah menjadi versi baru)."""
    from apkd.banks.service import import_banks
    from apkd.errors import AppError

    banks = _load(paths)
    allow = allow_drafts or not get_settings().is_production
    try:
        report = with_session(lambda s: import_banks(s, banks, actor="cli", allow_drafts=allow))
    except AppError as exc:
        fail(exc.detail)
        return
    for line in report.schemes:
        click.echo(str(line))


@bank.command("lint")
@click.argument("paths", nargs=-1, required=True)
@click.option(
    "--max-longest-key",
    type=float,
    default=0.30,
    show_default=True,
    help="Porsi maksimum soal pilihan tunggal yang kuncinya opsi terpanjang.",
)
@click.option(
    "--min-position-p",
    type=float,
    default=0.05,
    show_default=True,
    help="Nilai p minimum uji chi-kuadrat sebaran posisi kunci.",
)
@click.option(
    "--max-negative",
    type=int,
    default=0,
    show_default=True,
    help="Jumlah maksimum stem negatif yang tidak ditulis kapital.",
)
@click.option(
    "--max-all-options",
    type=int,
    default=0,
    show_default=True,
    help='Jumlah maksimum opsi "semua benar/salah".',
)
@click.option(
    "--min-pool-ratio",
    type=float,
    default=2.5,
    show_default=True,
    help="Rasio minimum soal di bank terhadap soal per paket, per unit.",
)
@click.option(
    "--max-unanchored",
    type=int,
    default=0,
    show_default=True,
    help="Jumlah maksimum rujukan tanpa Pasal/Lampiran.",
)
@click.option(
    "--near-duplicate",
    type=float,
    default=0.90,
    show_default=True,
    help="Kemiripan stem (0..1) yang dianggap hampir sama.",
)
@click.option(
    "--max-near-duplicates",
    type=int,
    default=0,
    show_default=True,
    help="Jumlah maksimum pasangan stem hampir sama yang bukan enemies.",
)
@click.option(
    "--min-form-items", type=int, default=40, show_default=True, help="Jumlah minimum soal per paket."
)
@click.option(
    "--min-applied-share",
    type=float,
    default=1 / 3,
    show_default=True,
    help="Porsi minimum soal penerapan/penalaran yang dijamin per paket.",
)
def bank_lint(paths: tuple[str, ...], **limits: Any) -> None:
    """Telaah mutu bank soal (isyarat kunci, sebaran kunci, rujukan, rasio pool); keluar 1 bila di atas batas."""
    from apkd.banks.lint import Thresholds, format_report, lint_bank

    thresholds = Thresholds(
        max_longest_key=limits["max_longest_key"],
        min_position_p=limits["min_position_p"],
        max_negative_unemphasised=limits["max_negative"],
        max_all_options=limits["max_all_options"],
        min_pool_ratio=limits["min_pool_ratio"],
        max_unanchored=limits["max_unanchored"],
        near_duplicate=limits["near_duplicate"],
        max_near_duplicates=limits["max_near_duplicates"],
        min_form_items=limits["min_form_items"],
        min_applied_share=limits["min_applied_share"],
    )
    results = [lint_bank(b, thresholds) for b in _load(paths)]
    click.echo(format_report(results))
    if not all(r.ok for r in results):
        sys.exit(1)


@bank.command("review-queue")
@click.option("--session", "session_id", type=int, default=None, help="Id sesi ujian.")
@click.option("--scheme", "scheme_code", default=None, help="Kode skema (semua sesinya).")
def bank_review_queue(session_id: int | None, scheme_code: str | None) -> None:
    """Soal yang ditandai analisis butir setelah ujian, untuk ditelaah ulang."""
    from apkd.banks.service import review_records
    from apkd.errors import AppError
    from apkd.grading.item_analysis import item_analysis

    if (session_id is None) == (scheme_code is None):
        fail("pilih salah satu: --session ID atau --scheme KODE")

    async def go(s: AsyncSession) -> list[tuple[Any, Any, Any]]:
        rep = await item_analysis(s, session_id=session_id, scheme_code=scheme_code)
        flagged = [(meta, st) for meta, st, _voided in rep.items if st.flags]
        records = await review_records(s, [meta.item_version_id for meta, _ in flagged])
        return [(meta, st, records.get(meta.item_version_id)) for meta, st in flagged]

    try:
        rows = with_session(go)
    except AppError as exc:
        fail(exc.detail)
        return
    if not rows:
        click.echo("Tidak ada soal yang ditandai analisis butir.")
        return
    click.echo(f"{'soal':<16} {'v':>2} {'p':>5} {'rpb':>6}  {'telaah':<28} tanda")
    for meta, st, iv in rows:
        review = (
            "-"
            if iv is None
            else iv.review_status + (f" {iv.reviewer} {iv.reviewed_at}" if iv.reviewer else "")
        )
        p = "-" if st.p is None else f"{st.p:.2f}"
        rpb = "-" if st.point_biserial is None else f"{st.point_biserial:.2f}"
        click.echo(
            f"{meta.external_id[:16]:<16} {meta.version:>2} {p:>5} {rpb:>6}  {review[:28]:<28} {', '.join(st.flags)}"
        )
    click.echo(f"{len(rows)} soal perlu ditelaah ulang oleh penelaah bank soal.")


# --- user ---------------------------------------------------------------------------------
@main.group()
def user() -> None:
    """Pengguna."""


@user.command("create")
@click.option(
    "--role", required=True, type=click.Choice(["admin", "proctor", "candidate", "auditor", "viewer"])
)
@click.option("--username", required=True)
@click.option("--password-stdin", is_flag=True, required=True, help="Baca kata sandi dari stdin.")
@click.option("--full-name", default=None)
@click.option("--nip", default=None)
@click.option("--instansi", default=None)
@click.option("--jabatan", default=None)
@click.option("--region-code", default=None, help="Kode wilayah kabupaten/kota instansi (4 digit).")
@click.option(
    "--can-decide",
    is_flag=True,
    help="Beri wewenang keputusan sertifikasi (admin selalu memilikinya; tidak untuk peserta).",
)
def user_create(
    role: str,
    username: str,
    password_stdin: bool,
    full_name: str | None,
    nip: str | None,
    instansi: str | None,
    jabatan: str | None,
    region_code: str | None,
    can_decide: bool,
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
        can_decide=can_decide,
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
