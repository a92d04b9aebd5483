"""Reading results: one attempt's (its candidate once published, or an admin) and a session's
results with each candidate's identity (the CSV export)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlmodel import select as orm_select
from sqlmodel.ext.asyncio.session import AsyncSession

from apkd.accounts.models import Role
from apkd.accounts.security import Principal
from apkd.errors import Forbidden, NotFound
from apkd.exams.models import Attempt, ExamSession
from apkd.grading.loading import RESULT, USER, exam_session_or_404
from apkd.grading.models import Result


async def result_for(session: AsyncSession, attempt_id: int, principal: Principal) -> Result:
    """The result of an attempt: for an admin, or for its candidate once results are published."""
    attempt = await session.get(Attempt, attempt_id)
    if attempt is None:
        raise NotFound("Percobaan ujian tidak ditemukan.", code="attempt_not_found")
    if principal.role != Role.ADMIN:
        if principal.role != Role.CANDIDATE or attempt.user_id != principal.user_id:
            raise Forbidden("Anda hanya dapat melihat hasil ujian Anda sendiri.", code="not_your_attempt")
        es = await session.get(ExamSession, attempt.session_id)
        if es is None or es.results_published_at is None:
            raise Forbidden(
                "Hasil ujian belum diumumkan. Silakan periksa kembali setelah pengumuman.",
                code="results_not_published",
            )
    result = (await session.exec(orm_select(Result).where(Result.attempt_id == attempt_id))).first()
    if result is None:
        raise NotFound(
            "Hasil ujian ini belum tersedia: ujian belum selesai dinilai.", code="result_not_found"
        )
    return result


@dataclass(frozen=True)
class ResultRow:
    nip: str | None
    full_name: str
    instansi: str | None
    username: str
    score: float
    outcome: str
    units: dict[str, float]
    attempt_id: int = 0
    passed: bool = False
    units_passed: dict[str, bool] | None = None


async def session_results(session: AsyncSession, exam_session_id: int) -> tuple[list[str], list[ResultRow]]:
    """The session's results with each candidate's identity, sorted by name; and the unit
    codes in the scheme's order."""
    await exam_session_or_404(session, exam_session_id)
    conn = await session.connection()
    rows = (
        await conn.execute(
            select(
                USER.c.nip,
                USER.c.full_name,
                USER.c.instansi,
                USER.c.username,
                RESULT.c.score,
                RESULT.c.outcome,
                RESULT.c.units,
                RESULT.c.attempt_id,
                RESULT.c.passed,
            )
            .join(USER, USER.c.id == RESULT.c.user_id)
            .where(RESULT.c.session_id == exam_session_id)
            .order_by(USER.c.full_name, USER.c.username)
        )
    ).all()
    codes: list[str] = []
    out: list[ResultRow] = []
    for r in rows:
        units: dict[str, float] = {}
        units_passed: dict[str, bool] = {}
        for u in r.units:
            code = str(u["code"])
            if code not in codes:
                codes.append(code)
            units[code] = float(u["score"])
            units_passed[code] = bool(u.get("passed", True))
        out.append(
            ResultRow(
                nip=r.nip,
                full_name=r.full_name,
                instansi=r.instansi,
                username=r.username,
                score=float(r.score),
                outcome=r.outcome,
                units=units,
                attempt_id=int(r.attempt_id),
                passed=bool(r.passed),
                units_passed=units_passed,
            )
        )
    return codes, out


DISTRIBUTION_WIDTH = 10  # points per bar of the score distribution


def distribution(scores: list[float], width: int = DISTRIBUTION_WIDTH) -> list[tuple[int, int, int]]:
    """Scores (0..100) counted in bins of ``width`` points: ``(low, high, count)``, each bin
    ``low <= score < high`` except the last, which holds 100."""
    bins = [(low, low + width, 0) for low in range(0, 100, width)]
    counts = [0] * len(bins)
    for score in scores:
        i = min(int(max(0.0, score) // width), len(bins) - 1)
        counts[i] += 1
    return [(low, high, counts[i]) for i, (low, high, _) in enumerate(bins)]
