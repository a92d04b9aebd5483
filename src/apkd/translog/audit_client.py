"""An auditor's check of a remote apkd transparency log (``apkd log verify``).

Talks only HTTP (httpx) and the pure :mod:`apkd.translog.merkle`; it trusts nothing the
server says without proof, and recomputes nothing it can have proven instead:

1. the log key (``/api/v1/log/key``): an Ed25519 JWK whose kid is its RFC 7638 thumbprint,
   the same key as last time (pinned in the state file);
2. the checkpoint (``/api/v1/log/checkpoint``): signed by that key;
3. append-only: a consistency proof from the last checkpoint this auditor saw (kept in a
   local JSON state file) to the new one; a smaller tree or a failing proof means the log
   rewrote its history;
4. for each credential number asked: its leaves (``/api/v1/log/lookup``) are proven included
   in the signed tree by inclusion proofs over their exact bytes;
5. with witness keys (``--witness-key``, C2SP vkeys): the checkpoint note
   (``/api/v1/log/checkpoint.note``) is signed by the log key and cosigned by at least
   ``quorum`` of those witnesses (C2SP tlog-cosignature), and it names the same tree as the
   JSON checkpoint (or one the JSON checkpoint is proven to extend).

Every check is reported (in Indonesian); a check that could not run is a failure. The new
checkpoint is saved only when the key, the signature and the consistency all hold, so an
alarm is never overwritten by the next run.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from apkd.signing.keys import KeyFormatError, public_key_from_jwk, thumbprint
from apkd.translog import cosign, merkle

__all__ = [
    "AuditReport",
    "Check",
    "audit_log",
    "default_state_path",
]

TRANSPORT: httpx.AsyncBaseTransport | None = None
"""Transport used when none is passed (None = the network). Tests point it at the app."""


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    info: bool = False  # a finding that fails nothing by itself (a witness short of the quorum)

    def line(self) -> str:
        return f"[{'INFO' if self.info else 'OK' if self.ok else 'GAGAL'}] {self.detail}"


@dataclass
class AuditReport:
    checks: list[Check] = field(default_factory=list)
    checkpoint: dict[str, Any] | None = None
    state_saved: bool = False

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    def add(self, name: str, ok: bool, detail: str, *, info: bool = False) -> bool:
        self.checks.append(Check(name, ok or info, detail, info))
        return ok

    def lines(self) -> list[str]:
        out = [c.line() for c in self.checks]
        if self.ok:
            out.append("Hasil: log transparansi TERVERIFIKASI.")
        else:
            failed = sum(1 for c in self.checks if not c.ok) or 1
            out.append(f"Hasil: verifikasi GAGAL ({failed} pemeriksaan gagal).")
        return out


class _FetchError(Exception):
    pass


def default_state_path(url: str) -> Path:
    """``~/.apkd/log-state-<host>.json`` (one state per log host and port)."""
    parts = urlsplit(url)
    host = parts.netloc or parts.path or "log"
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", host)
    return Path.home() / ".apkd" / f"log-state-{safe}.json"


def _load_state(path: Path) -> dict[str, Any] | None:
    if not path.exists():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError("state file is not a JSON object")
    return data


def _save_state(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name, dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2, sort_keys=True)
        fh.write("\n")
    os.replace(tmp, path)


def _b64(text: Any, what: str) -> bytes:
    if not isinstance(text, str):
        raise _FetchError(f"{what} bukan teks base64")
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error):
        raise _FetchError(f"{what} bukan base64 standar yang sah") from None


def _int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _FetchError(f"{what} bukan bilangan bulat tidak negatif")
    return value


async def _get(http: httpx.AsyncClient, url: str, params: dict[str, Any] | None = None) -> Any:
    try:
        r = await http.get(url, params=params)
    except httpx.HTTPError as exc:
        raise _FetchError(f"tidak dapat menghubungi {url}: {type(exc).__name__}") from None
    if r.status_code != 200:
        detail = ""
        try:
            body = r.json()
            detail = f" ({body.get('code')}: {body.get('detail')})" if isinstance(body, dict) else ""
        except ValueError:
            pass
        raise _FetchError(f"{url} menjawab HTTP {r.status_code}{detail}")
    try:
        return r.json()
    except ValueError:
        raise _FetchError(f"{url} tidak menjawab dengan JSON") from None


async def audit_log(
    url: str,
    *,
    state_path: Path | None = None,
    numbers: Sequence[str] = (),
    transport: httpx.AsyncBaseTransport | None = None,
    client: httpx.AsyncClient | None = None,
    http_timeout: float = 20.0,
    witnesses: Sequence[cosign.WitnessKey] = (),
    quorum: int | None = None,
) -> AuditReport:
    """Audit the log at ``url`` (the apkd base URL); see the module docstring.

    ``client`` (used as is, not closed) or ``transport`` (e.g. an ASGI transport over the app)
    let tests run in-process; by default a network client is made.
    """
    base = url.rstrip("/")
    state_path = state_path or default_state_path(base)
    witness = _Witnesses(tuple(witnesses), len(witnesses) if quorum is None else quorum)
    if client is not None:
        return await _audit(client, base, state_path, numbers, witness)
    async with httpx.AsyncClient(transport=transport or TRANSPORT, timeout=http_timeout) as http:
        return await _audit(http, base, state_path, numbers, witness)


@dataclass(frozen=True)
class _Witnesses:
    keys: tuple[cosign.WitnessKey, ...]
    quorum: int


async def _audit(
    http: httpx.AsyncClient, base: str, state_path: Path, numbers: Sequence[str], witnesses: _Witnesses
) -> AuditReport:
    report = AuditReport()
    api = f"{base}/api/v1/log"

    # 0. the auditor's memory
    try:
        state = _load_state(state_path)
    except (OSError, ValueError) as exc:
        report.add("state", False, f"Berkas status {state_path} tidak dapat dibaca: {exc}")
        return report

    # 1. the log key
    try:
        jwk = await _get(http, f"{api}/key")
        if not isinstance(jwk, dict):
            raise _FetchError("kunci log bukan JWK")
        public = public_key_from_jwk(jwk)
        kid = thumbprint(jwk)
        if jwk.get("kid", kid) != kid:
            raise _FetchError(f"kid {jwk.get('kid')!r} bukan thumbprint RFC 7638 kunci ini")
    except (_FetchError, KeyFormatError) as exc:
        report.add("log_key", False, f"Kunci publik log tidak dapat dipakai: {exc}")
        return report
    report.add("log_key", True, f"Kunci publik log Ed25519 diambil (kid {kid}).")
    key_ok = True
    if state is not None and state.get("key_id") not in (None, kid):
        key_ok = report.add(
            "log_key_pinned",
            False,
            f"Kunci log BERUBAH: sebelumnya {state.get('key_id')}, sekarang {kid}. "
            "Pastikan pergantian kunci ini diumumkan resmi sebelum mempercayainya.",
        )

    # 2. the signed checkpoint
    try:
        cp = await _get(http, f"{api}/checkpoint")
        if not isinstance(cp, dict):
            raise _FetchError("checkpoint bukan objek JSON")
        size = _int(cp.get("tree_size"), "tree_size")
        timestamp = _int(cp.get("timestamp"), "timestamp")
        root_b64 = cp.get("root_hash")
        root = _b64(root_b64, "root_hash")
        signature = _b64(cp.get("signature"), "signature")
        message = merkle.checkpoint_message(size, str(root_b64), timestamp)
    except (_FetchError, merkle.MerkleError) as exc:
        report.add("checkpoint", False, f"Checkpoint tidak dapat dibaca: {exc}")
        return report
    report.checkpoint = cp
    if cp.get("key_id") != kid:
        report.add(
            "checkpoint_signature",
            False,
            f"Checkpoint ditandatangani kunci {cp.get('key_id')!r}, bukan kunci log {kid}.",
        )
        return report
    try:
        public.verify(signature, message)
    except Exception:  # cryptography raises InvalidSignature (or ValueError on bad length)
        report.add("checkpoint_signature", False, f"Tanda tangan checkpoint (ukuran {size}) TIDAK SAH.")
        return report
    when = datetime.fromtimestamp(timestamp / 1000, UTC).isoformat(timespec="seconds")
    report.add(
        "checkpoint_signature",
        True,
        f"Tanda tangan checkpoint sah: ukuran pohon {size}, akar {root_b64}, waktu {when}.",
    )

    # 3. append-only since the last checkpoint this auditor saw
    consistent = await _check_consistency(http, api, report, state, size, root)

    # 4. inclusion of the asked credentials' entries
    for number in numbers:
        await _check_number(http, api, report, number, size, root)

    # 5. the witnesses' cosignatures
    witnessed = True
    if witnesses.keys:
        witnessed = await _check_witnesses(http, api, report, witnesses, public, size, root)

    if key_ok and consistent and witnessed:
        _save_state(
            state_path,
            {
                "url": base,
                "tree_size": size,
                "root_hash": root_b64,
                "timestamp": timestamp,
                "key_id": kid,
                "key": {k: jwk[k] for k in ("kty", "crv", "x") if k in jwk},
                "checked_at": datetime.now(UTC).isoformat(timespec="seconds"),
            },
        )
        report.state_saved = True
    return report


async def _check_consistency(
    http: httpx.AsyncClient,
    api: str,
    report: AuditReport,
    state: dict[str, Any] | None,
    size: int,
    root: bytes,
) -> bool:
    if state is None:
        return report.add(
            "consistency",
            True,
            "Belum ada checkpoint tersimpan untuk log ini: checkpoint ini menjadi acuan pemeriksaan berikutnya.",
        )
    try:
        old_size = _int(state.get("tree_size"), "tree_size tersimpan")
        old_root = _b64(state.get("root_hash"), "root_hash tersimpan")
    except _FetchError as exc:
        return report.add("consistency", False, f"Berkas status rusak: {exc}")
    if size < old_size:
        return report.add(
            "consistency",
            False,
            f"Log MENYUSUT: dulu {old_size} entri, sekarang {size}. Riwayat log telah ditulis ulang.",
        )
    try:
        if old_size == 0:  # every tree extends the empty one; the server answers 400 to first=0
            path: list[bytes] = []
        else:
            body = await _get(http, f"{api}/proof/consistency", {"first": old_size, "second": size})
            path = [_b64(p, "bukti konsistensi") for p in body.get("path", [])]
    except (_FetchError, AttributeError, TypeError) as exc:
        return report.add("consistency", False, f"Bukti konsistensi tidak dapat diambil: {exc}")
    if merkle.verify_consistency(old_size, size, old_root, root, path):
        return report.add(
            "consistency",
            True,
            f"Konsistensi terbukti: log ukuran {old_size} adalah awal dari log ukuran {size} (hanya ditambah).",
        )
    return report.add(
        "consistency",
        False,
        f"Bukti konsistensi {old_size} -> {size} GAGAL: riwayat log tidak sama dengan yang "
        "tercatat sebelumnya (ditulis ulang?).",
    )


async def _check_number(
    http: httpx.AsyncClient, api: str, report: AuditReport, number: str, size: int, root: bytes
) -> None:
    try:
        body = await _get(http, f"{api}/lookup", {"number": number})
        found = body.get("entries") if isinstance(body, dict) else None
        if not isinstance(found, list):
            raise _FetchError("jawaban lookup tidak berisi daftar entri")
    except _FetchError as exc:
        report.add(f"inclusion:{number}", False, f"Entri nomor {number} tidak dapat dicari: {exc}")
        return
    if not found:
        report.add(f"inclusion:{number}", False, f"Nomor {number} tidak ditemukan di log.")
        return
    for item in found:
        name = f"inclusion:{number}"
        try:
            index = _int(item.get("index"), "index")
            leaf = _b64(item.get("entry"), "entry")
            event = json.loads(leaf.decode("utf-8"))
        except (_FetchError, AttributeError, UnicodeDecodeError, ValueError) as exc:
            report.add(name, False, f"Entri nomor {number} rusak: {exc}")
            continue
        kind = event.get("type") if isinstance(event, dict) else None
        if not isinstance(event, dict) or event.get("number") != number or item.get("event") != event:
            report.add(name, False, f"Entri #{index} bukan tentang nomor {number} atau isinya tidak cocok.")
            continue
        if index >= size:
            report.add(
                name,
                False,
                f"Entri #{index} ({kind}) lebih baru dari checkpoint (ukuran {size}); jalankan ulang pemeriksaan.",
            )
            continue
        try:
            proof = await _get(http, f"{api}/proof/inclusion", {"index": index, "tree_size": size})
            path = [_b64(p, "bukti inklusi") for p in proof.get("path", [])]
        except (_FetchError, AttributeError, TypeError) as exc:
            report.add(name, False, f"Bukti inklusi entri #{index} tidak dapat diambil: {exc}")
            continue
        if merkle.verify_inclusion(index, size, merkle.leaf_hash(leaf), path, root):
            report.add(name, True, f"Entri #{index} ({kind}) nomor {number} terbukti tercatat di log.")
        else:
            report.add(
                name,
                False,
                f"Bukti inklusi entri #{index} ({kind}) nomor {number} GAGAL: isi entri tidak sesuai "
                "dengan akar yang ditandatangani (diubah?).",
            )


async def _get_text(http: httpx.AsyncClient, url: str) -> str:
    try:
        r = await http.get(url, headers={"Accept": "text/plain"})
    except httpx.HTTPError as exc:
        raise _FetchError(f"tidak dapat menghubungi {url}: {type(exc).__name__}") from None
    if r.status_code != 200:
        raise _FetchError(f"{url} menjawab HTTP {r.status_code}")
    return r.text


def _note_checkpoint(body: str) -> tuple[str, int, bytes]:
    lines = body.split("\n")[:-1]
    if len(lines) < 3 or not lines[1].isdigit():
        raise _FetchError("isi catatan checkpoint bukan origin, ukuran dan akar")
    return lines[0], int(lines[1]), _b64(lines[2], "akar pada catatan checkpoint")


async def _check_witnesses(
    http: httpx.AsyncClient,
    api: str,
    report: AuditReport,
    witnesses: _Witnesses,
    log_key: Any,
    size: int,
    root: bytes,
) -> bool:
    """The note is the log's (signed with its key under the origin's name), names the audited
    tree (or one it extends), and carries valid cosignatures of at least ``quorum`` witnesses."""
    try:
        note = await _get_text(http, f"{api}/checkpoint.note")
        body, lines = cosign.parse_note(note)
        origin, note_size, note_root = _note_checkpoint(body)
    except (_FetchError, cosign.CosignError) as exc:
        return report.add("witness_note", False, f"Catatan checkpoint untuk saksi tidak dapat dibaca: {exc}")
    public_raw = log_key.public_bytes_raw()
    log_hash = hashlib.sha256(origin.encode() + b"\n\x01" + public_raw).digest()[:4]
    signed = False
    for line in lines:
        try:
            name, blob = cosign.parse_signature_line(line)
        except cosign.CosignError:
            continue
        if name == origin and blob[:4] == log_hash:
            try:
                log_key.verify(blob[4:], body.encode("utf-8"))
                signed = True
            except Exception:  # InvalidSignature
                return report.add(
                    "witness_note", False, "Tanda tangan log pada catatan checkpoint TIDAK SAH."
                )
    if not signed:
        return report.add(
            "witness_note", False, f"Catatan checkpoint tidak ditandatangani kunci log ({origin})."
        )
    if note_size > size or (note_size == size and note_root != root):
        return report.add(
            "witness_note",
            False,
            f"Catatan checkpoint (ukuran {note_size}) tidak sama dengan checkpoint JSON (ukuran {size}): "
            "log menunjukkan dua riwayat berbeda?",
        )
    if note_size < size:
        try:
            body_json = await _get(http, f"{api}/proof/consistency", {"first": note_size, "second": size})
            path = [_b64(p, "bukti konsistensi") for p in body_json.get("path", [])]
        except (_FetchError, AttributeError, TypeError) as exc:
            return report.add(
                "witness_note", False, f"Bukti konsistensi catatan saksi tidak dapat diambil: {exc}"
            )
        if note_size and not merkle.verify_consistency(note_size, size, note_root, root, path):
            return report.add(
                "witness_note",
                False,
                f"Checkpoint yang disaksikan (ukuran {note_size}) bukan awal log ukuran {size}.",
            )
    report.add("witness_note", True, f"Catatan checkpoint ukuran {note_size} ditandatangani kunci log.")
    now = datetime.now(UTC).timestamp()
    good = 0
    for key in witnesses.keys:
        found: cosign.Cosignature | None = None
        forged = ""
        for line in lines:
            try:
                got = cosign.verify_cosignature(key, body, line)
            except cosign.CosignError as exc:
                forged = str(exc)
                continue
            if got is not None:
                found = got
        if forged:  # a line in this witness's name and key ID that does not verify: an alarm
            report.add(f"witness:{key.name}", False, f"Saksi {key.name}: {forged}.")
            continue
        if found is None:
            report.add(
                f"witness:{key.name}",
                False,
                f"Saksi {key.name} belum menyaksikan checkpoint ukuran {note_size}.",
                info=True,
            )
            continue
        if found.timestamp > now + 600:
            report.add(f"witness:{key.name}", False, f"Saksi {key.name}: waktu cosignature di masa depan.")
            continue
        when = datetime.fromtimestamp(found.timestamp, UTC).isoformat(timespec="seconds")
        report.add(
            f"witness:{key.name}",
            True,
            f"Saksi {key.name} menyaksikan checkpoint ukuran {note_size} ({when}).",
        )
        good += 1
    return report.add(
        "witness_quorum",
        good >= witnesses.quorum,
        f"Cosignature sah dari {good} dari {len(witnesses.keys)} saksi (minimal {witnesses.quorum}).",
    )
