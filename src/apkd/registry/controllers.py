"""Public registry routes (no login): the verification page, the record API, token verification.

Every route here is public and rate limited per client address (apkd.registry.ratelimit).
The database session is opened inside the handlers (not injected), so that a database out of
reach becomes "could not be checked" in the answer instead of an error before the handler.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from litestar import MediaType, Request, Response, get, post
from litestar.datastructures import State
from litestar.openapi import ResponseSpec
from litestar.response import Redirect
from litestar.types import ASGIApp

from apkd.config import Settings
from apkd.credentials.number import NumberError
from apkd.errors import AppError, BadRequest, NotFound, ServiceUnavailable
from apkd.httpcache import Prepared
from apkd.registry import pages, service
from apkd.registry.policy import MAX_INPUT_CHARS, Verdict
from apkd.registry.ratelimit import nip_rate_limit, public_rate_limit
from apkd.registry.schemas import RegistryRecord

MAX_VERIFY_BODY = MAX_INPUT_CHARS + 1024  # the token plus its JSON wrapping
PUBLIC = {"public": True}


def _now() -> datetime:
    return datetime.now(UTC)


def _number_or_400(number: str) -> str:
    try:
        return service.normalize_number(number)
    except NumberError as exc:
        raise BadRequest(
            f"Nomor sertifikat tidak sah: {exc}.", code="invalid_number", extra={"number": number[:80]}
        ) from None


def _claims_view(verdict: Verdict, settings: Settings) -> dict[str, Any] | None:
    """What an authentic token says, when the registry record is out of reach."""
    c = verdict.claims
    if c is None:
        return None
    view: dict[str, Any] = {
        "number": c.number,
        "holder_name": c.holder_name,
        "nip_masked": c.nip_masked,
        "instansi": c.instansi,
        "valid_from": c.valid_from.isoformat() if c.valid_from else None,
        "valid_until": c.valid_until.isoformat() if c.valid_until else None,
        "issuer": {"id": settings.issuer_id, "name": settings.issuer_name},
        "source": "token",
    }
    if c.scheme_code:
        view["scheme"] = {"code": c.scheme_code, "title": c.scheme_title or c.scheme_code}
    return view


def _verify_body(outcome: service.VerifyOutcome, settings: Settings, now: datetime) -> dict[str, Any]:
    v = outcome.verdict
    credential = (
        service.registry_view(outcome.entry, settings, now)
        if outcome.entry is not None and v.claims is not None
        else _claims_view(v, settings)
    )
    return {
        "valid": v.valid,
        "status": v.status,
        "checks": [c.as_dict() for c in v.checks],
        "credential": credential,
        "not_checked": list(v.not_checked),
    }


async def _read_capped(request: Request[Any, Any, Any], cap: int) -> bytes | None:
    """The body, or None when it is larger than `cap` (reading stops there)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > cap:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large() -> dict[str, Any]:
    return {
        "valid": False,
        "status": "invalid",
        "checks": [
            {
                "name": "format",
                "ok": False,
                "detail": f"Masukan terlalu besar (lebih dari {MAX_INPUT_CHARS} karakter).",
                "checked": True,
            }
        ],
        "credential": None,
        "not_checked": [],
    }


@post(
    "/api/v1/registry/verify",
    opt=PUBLIC,
    before_request=public_rate_limit,
    tags=["registry"],
    status_code=200,
    summary="Verifikasi qr_text atau vc_jwt",
    responses=None,
)
async def verify_token(request: Request[Any, Any, Any], state: State, settings: Settings) -> Response[Any]:
    """`{token, nip?}` (a qr_text or a vc_jwt) -> `{valid, status, checks, credential, nip_match?}`;
    never a 5xx for bad input. `nip`: a NIP the holder showed; the answer says whether it is
    theirs (a tighter rate limit applies, see ratelimit.nip_rate_limit)."""
    raw = await _read_capped(request, MAX_VERIFY_BODY)
    if raw is None:
        return Response(_too_large(), media_type=MediaType.JSON)
    import msgspec

    try:
        body = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        raise BadRequest('Isi permintaan harus JSON: {"token": "..."}.', code="invalid_json") from None
    token: object = body.get("token") if isinstance(body, dict) else None
    nip: object = body.get("nip") if isinstance(body, dict) else None
    if nip is not None and (not isinstance(nip, str) or len(nip) > 40):
        raise BadRequest("nip harus berupa teks NIP 18 angka.", code="invalid_nip")
    now = _now()
    credential: object = body.get("credential") if isinstance(body, dict) else None
    if token is None and credential is not None:  # the Data Integrity JSON
        outcome = await service.verify_credential_json(state.session_factory, settings, credential, now=now)
    else:
        outcome = await service.verify_text(state.session_factory, settings, token, now=now)
    answer = _verify_body(outcome, settings, now)
    if isinstance(nip, str):
        held = outcome.entry.credential.number if outcome.entry is not None else None
        limited = await nip_rate_limit(request, held)
        if limited is not None:
            return limited
        answer["nip_match"] = await service.nip_match(state.session_factory, outcome, nip)
    return Response(answer, media_type=MediaType.JSON)


_UNAVAILABLE_DETAIL = (
    "Registri tidak dapat dihubungi saat ini. Coba lagi sebentar lagi, atau periksa tanda tangan "
    "kode QR secara luring (apkd verify)."
)


def _unavailable(detail: str = _UNAVAILABLE_DETAIL) -> ServiceUnavailable:
    return ServiceUnavailable(detail, code="registry_unavailable", headers={"Retry-After": "30"})


# The answers of the record route, built once per rendered record and replayed (the hot path
# when a QR is scanned many times: no Response object, no header encoding per request).
_answers: dict[str, tuple[service.RenderedRecord, Prepared]] = {}
_ANSWERS_MAX = 20_000


def _answer_for(number: str, rendered: service.RenderedRecord) -> Prepared:
    hit = _answers.get(number)
    if hit is not None and hit[0] is rendered:
        return hit[1]
    prepared = Prepared(rendered.body, etag=rendered.etag, headers={"Vary": "Accept"})
    if len(_answers) >= _ANSWERS_MAX:
        _answers.clear()
    _answers[number] = (rendered, prepared)
    return prepared


@get(
    "/api/v1/registry/{number:str}",
    opt=PUBLIC,
    before_request=public_rate_limit,
    tags=["registry"],
    summary="Catatan publik satu sertifikat",
    responses={
        200: ResponseSpec(RegistryRecord, description="Catatan publik (ETag; 304 dengan If-None-Match)"),
        400: ResponseSpec(None, description="Nomor salah ketik (digit pemeriksa tidak cocok)"),
        404: ResponseSpec(None, description="Nomor tidak terdaftar"),
        503: ResponseSpec(None, description="Registri tidak dapat dihubungi"),
    },
)
async def registry_record(request: Request[Any, Any, Any], number: str) -> ASGIApp:
    """The public record of one credential. No dependency injection on this route: it is the
    one a QR scan hits, so the state is read off the app and the answer is prebuilt."""
    state = request.app.state
    canonical = _number_or_400(number)
    rendered = await service.rendered_record(state.session_factory, state.settings, canonical)
    if rendered is None:
        raise _unavailable()
    if rendered.view is None:
        raise NotFound(f"Sertifikat {canonical} tidak terdaftar di registri.", code="credential_not_found")
    return _answer_for(canonical, rendered).answer(request.scope)


def _wants_json(request: Request[Any, Any, Any]) -> bool:
    best = request.accept.best_match(["text/html", "application/json"], default="text/html")
    return best == "application/json"


def _html(body: str, status_code: int = 200) -> Response[str]:
    return Response(
        body,
        status_code=status_code,
        media_type=MediaType.HTML,
        headers={
            "Cache-Control": "no-cache",
            "Vary": "Accept",
            "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self' data:; "
            "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
            "Referrer-Policy": "no-referrer",
            "X-Content-Type-Options": "nosniff",
        },
    )


@get(
    "/v/{number:str}",
    opt=PUBLIC,
    before_request=public_rate_limit,
    tags=["registry"],
    summary="Halaman verifikasi (HTML; JSON dengan Accept: application/json)",
)
async def verify_page(
    request: Request[Any, Any, Any],
    number: str,
    state: State,
    settings: Settings,
    t: str | None = None,
) -> Response[Any]:
    return await _verdict_answer(request, number, state, settings, t)


MAX_NIP_FORM_BODY = MAX_INPUT_CHARS + 512  # the token (hidden field), the NIP, form encoding


@post(
    "/v/{number:str}/nip",
    opt=PUBLIC,
    before_request=public_rate_limit,
    tags=["registry"],
    status_code=200,
    include_in_schema=False,
    summary="Formulir halaman verifikasi: cocokkan NIP yang ditunjukkan pemegang",
)
async def verify_page_nip(
    request: Request[Any, Any, Any], number: str, state: State, settings: Settings
) -> Response[Any]:
    """The page's form for a verifier holding a phone: the NIP the holder showed, checked as
    ``POST /api/v1/registry/verify`` with ``nip`` checks it (same rate limits), answered as the
    verdict page with the match. The NIP travels in the body, never in a URL, and is not logged."""
    from urllib.parse import parse_qs

    raw = await _read_capped(request, MAX_NIP_FORM_BODY)
    if raw is None:
        raise AppError("Isian formulir terlalu besar.", code="payload_too_large", status=413)
    try:
        fields = parse_qs(raw.decode("utf-8"), max_num_fields=4)
    except (UnicodeDecodeError, ValueError):
        raise BadRequest("Isian formulir tidak dapat dibaca.", code="invalid_form") from None
    nip = (fields.get("nip") or [""])[0][:40]
    token = (fields.get("t") or [""])[0] or None
    return await _verdict_answer(request, number, state, settings, token, nip=nip)


async def _verdict_answer(
    request: Request[Any, Any, Any],
    number: str,
    state: State,
    settings: Settings,
    t: str | None,
    *,
    nip: str | None = None,
) -> Response[Any]:
    """The verdict on one number (and the QR token `t` when the page was reached by a scan), as
    the page or, with ``Accept: application/json``, as JSON; with `nip`, the page also says
    whether that NIP is the holder's."""
    now = _now()
    as_json = _wants_json(request) and nip is None
    try:
        canonical = service.normalize_number(number)
    except NumberError as exc:
        if as_json:
            raise BadRequest(f"Nomor sertifikat tidak sah: {exc}.", code="invalid_number") from None
        return _html(
            pages.message_page(
                title="PERIKSA KEMBALI NOMOR",
                message=f"“{number[:80]}” bukan nomor sertifikat APKD yang benar.",
                next_step=pages.MISTYPED_STEP,
                status_code=400,
                now=now,
                typed=number[:80],
            ),
            400,
        )
    factory = state.session_factory
    notice = None
    if t:
        outcome: service.VerifyOutcome | None = await service.verify_text(
            factory, settings, t[: MAX_INPUT_CHARS + 1], now=now, number_hint=canonical
        )
        assert outcome is not None
        if not outcome.database_ok:
            notice = (
                "Registri sedang tidak dapat dihubungi. Keaslian diperiksa dari kode QR dengan kunci "
                "publik penerbit; status terkini (dicabut atau dibekukan) belum dapat dipastikan."
            )
    else:
        outcome, ok = await service.verify_number(factory, settings, canonical, now=now)
        if not ok:
            detail = (
                "Registri sedang tidak dapat dihubungi. Coba lagi sebentar lagi, atau pindai kode QR "
                "pada sertifikat: keasliannya dapat diperiksa dari kode QR itu sendiri."
            )
            if as_json:
                raise _unavailable(detail)
            return _html(
                pages.message_page(
                    title="REGISTRI TIDAK TERJANGKAU",
                    message=detail,
                    next_step=pages.next_step("unknown"),
                    status_code=503,
                    now=now,
                    typed=canonical,
                ),
                503,
            )
    if outcome is None:
        if as_json:
            raise NotFound(
                f"Sertifikat {canonical} tidak terdaftar di registri.", code="credential_not_found"
            )
        return _html(
            pages.message_page(
                title="TIDAK TERDAFTAR",
                message=f"Sertifikat {canonical} tidak terdaftar di registri.",
                next_step=pages.NOT_FOUND_STEP,
                status_code=404,
                now=now,
                typed=canonical,
            ),
            404,
        )
    verdict = outcome.verdict
    if outcome.entry is not None and verdict.claims is not None:
        view: dict[str, Any] | None = service.registry_view(outcome.entry, settings, now)
    else:
        view = _claims_view(verdict, settings)
        if view is not None and view.get("number") is None:
            view["number"] = canonical
    if as_json:
        body = dict(view or {"number": canonical})
        body["registry_status"] = body.get("status")
        body["status"] = verdict.status
        body["valid"] = verdict.valid
        body["checks"] = [c.as_dict() for c in verdict.checks]
        return Response(
            body, media_type=MediaType.JSON, headers={"Cache-Control": "no-cache", "Vary": "Accept"}
        )
    nip_result: str | None = None
    if nip is not None and not t:
        nip_result = "needs_scan"  # a typed number is not enough: decision 005
    elif nip is not None:
        limited = await nip_rate_limit(request, canonical)
        if limited is not None:
            nip_result = "limited"
        elif not "".join(nip.split()):
            nip_result = "empty"
        else:
            match = await service.nip_match(factory, outcome, nip)
            nip_result = "unknown" if match is None else ("match" if match else "mismatch")
    html = pages.verify_page(
        number=canonical,
        view=view,
        verdict=verdict,
        now=now,
        notice=notice,
        nip_form=outcome.entry is not None and verdict.claims is not None and bool(t),
        token=t if t and len(t) <= MAX_INPUT_CHARS else None,
        nip_result=nip_result,
    )
    return _html(html, 429 if nip_result == "limited" else 200)


@get(["/", "/v"], opt=PUBLIC, before_request=public_rate_limit, include_in_schema=False, name="search")
async def search_page(nomor: str | None = None) -> Response[Any]:
    """The public's box to type a number; ``/v?nomor=...`` goes to that number's page."""
    typed = " ".join((nomor or "").split())[:80]
    if nomor is None:
        return _html(pages.home_page(now=_now()))
    cleaned = typed.replace(" ", "").upper()
    if not cleaned:
        return _html(pages.home_page(now=_now(), error="Ketik nomor sertifikat terlebih dahulu."), 400)
    return Redirect(f"/v/{quote(cleaned, safe='')}", status_code=303)


ROUTES: list[Any] = [verify_token, registry_record, verify_page, verify_page_nip, search_page]
