"""Login slips: one card per candidate of a session (name, NIP, username, a fresh initial
password, where and when), printed and cut at the site. Making a slip sets that password (the
old one and every token of the candidate end), so by default only candidates who have never
logged in get one: a candidate who already chose a password keeps it."""

from __future__ import annotations

import io
from dataclasses import dataclass

from fpdf import FPDF
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from apkd import audit
from apkd.accounts.logins import reset_password
from apkd.accounts.models import LoginRecord, User
from apkd.accounts.security import Principal
from apkd.errors import NotFound, Unprocessable
from apkd.exams.candidate_import import initial_password
from apkd.exams.clocks import local_text
from apkd.exams.minutes_doc import _t
from apkd.exams.models import ExamSession, Registration


@dataclass
class Slip:
    full_name: str
    nip: str | None
    username: str
    password: str


async def make_slips(
    db: AsyncSession,
    session_id: int,
    *,
    usernames: list[str] | None,
    include_logged_in: bool,
    actor: Principal,
) -> tuple[ExamSession, list[Slip]]:
    exam = await db.get(ExamSession, session_id)
    if exam is None:
        raise NotFound(f"Sesi ujian #{session_id} tidak ditemukan.", code="session_not_found")
    q = (
        select(User)
        .join(Registration, col(Registration.user_id) == User.id)
        .where(Registration.session_id == session_id)
        .order_by(col(User.full_name), col(User.id))
    )
    if usernames:
        q = q.where(col(User.username).in_(usernames))
    users = list((await db.exec(q)).all())
    if usernames:
        unknown = sorted(set(usernames) - {u.username for u in users})
        if unknown:
            raise Unprocessable(
                "Tidak terdaftar pada sesi ini: " + ", ".join(unknown[:10]), code="not_in_session"
            )
    if not include_logged_in and users:
        seen = set(
            (
                await db.exec(
                    select(LoginRecord.user_id).where(col(LoginRecord.user_id).in_([u.id for u in users]))
                )
            ).all()
        )
        users = [u for u in users if u.id not in seen]
    slips: list[Slip] = []
    for user in users:
        password = initial_password()
        await reset_password(db, user.id or 0, password, actor=actor)
        slips.append(Slip(user.full_name, user.nip, user.username, password))
    await audit.record(
        db,
        "login_slips.printed",
        "exam_session",
        session_id,
        actor=actor.username,
        details={"count": len(slips)},
    )
    return exam, slips


def slips_pdf(exam: ExamSession, slips: list[Slip], login_url: str) -> bytes:
    """Cards two across and five down an A4 page, with cut lines."""
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_title(_t(f"Kartu Login - {exam.title}"))
    pdf.set_creator("apkd")
    pdf.set_auto_page_break(auto=False)
    card_w, card_h, left, top = 90.0, 54.0, 12.0, 12.0
    when = f"{local_text(exam.starts_at, exam.timezone)} s.d. {local_text(exam.ends_at, exam.timezone)}"
    if not slips:
        pdf.add_page()
        pdf.set_font("Helvetica", "", 12)
        pdf.text(left, top + 10, _t("Tidak ada peserta yang perlu dicetakkan kartu login."))
    for i, slip in enumerate(slips):
        if i % 10 == 0:
            pdf.add_page()
        x = left + (i % 2) * (card_w + 6)
        y = top + ((i % 10) // 2) * (card_h + 3)
        pdf.set_draw_color(120, 120, 120)
        pdf.set_dash_pattern(dash=1.5, gap=1.5)
        pdf.rect(x, y, card_w, card_h)
        pdf.set_dash_pattern()
        pdf.set_xy(x + 4, y + 4)
        pdf.set_font("Helvetica", "B", 9)
        pdf.multi_cell(card_w - 8, 4.2, _t(f"KARTU LOGIN UJIAN - {exam.title}"))
        pdf.set_font("Helvetica", "", 9)
        for label, value in (("Nama", slip.full_name), ("NIP", slip.nip or "-")):
            pdf.set_x(x + 4)
            pdf.cell(card_w - 8, 4.6, _t(f"{label}: {value}"), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Courier", "B", 11)
        for label, value in (("Nama pengguna", slip.username), ("Kata sandi", slip.password)):
            pdf.set_x(x + 4)
            pdf.cell(card_w - 8, 5.6, _t(f"{label}: {value}"), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 7.5)
        pdf.set_x(x + 4)
        pdf.multi_cell(
            card_w - 8,
            3.4,
            _t(f"{exam.venue}. {when}. Masuk di {login_url}. Jaga kerahasiaan kartu ini."),
        )
    out = io.BytesIO()
    pdf.output(out)
    return out.getvalue()
