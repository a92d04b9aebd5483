"""The log's key and its signed checkpoints.

The log key is a signing key of purpose ``log`` in :mod:`apkd.signing.keystore` (created,
encrypted at rest, on first use). A checkpoint is signed once per tree size and stored;
while the size is unchanged every worker returns the same checkpoint (stable, cacheable).
Everything runs in the caller's transaction and flushes; the request commits.
"""

from __future__ import annotations

import base64
import hashlib
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel.ext.asyncio.session import AsyncSession

from apkd.config import ConfigError, Settings
from apkd.db import is_postgres
from apkd.dbtypes import table_of
from apkd.errors import BadRequest, Conflict, Unprocessable
from apkd.signing import keys as keylib
from apkd.signing import keystore
from apkd.signing.models import KeyPurpose, SigningKey
from apkd.translog import cosign, merkle
from apkd.translog.models import LogCheckpoint, LogCosignature, LogHead
from apkd.translog.service import root_at

__all__ = [
    "Checkpoint",
    "CosignResult",
    "accept_cosignatures",
    "checkpoint_note",
    "current_checkpoint",
    "current_checkpoint_note",
    "current_log_key",
    "current_log_note",
    "ensure_log_key",
    "log_origin",
    "log_public_jwk",
    "note_key_hash",
    "note_verifier_key",
    "witness_keys",
]

ED25519_NOTE_TYPE = b"\x01"  # the C2SP signed-note signature type of Ed25519

_HEAD = table_of(LogHead)
_CHECKPOINT = table_of(LogCheckpoint)
_COSIGNATURE = table_of(LogCosignature)
FUTURE_SLACK_SECONDS = 600  # a witness's clock may run this far ahead of ours
_SIGNED = (_CHECKPOINT.c.root_hash, _CHECKPOINT.c.timestamp_ms, _CHECKPOINT.c.signature, _CHECKPOINT.c.key_id)


async def ensure_log_key(session: AsyncSession, settings: Settings) -> SigningKey:
    """The log's active Ed25519 key, created (encrypted at rest, flushed) on first use."""
    return await keystore.ensure_active(session, settings, KeyPurpose.LOG)


def log_public_jwk(key: SigningKey) -> dict[str, Any]:
    """The public JWK of the log key (with kid = RFC 7638 thumbprint, alg EdDSA, use sig)."""
    public = {k: v for k, v in key.public_jwk.items() if k in {"kty", "crv", "x"}}
    return keylib.jwks([public])["keys"][0]


@dataclass(frozen=True)
class Checkpoint:
    tree_size: int
    root_hash: str
    timestamp: int
    signature: str
    key_id: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "tree_size": self.tree_size,
            "root_hash": self.root_hash,
            "timestamp": self.timestamp,
            "signature": self.signature,
            "key_id": self.key_id,
        }


async def _stored_checkpoint(conn: AsyncConnection) -> tuple[int, Checkpoint | None]:
    """(head size, the stored checkpoint of that size or None), in one query."""
    head = select(func.coalesce(func.max(_HEAD.c.tree_size), 0).label("size")).subquery()
    row = (
        await conn.execute(
            select(head.c.size, *_SIGNED).select_from(
                head.outerjoin(_CHECKPOINT, _CHECKPOINT.c.tree_size == head.c.size)
            )
        )
    ).one()
    size = int(row[0])
    if row[1] is None:
        return size, None
    return size, Checkpoint(size, row[1], int(row[2]), row[3], row[4])


async def current_checkpoint(session: AsyncSession, settings: Settings) -> Checkpoint:
    """The signed checkpoint of the current tree size, signed and stored (flushed) the first
    time that size is asked for."""
    conn = await session.connection()
    size, stored = await _stored_checkpoint(conn)
    if stored is not None:
        return stored
    signer = await keystore.signer(session, settings, KeyPurpose.LOG)
    root = base64.b64encode(await root_at(session, size)).decode("ascii")
    timestamp = int(time.time() * 1000)
    message = merkle.checkpoint_message(size, root, timestamp)
    signature = base64.b64encode(signer.private_key.sign(message)).decode()
    ins: Any = pg_insert(_CHECKPOINT) if is_postgres(session) else sqlite_insert(_CHECKPOINT)
    await conn.execute(
        ins.values(
            tree_size=size, root_hash=root, timestamp_ms=timestamp, signature=signature, key_id=signer.kid
        ).on_conflict_do_nothing(index_elements=["tree_size"])
    )
    # Another worker may have stored this size first: every worker serves the stored one.
    row = (await conn.execute(select(*_SIGNED).where(_CHECKPOINT.c.tree_size == size))).one()
    return Checkpoint(size, row[0], int(row[1]), row[2], row[3])


async def current_log_key(session: AsyncSession, settings: Settings) -> dict[str, Any]:
    """The public JWK of the active log key (created on first use)."""
    return log_public_jwk(await ensure_log_key(session, settings))


# --- The checkpoint as a C2SP tlog-checkpoint signed note ------------------------------------


def log_origin(base_url: str) -> str:
    """The log's origin line, unique per deployment: host (and port) and path of the base URL,
    then ``/log`` (``https://apkd.example.go.id`` -> ``apkd.example.go.id/log``). It is also
    the note key's name."""
    parts = urlsplit(base_url)
    return f"{parts.netloc}{parts.path.rstrip('/')}/log"


def note_key_hash(name: str, public_key: bytes) -> bytes:
    """The 4-byte key hash of C2SP signed-note: SHA-256(name || 0x0A || 0x01 || key)[:4]."""
    return hashlib.sha256(name.encode() + b"\n" + ED25519_NOTE_TYPE + public_key).digest()[:4]


def note_verifier_key(name: str, public_key: bytes) -> str:
    """The verifier key string (``name+hash+base64(0x01 || key)``) of Go's ``note.NewVerifier``:
    what a witness operator configures to follow this log."""
    key_hash = note_key_hash(name, public_key).hex()
    return f"{name}+{key_hash}+{base64.b64encode(ED25519_NOTE_TYPE + public_key).decode()}"


def checkpoint_note(origin: str, tree_size: int, root_hash: str, private_key: Ed25519PrivateKey) -> str:
    """The signed note: the checkpoint text (origin, size, base64 root, each line ending in a
    newline; the Ed25519 signature is over exactly these bytes), a blank line, then the line
    ``— <origin> <base64(key hash || signature)>``. Ed25519 is deterministic: the same
    size, root and key give the same note."""
    text = f"{origin}\n{tree_size}\n{root_hash}\n"
    public = private_key.public_key().public_bytes_raw()
    blob = note_key_hash(origin, public) + private_key.sign(text.encode())
    return f"{text}\n\u2014 {origin} {base64.b64encode(blob).decode()}\n"


async def current_log_note(session: AsyncSession, settings: Settings) -> tuple[Checkpoint, str]:
    """The current checkpoint and its signed note with the log's own signature only (what a
    witness is asked to cosign)."""
    cp = await current_checkpoint(session, settings)
    signer = await keystore.signer(session, settings, KeyPurpose.LOG)
    return cp, checkpoint_note(log_origin(settings.base_url), cp.tree_size, cp.root_hash, signer.private_key)


async def current_checkpoint_note(session: AsyncSession, settings: Settings) -> str:
    """The current checkpoint (the stored one of this tree size) as a signed note, signed
    with the active log key under the name :func:`log_origin`, followed by the witnesses'
    cosignature lines of this size (in witness-name order)."""
    cp, note = await current_log_note(session, settings)
    conn = await session.connection()
    lines = (
        await conn.execute(
            select(_COSIGNATURE.c.line)
            .where(_COSIGNATURE.c.tree_size == cp.tree_size)
            .order_by(_COSIGNATURE.c.witness)
        )
    ).scalars()
    return note + "".join(f"{line}\n" for line in lines)


# --- Witness cosignatures (C2SP tlog-cosignature; decision 051) ------------------------------


_WITNESS_CACHE: dict[tuple[str, ...], tuple[cosign.WitnessKey, ...]] = {}


def witness_keys(settings: Settings) -> tuple[cosign.WitnessKey, ...]:
    """The witnesses of ``APKD_LOG_WITNESSES``, parsed once per distinct setting; a key that is
    not a C2SP Ed25519 cosignature vkey is a configuration error."""
    raw = settings.log_witnesses
    keys = _WITNESS_CACHE.get(raw)
    if keys is None:
        parsed: list[cosign.WitnessKey] = []
        for vkey in raw:
            try:
                parsed.append(cosign.parse_witness_key(vkey))
            except cosign.CosignError as exc:
                raise ConfigError(f"APKD_LOG_WITNESSES: {exc}") from None
        if len({k.name for k in parsed}) != len(parsed):
            raise ConfigError("APKD_LOG_WITNESSES: nama saksi yang sama muncul dua kali")
        keys = _WITNESS_CACHE[raw] = tuple(parsed)
    return keys


@dataclass(frozen=True)
class CosignResult:
    tree_size: int
    witnesses: tuple[str, ...]


async def accept_cosignatures(
    session: AsyncSession, settings: Settings, note: str, *, now: float | None = None
) -> CosignResult:
    """Take the cosignatures in ``note`` (a checkpoint of this log as a signed note, with one or
    more witness signature lines, as a witness answers) from the configured witnesses; each is
    verified over the note body, which must be a checkpoint this log signed. A witness's newer
    cosignature of the same tree size replaces its older one. Flushes; the request commits."""
    try:
        body, lines = cosign.parse_note(note)
    except cosign.CosignError as exc:
        raise BadRequest(f"Catatan checkpoint tidak dapat dibaca: {exc}.", code="invalid_note") from None
    size, root = _parse_body(body, log_origin(settings.base_url))
    conn = await session.connection()
    stored = (
        await conn.execute(select(_CHECKPOINT.c.root_hash).where(_CHECKPOINT.c.tree_size == size))
    ).scalar_one_or_none()
    if stored is None or stored != root:
        raise Conflict(
            f"Log ini tidak pernah menandatangani checkpoint berukuran {size} dengan akar tersebut.",
            code="checkpoint_unknown",
        )
    keys = witness_keys(settings)
    if not keys:
        raise Unprocessable(
            "Log ini tidak mengenal saksi mana pun (APKD_LOG_WITNESSES kosong).", code="cosignature_refused"
        )
    limit = int(now if now is not None else time.time()) + FUTURE_SLACK_SECONDS
    found: dict[str, cosign.Cosignature] = {}
    for line in lines:
        for key in keys:
            try:
                got = cosign.verify_cosignature(key, body, line)
            except cosign.CosignError as exc:
                raise Unprocessable(f"Cosignature ditolak: {exc}.", code="cosignature_invalid") from None
            if got is None:
                continue
            if got.timestamp > limit:
                raise Unprocessable(
                    f"Cosignature saksi {key.name} bertanggal di masa depan.", code="cosignature_invalid"
                )
            found[key.name] = got
    if not found:
        raise Unprocessable(
            "Catatan ini tidak memuat cosignature dari saksi yang dikenal log ini.",
            code="cosignature_refused",
        )
    existing = {
        row[0]: int(row[1])
        for row in await conn.execute(
            select(_COSIGNATURE.c.witness, _COSIGNATURE.c.timestamp).where(
                _COSIGNATURE.c.tree_size == size, _COSIGNATURE.c.witness.in_(list(found))
            )
        )
    }
    for name, cs in found.items():
        values = {"key_id": cs.key_id.hex(), "timestamp": cs.timestamp, "line": cs.line}
        if name not in existing:
            await conn.execute(_COSIGNATURE.insert().values(tree_size=size, witness=name, **values))
        elif cs.timestamp > existing[name]:
            await conn.execute(
                _COSIGNATURE.update()
                .where(_COSIGNATURE.c.tree_size == size, _COSIGNATURE.c.witness == name)
                .values(**values)
            )
    return CosignResult(size, tuple(sorted(found)))


def _parse_body(body: str, origin: str) -> tuple[int, str]:
    """(tree size, base64 root) of a checkpoint note body of this log (origin, size, root)."""
    lines = body.split("\n")[:-1]
    if len(lines) != 3:
        raise BadRequest(
            "Isi checkpoint harus tiga baris: origin, ukuran pohon, dan hash akar base64.",
            code="invalid_note",
        )
    got_origin, size_text, root = lines
    if got_origin != origin:
        raise Conflict(
            f"Checkpoint ini milik log {got_origin!r}, bukan log ini ({origin}).", code="checkpoint_unknown"
        )
    if not size_text.isdigit() or (size_text != "0" and size_text.startswith("0")) or len(size_text) > 19:
        raise BadRequest("Ukuran pohon pada checkpoint bukan bilangan desimal yang sah.", code="invalid_note")
    try:
        if len(base64.b64decode(root, validate=True)) != 32:
            raise ValueError
    except ValueError:
        raise BadRequest(
            "Hash akar pada checkpoint bukan base64 SHA-256 yang sah.", code="invalid_note"
        ) from None
    return int(size_text), root
