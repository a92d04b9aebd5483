"""HTTP handlers of the credentials domain (thin: the rules are in the service).

``ROUTES`` is what app.py mounts. (Issuing on publish, called by grading, gets the app's
settings through apkd.wiring.wire, called by create_app.)
"""

from __future__ import annotations

import hashlib
import io
from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import anyio
from litestar import Controller, Request, Response, get, post
from litestar.params import Parameter
from sqlmodel.ext.asyncio.session import AsyncSession

from apkd.accounts.guards import admin_only, any_login, requires
from apkd.accounts.security import Principal
from apkd.bounds import INT32_MAX
from apkd.config import Settings
from apkd.credentials import issuer_keys, qr, service
from apkd.credentials.merge import merge_pdfs
from apkd.credentials.models import Credential
from apkd.credentials.schemas import (
    CredentialDetail,
    CredentialSummary,
    HolderPublic,
    KeyRotate,
    ReasonRequest,
    SchemeRef,
    SigningKeyPublic,
    StatusChanged,
)
from apkd.errors import Forbidden, NotFound
from apkd.httpcache import attachment, cached, etag_for, if_none_match
from apkd.signing import keystore
from apkd.signing.keys import THUMBPRINT_URI
from apkd.signing.models import KeyPurpose, SigningKey
from apkd.textrules import clean_reason

if TYPE_CHECKING:
    from apkd.credentials.pdf import CertificateData  # fpdf: imported where a PDF is printed

VC_JWT_MEDIA_TYPE = "application/vc+jwt"
PRIVATE_CACHE = "private, max-age=86400"


class _LRU:
    """A small in-process LRU of rendered files (QR images, PDFs): made on request, never
    while issuing. A cache only: every worker can rebuild any entry from the database."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.data: OrderedDict[tuple[str, str, str], bytes] = OrderedDict()

    def get(self, key: tuple[str, str, str]) -> bytes | None:
        value = self.data.get(key)
        if value is not None:
            self.data.move_to_end(key)
        return value

    def put(self, key: tuple[str, str, str], value: bytes) -> None:
        self.data[key] = value
        self.data.move_to_end(key)
        while len(self.data) > self.size:
            self.data.popitem(last=False)


_images = _LRU(1024)
_pdfs = _LRU(64)


def _iso(dt: datetime) -> str:
    return dt.isoformat()


def _summary(
    cred: Credential, settings: Settings, titles: dict[str, str], renews: dict[int, str]
) -> CredentialSummary:
    return CredentialSummary(
        number=cred.number,
        status=service.effective_status(cred),
        holder=HolderPublic(full_name=cred.holder_name, nip_masked=cred.nip_masked, instansi=cred.instansi),
        scheme=SchemeRef(
            code=cred.scheme_code,
            version=cred.scheme_version,
            title=titles.get(cred.scheme_code, cred.scheme_code),
        ),
        valid_from=_iso(cred.valid_from),
        valid_until=_iso(cred.valid_until),
        issued_at=_iso(cred.issued_at),
        verify_url=service.verify_url(settings, cred.number),
        attempt_id=cred.attempt_id,
        renews=renews.get(cred.renews_id) if cred.renews_id else None,
        linkedin_url=_linkedin(cred, settings, titles),
    )


def _linkedin(cred: Credential, settings: Settings, titles: dict[str, str]) -> str:
    from apkd.credentials.issuing import ISSUER_TZ
    from apkd.credentials.sharing import linkedin_add_url

    return linkedin_add_url(
        name=f"Sertifikat Kompetensi {titles.get(cred.scheme_code, cred.scheme_code)}",
        organization_name=settings.issuer_name,
        organization_id=settings.linkedin_organization_id,
        valid_from=cred.valid_from,
        valid_until=cred.valid_until,
        verify_url=service.verify_url(settings, cred.number),
        number=cred.number,
        tz=ISSUER_TZ,
    )


async def _renewed_numbers(db: AsyncSession, creds: Sequence[Credential]) -> dict[int, str]:
    ids = sorted({c.renews_id for c in creds if c.renews_id is not None})
    if not ids:
        return {}
    from sqlmodel import col, select

    rows = (await db.exec(select(Credential.id, Credential.number).where(col(Credential.id).in_(ids)))).all()
    return {cid: number for cid, number in rows if cid is not None}


async def _summaries(
    db: AsyncSession, creds: Sequence[Credential], settings: Settings
) -> list[CredentialSummary]:
    titles = await service.scheme_titles(db, [c.scheme_code for c in creds])
    renews = await _renewed_numbers(db, creds)
    return [_summary(c, settings, titles, renews) for c in creds]


async def _owned(db: AsyncSession, number: str, principal: Principal) -> Credential:
    """The credential, for its holder or an admin; the number is checked before any lookup."""
    text = service.canonical_number(number)
    cred = await service.get_by_number(db, text)
    if cred is None:
        raise NotFound("Sertifikat dengan nomor ini tidak ditemukan.", code="credential_not_found")
    if principal.role != "admin" and cred.user_id != principal.user_id:
        raise Forbidden("Sertifikat ini bukan milik Anda.", code="not_your_credential")
    return cred


def _not_modified(request: Request[Any, Any, Any], etag: str) -> bool:
    """The client already has this file: skip rendering it."""
    return if_none_match(request.headers.get("if-none-match"), etag)


def _file(
    request: Request[Any, Any, Any],
    content: bytes,
    media_type: str,
    etag: str,
    cache_control: str,
    **headers: str,
) -> Response[bytes]:
    return cached(
        request, content, media_type=media_type, cache_control=cache_control, etag=etag, headers=headers
    )


async def _image(
    request: Request[Any, Any, Any],
    cred: Credential,
    kind: str,
    render: Callable[[str], bytes],
    media_type: str,
) -> Response[bytes]:
    qr_hash = hashlib.sha256(cred.qr_text.encode()).hexdigest()
    etag = etag_for(kind, cred.number, qr_hash)
    if _not_modified(request, etag):
        return _file(request, b"", media_type, etag, PRIVATE_CACHE)
    key = (kind, cred.number, qr_hash)
    content = _images.get(key)
    if content is None:
        content = await anyio.to_thread.run_sync(render, cred.qr_text)
        _images.put(key, content)
    return _file(request, content, media_type, etag, PRIVATE_CACHE)


class CredentialController(Controller):
    path = "/api/v1/credentials"
    tags = ["credentials"]

    @get("/", guards=[admin_only])
    async def list_credentials(
        self,
        db: AsyncSession,
        settings: Settings,
        session_id: Annotated[int | None, Parameter(ge=1, le=INT32_MAX)] = None,
    ) -> list[CredentialSummary]:
        """Credentials issued (admin), optionally those of one exam session."""
        return await _summaries(db, await service.list_credentials(db, session_id=session_id), settings)

    @get("/{number:str}", guards=[any_login])
    async def get_credential(
        self, number: str, db: AsyncSession, settings: Settings, principal: Principal
    ) -> CredentialDetail:
        """One credential with its vc+jwt and QR text (its holder, admin)."""
        cred = await _owned(db, number, principal)
        s = (await _summaries(db, [cred], settings))[0]
        return CredentialDetail(
            number=s.number,
            status=s.status,
            holder=s.holder,
            scheme=s.scheme,
            valid_from=s.valid_from,
            valid_until=s.valid_until,
            issued_at=s.issued_at,
            vc_jwt=cred.vc_jwt,
            qr_text=cred.qr_text,
            verify_url=s.verify_url,
            kid=cred.kid,
            attempt_id=cred.attempt_id,
            renews=s.renews,
            revocation_reason=cred.revocation_reason,
            suspension_reason=cred.suspension_reason,
            linkedin_url=s.linkedin_url,
        )

    @get("/{number:str}/credential.jwt", guards=[any_login])
    async def credential_jwt(self, number: str, db: AsyncSession, principal: Principal) -> Response[bytes]:
        """The credential as its vc+jwt (compact JWS), to save as a file (its holder, admin)."""
        cred = await _owned(db, number, principal)
        return attachment(
            cred.vc_jwt.encode("ascii"), VC_JWT_MEDIA_TYPE, f"{cred.number}.jwt", cache_control=PRIVATE_CACHE
        )

    @get("/{number:str}/badge.png", guards=[any_login])
    async def badge_png(
        self, number: str, db: AsyncSession, settings: Settings, principal: Principal
    ) -> Response[bytes]:
        """The Open Badges 3.0 baked badge: the scheme's badge PNG carrying the credential (with
        its Data Integrity proof) in an iTXt chunk ``openbadgecredential`` (its holder, admin)."""
        from apkd.credentials.badgeimage import badge_png
        from apkd.credentials.baking import bake_png

        cred = await _owned(db, number, principal)
        doc = await service.data_integrity_credential(db, cred, settings)
        content = bake_png(badge_png(cred.scheme_code), _json_bytes(doc).decode("utf-8"))
        return attachment(content, "image/png", f"lencana-{cred.number}.png", cache_control=PRIVATE_CACHE)

    @get("/{number:str}/badge.svg", guards=[any_login])
    async def badge_svg(
        self, number: str, db: AsyncSession, settings: Settings, principal: Principal
    ) -> Response[bytes]:
        """The Open Badges 3.0 baked badge as SVG: ``<openbadges:credential>`` holding the
        credential with its Data Integrity proof (its holder, admin)."""
        from apkd.credentials.badgeimage import badge_svg
        from apkd.credentials.baking import bake_svg

        cred = await _owned(db, number, principal)
        doc = await service.data_integrity_credential(db, cred, settings)
        title = (await service.scheme_titles(db, [cred.scheme_code])).get(cred.scheme_code, cred.scheme_code)
        content = bake_svg(badge_svg(cred.scheme_code, title), _json_bytes(doc).decode("utf-8"))
        return attachment(content, "image/svg+xml", f"lencana-{cred.number}.svg", cache_control=PRIVATE_CACHE)

    @get("/{number:str}/credential.json", guards=[any_login])
    async def credential_json(
        self, number: str, db: AsyncSession, settings: Settings, principal: Principal
    ) -> Response[bytes]:
        """The credential as JSON with an embedded Data Integrity proof, eddsa-rdfc-2022 (its
        holder, admin)."""
        cred = await _owned(db, number, principal)
        doc = await service.data_integrity_credential(db, cred, settings)
        return attachment(
            _json_bytes(doc), "application/vc+ld+json", f"{cred.number}.json", cache_control=PRIVATE_CACHE
        )

    @get("/{number:str}/qr.png", guards=[any_login])
    async def qr_png(
        self, request: Request[Any, Any, Any], number: str, db: AsyncSession, principal: Principal
    ) -> Response[bytes]:
        """The QR code as PNG (its holder, admin)."""
        cred = await _owned(db, number, principal)
        return await _image(request, cred, "png", qr.qr_png, "image/png")

    @get("/{number:str}/qr.svg", guards=[any_login])
    async def qr_svg(
        self, request: Request[Any, Any, Any], number: str, db: AsyncSession, principal: Principal
    ) -> Response[bytes]:
        """The QR code as SVG (its holder, admin)."""
        cred = await _owned(db, number, principal)
        return await _image(request, cred, "svg", qr.qr_svg, "image/svg+xml")

    @get("/{number:str}/certificate.pdf", guards=[any_login])
    async def certificate(
        self,
        request: Request[Any, Any, Any],
        number: str,
        db: AsyncSession,
        settings: Settings,
        principal: Principal,
    ) -> Response[bytes]:
        """The printable certificate, A4 PDF (its holder, admin)."""
        cred = await _owned(db, number, principal)
        data = await service.certificate_data(db, cred, settings)
        etag = etag_for("pdf", repr(data))
        filename = f"sertifikat-{cred.number}.pdf"
        disposition = f'inline; filename="{filename}"'
        if _not_modified(request, etag):
            return _file(
                request, b"", "application/pdf", etag, PRIVATE_CACHE, **{"Content-Disposition": disposition}
            )
        content = await _certificate_pdf(db, cred, settings, data)
        return _file(
            request, content, "application/pdf", etag, PRIVATE_CACHE, **{"Content-Disposition": disposition}
        )

    async def _change(
        self, action: str, number: str, data: ReasonRequest, db: AsyncSession, principal: Principal
    ) -> StatusChanged:
        cred = await service.change_status(
            db, number, action, data.reason, actor=principal.username, actor_id=principal.user_id
        )
        return StatusChanged(number=cred.number, status=service.effective_status(cred))

    @post("/{number:str}/revoke", guards=[admin_only], status_code=200)
    async def revoke(
        self, number: str, data: ReasonRequest, db: AsyncSession, principal: Principal
    ) -> StatusChanged:
        """Revoke a credential, permanently (admin)."""
        return await self._change("revoke", number, data, db, principal)

    @post("/{number:str}/suspend", guards=[admin_only], status_code=200)
    async def suspend(
        self, number: str, data: ReasonRequest, db: AsyncSession, principal: Principal
    ) -> StatusChanged:
        """Suspend a credential until it is reinstated (admin)."""
        return await self._change("suspend", number, data, db, principal)

    @post("/{number:str}/reinstate", guards=[admin_only], status_code=200)
    async def reinstate(
        self, number: str, data: ReasonRequest, db: AsyncSession, principal: Principal
    ) -> StatusChanged:
        """Lift a suspension (admin)."""
        return await self._change("reinstate", number, data, db, principal)


@get("/api/v1/me/credentials", guards=[requires("candidate")], tags=["credentials"])
async def my_credentials(
    db: AsyncSession, settings: Settings, principal: Principal
) -> list[CredentialSummary]:
    """The caller's own credentials (candidate)."""
    return await _summaries(db, await service.list_credentials(db, user_id=principal.user_id), settings)


def _json_bytes(doc: Any) -> bytes:
    import json

    return json.dumps(doc, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()


async def _published_jwks(db: AsyncSession, settings: Settings) -> dict[str, Any]:
    return issuer_keys.with_kid_urls(await service.public_jwks(db), settings)


@get("/.well-known/jwks.json", opt={"public": True}, tags=["credentials"])
async def jwks(request: Request[Any, Any, Any], db: AsyncSession, settings: Settings) -> Response[Any]:
    """Every public key that ever signed a credential, current and retired (public); each
    under its thumbprint and under the kid URL the vc+jwt names."""
    body = _json_bytes(await _published_jwks(db, settings))
    return cached(request, body, media_type="application/jwk-set+json", cache_control="public, max-age=300")


@get("/.well-known/jwt-vc-issuer", opt={"public": True}, tags=["credentials"])
async def jwt_vc_issuer(
    request: Request[Any, Any, Any], db: AsyncSession, settings: Settings
) -> Response[Any]:
    """JWT VC issuer metadata (SD-JWT VC, section "JWT VC Issuer Metadata"): the issuer and its
    keys, for verifiers that discover the key from the vc+jwt's iss."""
    doc = {
        "issuer": settings.issuer_id,
        "jwks_uri": f"{settings.base_url.rstrip('/')}/.well-known/jwks.json",
        "jwks": await _published_jwks(db, settings),
    }
    return cached(
        request, _json_bytes(doc), media_type="application/json", cache_control="public, max-age=300"
    )


@get("/issuer", opt={"public": True}, tags=["credentials"])
async def issuer_profile(request: Request[Any, Any, Any], settings: Settings) -> Response[Any]:
    """The issuer's Open Badges 3.0 Profile (issuer.id of every credential answers with it):
    the certification body and its URL (public)."""
    doc = issuer_keys.issuer_profile(settings)
    return cached(
        request, _json_bytes(doc), media_type="application/ld+json", cache_control="public, max-age=300"
    )


@get("/issuer/controller", opt={"public": True}, tags=["credentials"])
async def issuer_controller(
    request: Request[Any, Any, Any], db: AsyncSession, settings: Settings
) -> Response[Any]:
    """The issuer's controller document: its keys as Multikeys, which Data Integrity proofs name
    as verificationMethod (public)."""
    doc = issuer_keys.controller_document(settings, await service.public_jwks(db))
    return cached(
        request, _json_bytes(doc), media_type="application/json", cache_control="public, max-age=300"
    )


@get("/issuer/keys/{kid:str}", opt={"public": True}, tags=["credentials"])
async def issuer_key(
    request: Request[Any, Any, Any], kid: str, db: AsyncSession, settings: Settings
) -> Response[Any]:
    """The JWK a vc+jwt's kid names (the kid URL dereferences here); 404 for an unknown key."""
    from apkd.signing.keys import kid_thumbprint

    wanted = kid_thumbprint(kid)
    for key in (await service.public_jwks(db)).get("keys", []):
        if key.get("kid") == wanted:
            jwk = {**key, "kid": issuer_keys.kid_url(settings, wanted)}
            return cached(
                request,
                _json_bytes(jwk),
                media_type="application/jwk+json",
                cache_control="public, max-age=300",
            )
    raise NotFound("Kunci penerbit tidak ditemukan.", code="key_not_found")


async def _scheme_title(db: AsyncSession, code: str) -> str:
    import re

    ok = re.fullmatch(r"[A-Z0-9-]{2,16}", code) is not None
    title = (await service.scheme_titles(db, [code])).get(code) if ok else None
    if title is None:
        raise NotFound("Skema sertifikasi tidak ditemukan.", code="scheme_not_found")
    return title


@get("/api/v1/schemes/{code:str}/badge.png", opt={"public": True}, tags=["credentials"])
async def scheme_badge_png(request: Request[Any, Any, Any], code: str, db: AsyncSession) -> Response[Any]:
    """The scheme's badge image, PNG: what ``achievement.image`` names (public)."""
    from apkd.credentials.badgeimage import badge_png

    await _scheme_title(db, code)
    content = await anyio.to_thread.run_sync(badge_png, code)
    return cached(request, content, media_type="image/png", cache_control="public, max-age=86400")


@get("/api/v1/schemes/{code:str}/badge.svg", opt={"public": True}, tags=["credentials"])
async def scheme_badge_svg(request: Request[Any, Any, Any], code: str, db: AsyncSession) -> Response[Any]:
    """The scheme's badge image, SVG (public)."""
    from apkd.credentials.badgeimage import badge_svg

    content = badge_svg(code, await _scheme_title(db, code))
    return cached(request, content, media_type="image/svg+xml", cache_control="public, max-age=86400")


@get("/api/v1/status-lists/{list_id:int}", opt={"public": True}, tags=["credentials"])
async def status_list(
    request: Request[Any, Any, Any], list_id: int, db: AsyncSession, settings: Settings
) -> Response[Any]:
    """A Bitstring Status List credential, signed as a vc+jwt (public)."""
    signed = await service.signed_status_list(db, list_id, settings)  # may create a first key
    return cached(
        request,
        signed.jwt.encode("ascii"),
        media_type=VC_JWT_MEDIA_TYPE,
        cache_control=f"public, max-age={signed.max_age}",
        etag=signed.etag,
    )


async def _certificate_pdf(
    db: AsyncSession, cred: Credential, settings: Settings, data: CertificateData | None = None
) -> bytes:
    """A certificate's PDF, from the cache when its data (current status and the signed
    credential it embeds included) has not changed."""
    from apkd.credentials.pdf import render_certificate

    if data is None:
        data = await service.certificate_data(db, cred, settings)
    key = ("pdf", cred.number, etag_for("pdf", repr(data)))
    content = _pdfs.get(key)
    if content is None:
        content = await anyio.to_thread.run_sync(render_certificate, data)
        _pdfs.put(key, content)
    return content


@get(
    "/api/v1/sessions/{session_id:int}/certificates.zip",
    guards=[admin_only],
    tags=["credentials"],
    media_type="application/zip",
)
async def session_certificates(session_id: int, db: AsyncSession, settings: Settings) -> Response[bytes]:
    """Every certificate of a session's credentials, one PDF each, in one ZIP (admin); revoked
    ones are left out, and the listing ``daftar.csv`` names each file with its status."""
    import zipfile

    from apkd.spreadsheet import csv_bytes

    creds = await service.list_credentials(db, session_id=session_id)
    if not creds:
        raise NotFound("Sesi ini belum memiliki sertifikat terbit.", code="no_certificates")
    out = io.BytesIO()
    listing: list[tuple[str, str, str, str]] = []
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for cred in creds:
            status = service.effective_status(cred)
            name = f"sertifikat-{cred.number}.pdf" if status != "revoked" else ""
            if name:
                archive.writestr(name, await _certificate_pdf(db, cred, settings))
            listing.append((cred.number, cred.holder_name, status, name))
        archive.writestr("daftar.csv", csv_bytes(("nomor", "nama", "status", "berkas"), listing))
    return attachment(out.getvalue(), "application/zip", f"sertifikat-sesi-{session_id}.zip")


@get(
    "/api/v1/sessions/{session_id:int}/certificates.pdf",
    guards=[admin_only],
    tags=["credentials"],
    media_type="application/pdf",
)
async def session_certificates_pdf(session_id: int, db: AsyncSession, settings: Settings) -> Response[bytes]:
    """Every certificate of a session in one PDF (admin), to print at once: each credential's own
    certificate PDF, in credential-number order, merged; revoked ones are left out (as in the ZIP).
    ``X-Certificate-Count`` says how many are in it."""
    creds = [
        c
        for c in await service.list_credentials(db, session_id=session_id)
        if service.effective_status(c) != "revoked"
    ]
    if not creds:
        raise NotFound("Sesi ini belum memiliki sertifikat terbit.", code="no_certificates")
    creds.sort(key=lambda c: c.number)
    parts = [await _certificate_pdf(db, c, settings) for c in creds]
    body = await anyio.to_thread.run_sync(merge_pdfs, parts, f"Sertifikat sesi {session_id}")
    return attachment(
        body,
        "application/pdf",
        f"sertifikat-sesi-{session_id}.pdf",
        headers={"X-Certificate-Count": str(len(parts))},
    )


def _key_public(row: SigningKey) -> SigningKeyPublic:
    def iso(dt: datetime | None) -> str | None:
        return dt.isoformat() if dt is not None else None

    return SigningKeyPublic(
        purpose=row.purpose,
        kid=row.kid,
        thumbprint_uri=THUMBPRINT_URI + row.kid,
        status=row.status,
        created_at=row.created_at.isoformat(),
        retired_at=iso(row.retired_at),
        compromised_at=iso(row.compromised_at),
        compromise_reason=row.compromise_reason,
    )


class KeyController(Controller):
    """The signing keys as the console shows them: status and thumbprints; rotation (admin)."""

    path = "/api/v1/keys"
    tags = ["credentials"]

    @get("/", guards=[requires("admin", "auditor")])
    async def list_keys(self, db: AsyncSession) -> list[SigningKeyPublic]:
        """Every signing key, credential keys then the transparency log's, newest first: active,
        retired (still published, what they signed verifies) or compromised (with the reason)."""
        rows = [
            *reversed(await keystore.list_keys(db, KeyPurpose.CREDENTIAL)),
            *reversed(await keystore.list_keys(db, KeyPurpose.LOG)),
        ]
        return [_key_public(r) for r in rows]

    @post("/rotate", guards=[admin_only], status_code=200)
    async def rotate(
        self, data: KeyRotate, db: AsyncSession, principal: Principal, settings: Settings
    ) -> SigningKeyPublic:
        """Rotate the credential signing key (admin), with a reason: a new key signs from now on,
        the old one is retired and stays in the JWKS; logged in the transparency log and audited."""
        reason = clean_reason(data.reason, label="Alasan rotasi")
        return _key_public(await issuer_keys.rotate(db, settings, actor=principal.username, reason=reason))


ROUTES: list[Any] = [
    KeyController,
    CredentialController,
    my_credentials,
    jwks,
    jwt_vc_issuer,
    issuer_profile,
    issuer_controller,
    issuer_key,
    status_list,
    scheme_badge_png,
    scheme_badge_svg,
    session_certificates,
    session_certificates_pdf,
]
