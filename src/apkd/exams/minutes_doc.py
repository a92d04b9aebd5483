"""The berita acara as a document: who sat (names, NIPs, seats), what happened, who proctored.

:func:`minutes_document` gathers it (on top of :func:`apkd.exams.minutes.session_minutes`, with people's
names and NIPs instead of usernames); :func:`minutes_pdf` prints it to an A4 PDF (fpdf2, core
fonts). The proctor's page shows the same data as a printable HTML document.
"""

from __future__ import annotations

import io
import unicodedata
from datetime import datetime

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from msgspec import Struct
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from apkd.accounts.models import User
from apkd.accounts.security import Principal
from apkd.exams import minutes
from apkd.exams.models import Attempt, Registration, SessionProctor
from apkd.exams.schemas import MinutesCounts

__all__ = ["MinutesDocument", "minutes_document", "minutes_pdf"]

STATUS_TEXT = {
    "registered": "Tidak hadir / belum diizinkan",
    "admitted": "Diizinkan, tidak memulai",
    "in_progress": "Sedang mengerjakan",
    "paused": "Dijeda",
    "submitted": "Selesai (dikumpulkan)",
    "expired": "Waktu habis",
    "terminated": "Dihentikan pengawas",
}
CATEGORY_TEXT = {
    "environment": "Lingkungan",
    "candidate": "Peserta",
    "staff": "Petugas",
    "technical": "Teknis",
}
ACTION_TEXT = {
    "admit": "Izinkan masuk",
    "pause": "Jeda",
    "resume": "Lanjutkan",
    "extend": "Tambah waktu",
    "terminate": "Hentikan",
    "release": "Pindah perangkat",
}


class Person(Struct):
    full_name: str
    nip: str | None


class DocCandidate(Struct):
    full_name: str
    nip: str | None
    seat: str | None
    status: str
    status_text: str


class DocEntry(Struct):
    time_text: str
    kind: str  # incident category or proctor action
    kind_text: str
    candidate: Person | None
    text: str
    by: Person


class MinutesDocument(Struct):
    session_id: int
    title: str
    scheme_code: str
    scheme_title: str
    venue: str
    timezone: str
    window_text: str
    counts: MinutesCounts
    proctors: list[Person]
    candidates: list[DocCandidate]
    incidents: list[DocEntry]
    actions: list[DocEntry]
    generated_at_text: str
    site_notes: list[str] = []


async def minutes_document(
    db: AsyncSession, exam_session_id: int, principal: Principal, *, now: datetime | None = None
) -> MinutesDocument:
    base = await minutes.session_minutes(db, exam_session_id, principal, now=now)
    rows = (
        await db.exec(
            select(Registration, User, Attempt.status)
            .join(User, col(User.id) == col(Registration.user_id))
            .outerjoin(Attempt, col(Attempt.registration_id) == col(Registration.id))
            .where(Registration.session_id == exam_session_id)
            .order_by(col(Registration.seat), col(User.full_name))
        )
    ).all()
    proctor_rows = (
        await db.exec(
            select(User)
            .join(SessionProctor, col(SessionProctor.user_id) == col(User.id))
            .where(SessionProctor.session_id == exam_session_id)
            .order_by(col(User.full_name))
        )
    ).all()
    names = {u.username: Person(full_name=u.full_name, nip=u.nip) for _, u, _ in rows}
    names |= {u.username: Person(full_name=u.full_name, nip=u.nip) for u in proctor_rows}
    missing = {i.reported_by for i in base.incidents} | {a.actor for a in base.proctor_actions}
    missing -= set(names)
    if missing:
        for u in (await db.exec(select(User).where(col(User.username).in_(missing)))).all():
            names[u.username] = Person(full_name=u.full_name, nip=u.nip)

    def person(username: str | None) -> Person | None:
        if username is None:
            return None
        return names.get(username, Person(full_name=username, nip=None))

    def status_of(reg: Registration, attempt_status: str | None) -> str:
        return attempt_status or reg.status

    s = base.session
    return MinutesDocument(
        session_id=s.id,
        title=s.title,
        scheme_code=s.scheme_code,
        scheme_title=s.scheme_title,
        venue=s.venue,
        timezone=s.timezone,
        window_text=f"{s.starts_at_text} s.d. {s.ends_at_text}",
        counts=base.counts,
        proctors=[Person(full_name=u.full_name, nip=u.nip) for u in proctor_rows],
        candidates=[
            DocCandidate(
                full_name=u.full_name,
                nip=u.nip,
                seat=reg.seat,
                status=status_of(reg, st),
                status_text=STATUS_TEXT.get(status_of(reg, st), status_of(reg, st)),
            )
            for reg, u, st in rows
        ],
        incidents=[
            DocEntry(
                time_text=i.created_at_text,
                kind=i.category,
                kind_text=CATEGORY_TEXT.get(i.category, i.category),
                candidate=person(i.username),
                text=i.description + (f" (soal {i.item_position})" if i.item_position else ""),
                by=person(i.reported_by) or Person(full_name="", nip=None),
            )
            for i in base.incidents
        ],
        actions=[
            DocEntry(
                time_text=a.created_at_text,
                kind=a.action,
                kind_text=ACTION_TEXT.get(a.action, a.action) + (f" {a.minutes} menit" if a.minutes else ""),
                candidate=person(a.username),
                text=a.reason or "",
                by=person(a.actor) or Person(full_name="", nip=None),
            )
            for a in base.proctor_actions
        ],
        generated_at_text=base.generated_at_text,
        site_notes=base.site_notes,
    )


# --- PDF -----------------------------------------------------------------------------------------


def _t(text: str | None) -> str:
    """Text the PDF core fonts (cp1252) can show; other letters lose their marks, the rest '?'."""
    out = []
    for ch in unicodedata.normalize("NFC", text or ""):
        try:
            ch.encode("cp1252")
            out.append(ch)
        except UnicodeEncodeError:
            base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
            try:
                base.encode("cp1252")
                out.append(base or "?")
            except UnicodeEncodeError:
                out.append("?")
    return "".join(out)


def _who(p: Person | None) -> str:
    if p is None:
        return "-"
    return f"{p.full_name} (NIP {p.nip})" if p.nip else p.full_name


def minutes_pdf(doc: MinutesDocument) -> bytes:
    """The berita acara on A4 portrait pages, ending with the proctors' signature blocks."""
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_title(_t(f"Berita Acara Pelaksanaan Ujian - {doc.title}"))
    pdf.set_creator("apkd")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.set_margins(18, 15, 18)
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin

    def line(text: str, size: float = 10, style: str = "", h: float = 5.5) -> None:
        pdf.set_font("Helvetica", style, size)
        pdf.multi_cell(width, h, _t(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def heading(text: str) -> None:
        pdf.ln(3)
        line(text, 11, "B", 6.5)

    line("BERITA ACARA PELAKSANAAN UJIAN SERTIFIKASI APKD", 13, "B", 7)
    line(f"Nomor sesi {doc.session_id}", 9)
    pdf.ln(2)
    for label, value in (
        ("Sesi", doc.title),
        ("Skema", f"{doc.scheme_title} ({doc.scheme_code})"),
        ("Tempat", doc.venue),
        ("Waktu", doc.window_text),
        ("Pengawas", "; ".join(_who(p) for p in doc.proctors) or "-"),
    ):
        line(f"{label}: {value}")
    c = doc.counts
    heading("Rekapitulasi")
    line(
        f"Terdaftar {c.registered}; hadir dan memulai {c.started}; tidak hadir/tidak memulai {c.absent}; "
        f"dikumpulkan {c.submitted}; waktu habis {c.expired}; dihentikan {c.terminated}; "
        f"masih berlangsung {c.in_progress + c.paused}."
    )
    heading("Daftar peserta")
    cols = (12, 62, 45, width - 119)
    pdf.set_font("Helvetica", "B", 9)
    for w, head in zip(cols, ("Kursi", "Nama", "NIP", "Keterangan"), strict=True):
        pdf.cell(w, 6, head, border=1)
    pdf.ln()
    pdf.set_font("Helvetica", "", 9)
    for cand in doc.candidates:
        for w, value in zip(
            cols, (cand.seat or "-", cand.full_name, cand.nip or "-", cand.status_text), strict=True
        ):
            pdf.cell(w, 6, _t(value)[:60], border=1)
        pdf.ln()
    heading("Kejadian")
    if not doc.incidents:
        line("Tidak ada kejadian yang dicatat.")
    for e in doc.incidents:
        about = f" - {_who(e.candidate)}" if e.candidate else ""
        line(f"{e.time_text} - {e.kind_text}{about}: {e.text} (dicatat oleh {e.by.full_name})", 9.5)
    heading("Tindakan pengawas")
    if not doc.actions:
        line("Tidak ada tindakan yang dicatat.")
    for e in doc.actions:
        about = f" - {_who(e.candidate)}" if e.candidate else ""
        reason = f": {e.text}" if e.text else ""
        line(f"{e.time_text} - {e.kind_text}{about}{reason} (oleh {e.by.full_name})", 9.5)
    if doc.site_notes:
        heading("Server lokasi ujian")
        for note in doc.site_notes:
            line(note, 9.5)
    pdf.ln(8)
    line(f"Disusun {doc.generated_at_text}.", 9)
    pdf.ln(4)
    for p in doc.proctors or [Person(full_name="", nip=None)]:
        if pdf.get_y() > pdf.h - 45:
            pdf.add_page()
        line("Pengawas,", 10)
        pdf.ln(14)
        line(p.full_name or "(..............................)", 10, "B")
        line(f"NIP {p.nip}" if p.nip else "NIP -", 9)
        pdf.ln(4)
    out = io.BytesIO()
    pdf.output(out)
    return out.getvalue()
