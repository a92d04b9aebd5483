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

from apkd.config import Settings
from apkd.db import is_postgres
from apkd.dbtypes import table_of
from apkd.signing import keys as keylib
from apkd.signing import keystore
from apkd.signing.models import KeyPurpose, SigningKey
from apkd.translog import merkle
from apkd.translog.models import LogCheckpoint, LogHead
from apkd.translog.service import root_at

__all__ = [
    "Checkpoint",
    "checkpoint_note",
    "current_checkpoint",
    "current_checkpoint_note",
    "current_log_key",
    "ensure_log_key",
    "log_origin",
    "log_public_jwk",
    "note_key_hash",
    "note_verifier_key",
]

ED25519_NOTE_TYPE = b"\x01"  # the C2SP signed-note signature type of Ed25519

_HEAD = table_of(LogHead)
_CHECKPOINT = table_of(LogCheckpoint)
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


async def current_checkpoint_note(session: AsyncSession, settings: Settings) -> str:
    """The current checkpoint (the stored one of this tree size) as a signed note, signed
    with the active log key under the name :func:`log_origin`."""
    cp = await current_checkpoint(session, settings)
    signer = await keystore.signer(session, settings, KeyPurpose.LOG)
    return checkpoint_note(log_origin(settings.base_url), cp.tree_size, cp.root_hash, signer.private_key)
