"""HTTP handlers of the transparency log (all public). ``ROUTES`` is what app.py mounts.

Integer query parameters are taken as text and parsed by the service, so that a bad value
gets a 400 problem with a precise ``code`` (``invalid_index``, ``invalid_tree_size``, ...).
What never changes is cacheable for long: a proof for given sizes, a full page of entries.
"""

from __future__ import annotations

import base64
from typing import Any

import msgspec
from litestar import Controller, MediaType, Request, Response, get, post
from sqlmodel.ext.asyncio.session import AsyncSession

from apkd.config import Settings
from apkd.errors import BadRequest
from apkd.httpcache import cached
from apkd.translog import checkpoints, merkle, service
from apkd.translog.schemas import (
    CheckpointOut,
    ConsistencyProofOut,
    CosignaturesOut,
    EntriesOut,
    EntryOut,
    InclusionProofOut,
    LookupOut,
)

IMMUTABLE = "public, max-age=86400, immutable"
CHECKPOINT_CACHE = "public, max-age=10, must-revalidate"
KEY_CACHE = "public, max-age=300"
NOTE_MEDIA_TYPE = "text/plain; charset=utf-8"
COSIGNATURE_MAX_BYTES = 16 * 1024  # a checkpoint and a few dozen signature lines


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _entry_out(index: int, leaf: bytes) -> EntryOut:
    return EntryOut(index=index, entry=_b64(leaf), event=service.decode_leaf(leaf))


class LogController(Controller):
    path = "/api/v1/log"
    tags = ["translog"]

    @get("/checkpoint", opt={"public": True})
    async def checkpoint(
        self, request: Request[Any, Any, Any], db: AsyncSession, settings: Settings
    ) -> Response[Any]:
        """The latest signed checkpoint: `{tree_size, root_hash, timestamp, signature, key_id}`;
        with `Accept: text/plain` the same checkpoint as a C2SP tlog-checkpoint signed note.

        The same checkpoint is served while the log does not grow (ETag / If-None-Match).
        """
        wanted = request.accept.best_match([MediaType.JSON, MediaType.TEXT], default=MediaType.JSON)
        if wanted == MediaType.TEXT:
            return await self._note(request, db, settings)
        cp = await checkpoints.current_checkpoint(db, settings)
        body = CheckpointOut(
            tree_size=cp.tree_size,
            root_hash=cp.root_hash,
            timestamp=cp.timestamp,
            signature=cp.signature,
            key_id=cp.key_id,
        )
        return cached(
            request, msgspec.json.encode(body), cache_control=CHECKPOINT_CACHE, headers={"Vary": "Accept"}
        )

    @get("/checkpoint.note", opt={"public": True}, media_type=MediaType.TEXT)
    async def checkpoint_note(
        self, request: Request[Any, Any, Any], db: AsyncSession, settings: Settings
    ) -> Response[Any]:
        """The latest checkpoint as a C2SP tlog-checkpoint signed note (origin, tree size, base64
        root hash, blank line, `— <origin> <base64(key hash || Ed25519 signature)>`)."""
        return await self._note(request, db, settings)

    @staticmethod
    async def _note(request: Request[Any, Any, Any], db: AsyncSession, settings: Settings) -> Response[Any]:
        note = await checkpoints.current_checkpoint_note(db, settings)
        return cached(
            request,
            note,
            cache_control=CHECKPOINT_CACHE,
            media_type=NOTE_MEDIA_TYPE,
            headers={"Vary": "Accept"},
        )

    @post(
        "/cosignatures",
        opt={"public": True},
        status_code=200,
        request_max_body_size=COSIGNATURE_MAX_BYTES,
    )
    async def cosignatures(
        self, request: Request[Any, Any, Any], db: AsyncSession, settings: Settings
    ) -> CosignaturesOut:
        """A witness hands in its cosignature of a checkpoint (C2SP tlog-cosignature): the body is
        the checkpoint note (`text/plain`) with the witness's signature line(s), as a witness
        answers. No login: only the witnesses of `APKD_LOG_WITNESSES` are taken, each verified
        over a checkpoint this log signed; they are then served with that size's note."""
        try:
            note = (await request.body()).decode("utf-8")
        except UnicodeDecodeError:
            raise BadRequest("Catatan checkpoint harus teks UTF-8.", code="invalid_utf8") from None
        done = await checkpoints.accept_cosignatures(db, settings, note)
        return CosignaturesOut(tree_size=done.tree_size, witnesses=list(done.witnesses))

    @get("/key", opt={"public": True})
    async def key(self, db: AsyncSession, settings: Settings) -> Response[dict[str, Any]]:
        """The log's Ed25519 public key as a JWK (kid = RFC 7638 thumbprint)."""
        jwk = await checkpoints.current_log_key(db, settings)
        return Response(content=jwk, headers={"Cache-Control": KEY_CACHE})

    @get("/entries", opt={"public": True})
    async def entries(
        self, db: AsyncSession, start: str | None = None, end: str | None = None
    ) -> Response[EntriesOut]:
        """Leaves `start <= index < end` (at most 1000 per page; fewer past the end of the log)."""
        first = service.parse_index("start", start)
        last = None if end is None else service.parse_index("end", end)
        rows = await service.entries(db, first, last)
        full_page = last is not None and len(rows) == last - first
        return Response(
            content=EntriesOut(entries=[_entry_out(i, leaf) for i, leaf in rows]),
            headers={"Cache-Control": IMMUTABLE if full_page and rows else "no-cache"},
        )

    @get("/lookup", opt={"public": True})
    async def lookup(self, db: AsyncSession, number: str | None = None) -> LookupOut:
        """The leaves about one credential number, oldest first (index, exact leaf, event)."""
        if number is None or not service.is_number(number):
            raise BadRequest("Parameter 'number' harus nomor kredensial yang sah.", code="invalid_number")
        rows = await service.find_leaves(db, number)
        return LookupOut(number=number, entries=[_entry_out(i, leaf) for i, leaf in rows])

    @get("/proof/inclusion", opt={"public": True})
    async def inclusion(
        self, db: AsyncSession, index: str | None = None, tree_size: str | None = None
    ) -> Response[InclusionProofOut]:
        """RFC 9162 inclusion proof of leaf `index` in the tree of `tree_size` leaves."""
        i = service.parse_index("index", index)
        n = service.parse_index("tree_size", tree_size)
        try:
            path = await service.inclusion_proof(db, i, n)
        except merkle.MerkleError as exc:  # already checked by the service; belt and braces
            raise BadRequest(f"Permintaan bukti tidak valid: {exc}", code="invalid_proof_request") from None
        return Response(
            content=InclusionProofOut(index=i, tree_size=n, path=[_b64(p) for p in path]),
            headers={"Cache-Control": IMMUTABLE},
        )

    @get("/proof/consistency", opt={"public": True})
    async def consistency(
        self, db: AsyncSession, first: str | None = None, second: str | None = None
    ) -> Response[ConsistencyProofOut]:
        """RFC 9162 consistency proof between the trees of `first` and `second` leaves."""
        m = service.parse_index("first", first)
        n = service.parse_index("second", second)
        try:
            path = await service.consistency_proof(db, m, n)
        except merkle.MerkleError as exc:
            raise BadRequest(f"Permintaan bukti tidak valid: {exc}", code="invalid_proof_request") from None
        return Response(
            content=ConsistencyProofOut(first=m, second=n, path=[_b64(p) for p in path]),
            headers={"Cache-Control": IMMUTABLE},
        )


ROUTES: list[Any] = [LogController]
