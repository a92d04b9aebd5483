"""HTTP handlers of the grading domain. ``ROUTES`` is what app.py mounts."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.params import QueryParameter
from msgspec import UNSET
from sqlmodel.ext.asyncio.session import AsyncSession

from apkd.accounts.guards import admin_only, requires
from apkd.accounts.models import Role
from apkd.accounts.security import Principal
from apkd.accounts.service import username_of
from apkd.banks.models import Scheme
from apkd.errors import BadRequest
from apkd.grading import corrections, item_analysis, publishing, results
from apkd.grading.export import (
    CSV_MEDIA_TYPE,
    XLSX_MEDIA_TYPE,
    Text,
    csv_bytes,
    safe_text,
    xlsx_bytes,
)
from apkd.grading.loading import exam_session_or_404
from apkd.grading.schemas import (
    CandidateRef,
    CorrectionPublic,
    CorrectionRequest,
    CorrectionSummary,
    FormAnalysis,
    ItemAnalysis,
    ItemAnalysisRow,
    OutcomeChange,
    PublishPreviewPublic,
    PublishSummary,
    ResultPublic,
    ScoreBin,
    SessionResultRow,
    SessionResults,
    SessionResultUnit,
    UnitResult,
)
from apkd.httpcache import attachment

admin_or_auditor = requires(Role.ADMIN, Role.AUDITOR)
admin_or_candidate = requires(Role.ADMIN, Role.CANDIDATE)
# Staff who may hold the decision permission; the service checks the permission itself.
decision_staff = requires(Role.ADMIN, Role.PROCTOR)


def _wants_csv(request: Request[Any, Any, Any], fmt: str | None) -> bool:
    if fmt is not None:
        fmt = fmt.strip().lower()
        if fmt not in ("csv", "json"):
            raise BadRequest("Parameter format harus 'json' atau 'csv'.", code="invalid_format")
        return fmt == "csv"
    accept = request.headers.get("accept", "").lower()
    return "text/csv" in accept and "application/json" not in accept


def _csv_response(body: bytes, filename: str) -> Response[bytes]:
    return attachment(body, CSV_MEDIA_TYPE, filename)


class SessionGradingController(Controller):
    path = "/api/v1/sessions"
    tags = ["grading"]

    @post("/{session_id:int}/publish", guards=[decision_staff], status_code=200)
    async def publish(self, session_id: int, db: AsyncSession, principal: Principal) -> PublishSummary:
        """The certification decision: grade every closed attempt, publish the results and issue
        credentials (idempotent). Only a holder of the decision permission who was not a proctor
        of the session (403 ``decider_involved`` otherwise)."""
        out = await publishing.publish(db, session_id, decider=principal)
        decider = await username_of(db, out.decided_by)
        return PublishSummary(
            graded=out.graded,
            passed=out.passed,
            credentials_issued=out.credentials_issued,
            total_graded=out.total_graded,
            total_passed=out.total_passed,
            still_open=out.still_open,
            published_at=out.published_at.isoformat(),
            decided_by=decider,
            decided_at=out.decided_at.isoformat() if out.decided_at else None,
        )

    @get("/{session_id:int}/publish/preview", guards=[admin_or_auditor])
    async def publish_preview(
        self, session_id: int, db: AsyncSession, principal: Principal
    ) -> PublishPreviewPublic:
        """What publishing would do now, writing nothing: attempts to grade and how many pass,
        overdue attempts it closes first, credentials it issues; and whether the caller may
        take the decision (``may_publish``, ``refusal``)."""
        p = await publishing.preview(db, session_id, caller=principal)
        return PublishPreviewPublic(
            to_grade=p.to_grade,
            would_pass=p.would_pass,
            overdue=p.overdue,
            still_open=p.still_open,
            already_graded=p.already_graded,
            already_passed=p.already_passed,
            credentials_to_issue=p.credentials_to_issue,
            published_at=p.published_at.isoformat() if p.published_at else None,
            may_publish=p.may_publish,
            refusal=p.refusal,
        )

    @get("/{session_id:int}/item-analysis", guards=[admin_or_auditor])
    async def session_item_analysis(
        self,
        session_id: int,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        fmt: Annotated[str | None, QueryParameter(name="format", description="json atau csv")] = None,
    ) -> Any:
        """Item analysis (p, point-biserial, option counts, flags; KR-20 per form). JSON or CSV."""
        report = await item_analysis.item_analysis(db, session_id=session_id)
        if _wants_csv(request, fmt):
            return _csv_response(analysis_csv(report), f"analisis-butir-sesi-{session_id}.csv")
        return analysis_public(report)

    @get("/{session_id:int}/results", guards=[admin_or_auditor])
    async def session_results(self, session_id: int, db: AsyncSession) -> SessionResults:
        """The session's results: each candidate's score, outcome and unit scores (sorted by
        name), and the score distribution in bins of 10 points, with the scheme's pass score."""
        es = await exam_session_or_404(db, session_id)
        scheme = await db.get(Scheme, es.scheme_id)
        assert scheme is not None
        codes, rows = await results.session_results(db, session_id)
        scores = [r.score for r in rows]
        return SessionResults(
            session_id=session_id,
            scheme_code=scheme.code,
            pass_score=scheme.pass_score,
            units=codes,
            published=es.results_published_at is not None,
            rows=[
                SessionResultRow(
                    attempt_id=r.attempt_id,
                    username=r.username,
                    nip=r.nip,
                    full_name=r.full_name,
                    instansi=r.instansi,
                    score=r.score,
                    passed=r.passed,
                    outcome=r.outcome,
                    units=[
                        SessionResultUnit(
                            code=c, score=r.units[c], passed=(r.units_passed or {}).get(c, True)
                        )
                        for c in codes
                        if c in r.units
                    ],
                )
                for r in rows
            ],
            distribution=[ScoreBin(low=lo, high=hi, count=n) for lo, hi, n in results.distribution(scores)],
            mean=round(sum(scores) / len(scores), 2) if scores else None,
            passed=sum(1 for r in rows if r.passed),
        )

    @get("/{session_id:int}/results.csv", guards=[admin_only])
    async def results_csv(
        self,
        session_id: int,
        db: AsyncSession,
        variant: Annotated[
            str | None,
            QueryParameter(
                description="'excel-id': titik koma dan koma desimal, untuk Excel berbahasa Indonesia"
            ),
        ] = None,
    ) -> Response[bytes]:
        """The session's results as CSV (UTF-8 with BOM): NIP (as text), name, instansi, score, units, outcome.
        ``?variant=excel-id`` gives the semicolon variant with decimal commas for Indonesian-locale Excel."""
        if variant not in (None, "excel-id"):
            raise BadRequest("Parameter variant hanya boleh 'excel-id'.", code="invalid_variant")
        header, rows = await _results_table(db, session_id)
        body = csv_bytes(header, rows, excel_id=variant == "excel-id")
        return _csv_response(body, f"hasil-sesi-{session_id}.csv")

    @get("/{session_id:int}/results.xlsx", guards=[admin_only])
    async def results_xlsx(self, session_id: int, db: AsyncSession) -> Response[bytes]:
        """The session's results as an Excel workbook (NIP as text, scores as numbers)."""
        header, rows = await _results_table(db, session_id)
        return attachment(
            xlsx_bytes(header, rows, sheet="Hasil"), XLSX_MEDIA_TYPE, f"hasil-sesi-{session_id}.xlsx"
        )


async def _results_table(db: AsyncSession, session_id: int) -> tuple[list[str], list[list[Any]]]:
    codes, rows = await results.session_results(db, session_id)
    header = ["NIP", "Nama", "Instansi", "Nilai", *codes, "Hasil"]
    return header, [
        [Text(r.nip or ""), r.full_name, r.instansi, r.score, *(r.units.get(c) for c in codes), r.outcome]
        for r in rows
    ]


class SchemeGradingController(Controller):
    path = "/api/v1/schemes"
    tags = ["grading"]

    @get("/{code:str}/item-analysis", guards=[admin_or_auditor])
    async def scheme_item_analysis(
        self,
        code: str,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        fmt: Annotated[str | None, QueryParameter(name="format", description="json atau csv")] = None,
    ) -> Any:
        """Item analysis over every session of a scheme. JSON or CSV."""
        report = await item_analysis.item_analysis(db, scheme_code=code)
        if _wants_csv(request, fmt):
            return _csv_response(analysis_csv(report), f"analisis-butir-{report.scheme_code}.csv")
        return analysis_public(report)


class AttemptResultController(Controller):
    path = "/api/v1/attempts"
    tags = ["grading"]

    @get("/{attempt_id:int}/result", guards=[admin_or_candidate])
    async def result(self, attempt_id: int, db: AsyncSession, principal: Principal) -> ResultPublic:
        """An attempt's result: its candidate once results are published, or an admin."""
        r = await results.result_for(db, attempt_id, principal)
        return ResultPublic(
            attempt_id=r.attempt_id,
            score=r.score,
            passed=r.passed,
            outcome=r.outcome,
            units=[UnitResult(code=u["code"], score=u["score"], passed=u["passed"]) for u in r.units],
            reason=r.reason,
            revision=r.revision,
            graded_at=r.graded_at.isoformat(),
        )


class CorrectionController(Controller):
    path = "/api/v1/item-versions"
    tags = ["grading"]

    @post("/{item_version_id:int}/corrections", guards=[admin_only], status_code=200)
    async def correct(
        self, item_version_id: int, data: CorrectionRequest, db: AsyncSession, principal: Principal
    ) -> CorrectionSummary:
        """Correct an item's key (rekey) or void it, with a reason; every affected result is regraded.
        With ``preview: true`` nothing is written: the answer says whose outcome would flip."""
        out = await corrections.correct_key(
            db,
            item_version_id,
            action=data.action,
            reason=data.reason,
            answer=None if data.answer is UNSET else data.answer,
            answer_given=data.answer is not UNSET,
            actor=principal,
            preview=data.preview,
        )

        def who(c: corrections.Change) -> tuple[str, str]:
            return out.users.get(c.user_id, ("", ""))

        return CorrectionSummary(
            correction_id=out.correction_id,
            item_version_id=out.item_version_id,
            action=out.action,
            regraded=out.regraded,
            changes=[
                OutcomeChange(
                    attempt_id=c.attempt_id,
                    username=who(c)[0],
                    full_name=who(c)[1],
                    old_outcome=c.old_outcome,
                    new_outcome=c.new_outcome,
                    old_score=c.old_score,
                    new_score=c.new_score,
                )
                for c in out.changes
            ],
            newly_passed=[
                CandidateRef(attempt_id=c.attempt_id, username=who(c)[0], full_name=who(c)[1])
                for c in out.newly_passed
            ],
            no_longer_passed=[
                CandidateRef(attempt_id=c.attempt_id, username=who(c)[0], full_name=who(c)[1])
                for c in out.no_longer_passed
            ],
            credentials_issued=out.credentials_issued,
            credentials_revoked=out.credentials_revoked,
            preview=data.preview,
        )

    @get("/{item_version_id:int}/corrections", guards=[admin_or_auditor])
    async def corrections(self, item_version_id: int, db: AsyncSession) -> list[CorrectionPublic]:
        """The key corrections of an item version, oldest first (the keys themselves are not shown)."""
        return [
            CorrectionPublic(
                id=kc.id or 0,
                item_version_id=kc.item_version_id,
                action=kc.action,
                reason=kc.reason,
                actor=username,
                created_at=kc.created_at.isoformat(),
            )
            for kc, username in await corrections.list_corrections(db, item_version_id)
        ]


def _form_public(name: str, f: Any) -> FormAnalysis:
    return FormAnalysis(form=name, n=f.n, k=f.k, mean=f.mean, sd=f.sd, kr20=f.kr20, sem=f.sem)


def analysis_public(report: item_analysis.AnalysisReport) -> ItemAnalysis:
    return ItemAnalysis(
        scope=report.scope,
        session_id=report.session_id,
        scheme_code=report.scheme_code,
        attempts=report.attempts,
        items=[
            ItemAnalysisRow(
                item_version_id=meta.item_version_id,
                external_id=meta.external_id,
                version=meta.version,
                unit=meta.unit,
                type=meta.type,
                n=s.n,
                p=s.p,
                point_biserial=s.point_biserial,
                omitted=s.omitted,
                option_counts=dict(s.option_counts),
                flags=list(s.flags),
                flag_texts=item_analysis.flag_texts(s.flags),
                voided=voided,
            )
            for meta, s, voided in report.items
        ],
        forms=[_form_public(name, f) for name, f in report.forms],
        pooled=_form_public("posisi", report.pooled) if report.pooled is not None else None,
    )


ANALYSIS_HEADER = [
    "item_version_id",
    "kode_soal",
    "versi",
    "unit",
    "jenis",
    "n",
    "p",
    "rpb",
    "kosong",
    "pilihan",
    "tanda",
    "dibatalkan",
]


def analysis_csv(report: item_analysis.AnalysisReport) -> bytes:
    return csv_bytes(
        ANALYSIS_HEADER,
        (
            [
                meta.item_version_id,
                safe_text(meta.external_id),
                meta.version,
                safe_text(meta.unit),
                meta.type,
                s.n,
                "" if s.p is None else f"{s.p:.4f}",
                "" if s.point_biserial is None else f"{s.point_biserial:.4f}",
                s.omitted,
                "; ".join(f"{k}={v}" for k, v in sorted(s.option_counts.items())),
                " ".join(s.flags),
                "ya" if voided else "tidak",
            ]
            for meta, s, voided in report.items
        ),
    )


ROUTES: list[Any] = [
    SessionGradingController,
    SchemeGradingController,
    AttemptResultController,
    CorrectionController,
]
