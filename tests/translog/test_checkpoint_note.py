"""The checkpoint as a C2SP tlog-checkpoint signed note, checked with a verifier written here
from the C2SP texts (signed-note, tlog-checkpoint) and nothing of apkd's note code: the key is
taken from the published JWK, the key hash recomputed, the signature checked over the note text."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from test_log_api import fill

ORIGIN = "apkd.test/log"  # APKD_BASE_URL of the tests is https://apkd.test


class NoteError(Exception):
    pass


def c2sp_key_hash(name: str, key: bytes) -> bytes:
    # signed-note: key ID = first 4 bytes of SHA-256(key name || 0x0A || signature type || key)
    return hashlib.sha256(name.encode("utf-8") + b"\x0a" + b"\x01" + key).digest()[:4]


def open_note(note: bytes, name: str, key: bytes) -> str:
    """Verify `note` with the Ed25519 key `key` called `name`; return the note text."""
    try:
        decoded = note.decode("utf-8")
    except UnicodeDecodeError:
        raise NoteError("not UTF-8") from None
    if any(ord(c) < 0x20 and c != "\n" for c in decoded) or "\x7f" in decoded:
        raise NoteError("control character")
    # The text is everything up to and including the newline before the last blank line.
    cut = decoded.rfind("\n\n")
    if cut < 0:
        raise NoteError("no blank line before the signatures")
    text, sigs = decoded[: cut + 1], decoded[cut + 2 :]
    if not sigs.endswith("\n"):
        raise NoteError("signature block does not end in a newline")
    verified = False
    for line in sigs[:-1].split("\n"):
        if not line.startswith("\u2014 "):
            raise NoteError(f"bad signature line {line!r}")
        sig_name, _, b64 = line[2:].partition(" ")
        if not sig_name or " " in b64:
            raise NoteError(f"bad signature line {line!r}")
        blob = base64.b64decode(b64, validate=True)
        if len(blob) < 5:
            raise NoteError("signature too short")
        if sig_name != name or blob[:4] != c2sp_key_hash(name, key):
            continue  # someone else's signature (a witness): not ours to check
        try:
            Ed25519PublicKey.from_public_bytes(key).verify(blob[4:], text.encode("utf-8"))
        except InvalidSignature:
            raise NoteError("invalid signature") from None
        verified = True
    if not verified:
        raise NoteError("no signature by the known key")
    return text


def parse_checkpoint(text: str) -> tuple[str, int, bytes]:
    # tlog-checkpoint: origin, decimal tree size, base64 root hash, then optional extension lines.
    lines = text.split("\n")
    assert lines[-1] == "" and len(lines) >= 4
    origin, size, root = lines[0], lines[1], lines[2]
    assert origin and size.isdigit() and (size == "0" or not size.startswith("0"))
    return origin, int(size), base64.b64decode(root, validate=True)


async def log_key_bytes(client) -> bytes:
    jwk = (await client.get("/api/v1/log/key")).json()
    return base64.urlsafe_b64decode(jwk["x"] + "=" * (-len(jwk["x"]) % 4))


async def test_note_verifies_and_names_the_same_checkpoint_as_the_json(client, db) -> None:
    await fill(db, 7)
    r = await client.get("/api/v1/log/checkpoint.note")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    text = open_note(r.content, ORIGIN, await log_key_bytes(client))
    origin, size, root = parse_checkpoint(text)
    cp = (await client.get("/api/v1/log/checkpoint")).json()
    assert (origin, size, root) == (ORIGIN, 7, base64.b64decode(cp["root_hash"]))
    assert cp["tree_size"] == 7 and set(cp) == {"tree_size", "root_hash", "timestamp", "signature", "key_id"}

    # The same note by content negotiation; JSON stays the default.
    negotiated = await client.get("/api/v1/log/checkpoint", headers={"Accept": "text/plain"})
    assert negotiated.status_code == 200 and negotiated.content == r.content
    assert "Accept" in negotiated.headers["vary"]
    as_json = await client.get("/api/v1/log/checkpoint", headers={"Accept": "application/json"})
    assert as_json.json() == cp
    anything = await client.get("/api/v1/log/checkpoint", headers={"Accept": "*/*"})
    assert anything.json() == cp

    # Stable while the log does not grow (deterministic Ed25519), revalidated by ETag.
    again = await client.get("/api/v1/log/checkpoint.note", headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304

    await fill(db, 2, start=7)
    grown = await client.get("/api/v1/log/checkpoint.note")
    assert parse_checkpoint(open_note(grown.content, ORIGIN, await log_key_bytes(client)))[1] == 9


async def test_the_verifier_rejects_an_altered_note_or_another_key(client, db) -> None:
    await fill(db, 3)
    note = (await client.get("/api/v1/log/checkpoint.note")).content
    key = await log_key_bytes(client)
    open_note(note, ORIGIN, key)
    with pytest.raises(NoteError, match="invalid signature"):
        open_note(note.replace(b"\n3\n", b"\n4\n", 1), ORIGIN, key)
    with pytest.raises(NoteError, match="no signature by the known key"):
        open_note(note, "other.example/log", key)
    with pytest.raises(NoteError, match="no signature by the known key"):
        open_note(note, ORIGIN, hashlib.sha256(b"another key").digest())


async def test_empty_log_has_a_note_too(client) -> None:
    r = await client.get("/api/v1/log/checkpoint.note")
    assert r.status_code == 200
    origin, size, root = parse_checkpoint(open_note(r.content, ORIGIN, await log_key_bytes(client)))
    assert (origin, size, root) == (ORIGIN, 0, hashlib.sha256(b"").digest())


def test_origin_is_the_deployment_host_and_path() -> None:
    from apkd.translog.checkpoints import log_origin

    assert log_origin("https://apkd.example.go.id") == "apkd.example.go.id/log"
    assert log_origin("https://bpkad.example.go.id/apkd/") == "bpkad.example.go.id/apkd/log"
    assert log_origin("http://127.0.0.1:8000") == "127.0.0.1:8000/log"


async def test_verifier_key_string_names_the_log_key(client, db) -> None:
    from apkd.translog.checkpoints import note_verifier_key

    key = await log_key_bytes(client)
    name, key_hash, typed_key = note_verifier_key(ORIGIN, key).split("+", 2)
    assert name == ORIGIN and bytes.fromhex(key_hash) == c2sp_key_hash(ORIGIN, key)
    assert base64.b64decode(typed_key, validate=True) == b"\x01" + key
