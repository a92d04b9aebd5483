"""Grading commands: ``apkd report items --session ID`` (or ``--scheme CODE``) prints the item
analysis as a table; ``--csv`` writes the same figures as CSV."""

from __future__ import annotations

import sys

import click


def _fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def register(main: click.Group) -> None:
    existing = main.commands.get("report")
    if isinstance(existing, click.Group):
        report = existing
    else:

        @main.group("report")
        def report() -> None:
            """Laporan."""

    @report.command("items")
    @click.option("--session", "session_id", type=int, default=None, help="Id sesi ujian.")
    @click.option("--scheme", "scheme_code", default=None, help="Kode skema (semua sesinya).")
    @click.option("--csv", "as_csv", is_flag=True, help="Cetak sebagai CSV.")
    def report_items(session_id: int | None, scheme_code: str | None, as_csv: bool) -> None:
        """Analisis butir soal: p, point-biserial terkoreksi, pilihan jawaban, KR-20."""
        from apkd.cliutil import fail, with_session
        from apkd.errors import AppError
        from apkd.grading import item_analysis
        from apkd.grading.controllers import analysis_csv

        if (session_id is None) == (scheme_code is None):
            fail("pilih salah satu: --session ID atau --scheme KODE")
        try:
            rep = with_session(
                lambda s: item_analysis.item_analysis(s, session_id=session_id, scheme_code=scheme_code)
            )
        except AppError as exc:
            fail(exc.detail)
            return
        if as_csv:
            sys.stdout.write(analysis_csv(rep).decode("utf-8").lstrip("\ufeff"))
            return
        where = f"sesi {rep.session_id}" if rep.scope == "session" else f"skema {rep.scheme_code}"
        click.echo(f"Analisis butir {where}: {rep.attempts} peserta (selesai atau waktu habis)")
        if not rep.items:
            click.echo("Belum ada jawaban untuk dianalisis.")
            return
        header = (
            f"{'soal':<16} {'v':>2} {'unit':<10} {'n':>5} {'p':>5} {'rpb':>6} {'kosong':>6}  pilihan / tanda"
        )
        click.echo(header)
        click.echo("-" * len(header))
        for meta, st, voided in rep.items:
            options = " ".join(f"{k}:{v}" for k, v in sorted(st.option_counts.items()))
            flags = ", ".join(st.flags) + (" [DIBATALKAN]" if voided else "")
            click.echo(
                f"{meta.external_id[:16]:<16} {meta.version:>2} {meta.unit[:10]:<10} {st.n:>5} "
                f"{_fmt(st.p):>5} {_fmt(st.point_biserial):>6} {st.omitted:>6}  {options}"
                + (f"  ! {flags}" if flags else "")
            )
        click.echo("")
        forms = [(name, f) for name, f in rep.forms]
        if rep.pooled is not None:
            forms.append(("posisi (gabungan)", rep.pooled))
        for name, f in forms:
            click.echo(
                f"Paket {name}: n={f.n} k={f.k} rata-rata={f.mean:.2f} SD={f.sd:.2f} "
                f"KR-20={_fmt(f.kr20, 3)} SEM={_fmt(f.sem)}"
            )
        if not forms:
            click.echo("Statistik paket (KR-20) perlu minimal 2 peserta dengan paket soal yang sama.")
