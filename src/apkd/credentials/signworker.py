"""The two signatures of each credential of a batch, in a process of their own.

Issuing a large batch (a published session: thousands of credentials) spends about a third
of its time in Ed25519 and most of the rest in Python around it (payloads, rows, the log,
the database). Ed25519 in ``cryptography`` releases the interpreter lock, but a thread cannot
use that: while the issuer runs Python, a signing thread waits for the lock after every
signature. So a batch of that size is to be signed by a child process (``python -m
apkd.credentials.signworker``, which imports nothing but the standard library and
``cryptography``) while the issuer prepares the next block and stores the last one.
issuing.py spawns the child for batches of at least ``APKD_SIGNING_CHILD_MIN`` credentials
(decision 054).

What one credential asks for (a :data:`Job`): the vc+jwt payload, and the QR token's claims
up to its last member, since that member is the digest of the vc+jwt being signed
(:mod:`apkd.credentials.qrtoken`: ``"d"`` = base64url of the first 16 bytes of its SHA-256).
What comes back (a :data:`Signed`): the vc+jwt, its SHA-256 (hex) and the QR text, exactly
the bytes ``jws.sign_compact`` and ``QRTextBuilder.build`` make; tests/credentials/
test_signworker.py checks it. :func:`sign_block` is the one definition: the child calls it,
and so does the issuer itself for small batches or when the child is gone.

The wire protocol on the child's stdin/stdout: frames of a 4-byte big-endian length and a
``marshal`` payload (bytes, str, bool, tuples and lists only). The first frame carries the raw
private key and the two protected headers; each later frame a block of jobs, answered by one
frame of results in order. The key travels only over that pipe, between two processes of
the same installation, and is never written anywhere.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import marshal
import os
import struct
import sys
from collections import deque
from typing import BinaryIO

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

__all__ = ["Job", "Signed", "SigningChild", "sign_block"]

# (vc+jwt payload, QR text prefix "https://.../v/NUMBER?t=", QR claims without the closing
# brace, whether the claims end with the vc digest member "d")
Job = tuple[bytes, str, bytes, bool]
Signed = tuple[str, str, str]  # (vc+jwt, its SHA-256 hex, QR text)

_LENGTH = struct.Struct(">I")
_MAX_FRAME = 256 * 1024 * 1024


def _b64e(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def sign_block(key: Ed25519PrivateKey, vc_header: bytes, qr_header: bytes, jobs: list[Job]) -> list[Signed]:
    """Sign each job's vc+jwt, then its QR token (whose claims end with the vc+jwt's digest).

    ``vc_header`` and ``qr_header`` are the base64url protected headers (jws.protected_header).
    """
    out: list[Signed] = []
    sign = key.sign
    for payload, qr_prefix, qr_open, digest in jobs:
        vc_input = vc_header + b"." + _b64e(payload)
        vc_jwt = vc_input + b"." + _b64e(sign(vc_input))
        vc_hash = hashlib.sha256(vc_jwt).digest()
        claims = qr_open + (b',"d":"' + _b64e(vc_hash[:16]) + b'"}' if digest else b"}")
        qr_input = qr_header + b"." + _b64e(claims)
        qr_token = qr_input + b"." + _b64e(sign(qr_input))
        out.append((vc_jwt.decode("ascii"), vc_hash.hex(), qr_prefix + qr_token.decode("ascii")))
    return out


def _frame(value: object) -> bytes:
    data = marshal.dumps(value)  # type: ignore[arg-type]  # tuples, lists, bytes, str, bool only
    return _LENGTH.pack(len(data)) + data


def _read_exact(stream: BinaryIO, size: int) -> bytes | None:
    data = stream.read(size)
    return data if data is not None and len(data) == size else None


def _read_frame(stream: BinaryIO) -> object | None:
    head = _read_exact(stream, _LENGTH.size)
    if head is None:
        return None
    (size,) = _LENGTH.unpack(head)
    if size > _MAX_FRAME:
        raise ValueError("frame too large")
    body = _read_exact(stream, size)
    return None if body is None else marshal.loads(body)  # noqa: S302 (our own parent process)


def _child_main() -> int:
    """The child: read the key frame, then answer block frames until stdin closes."""
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    first = _read_frame(stdin)
    if not isinstance(first, tuple) or len(first) != 3:
        return 2
    raw, vc_header, qr_header = first
    key = Ed25519PrivateKey.from_private_bytes(raw)
    del raw, first
    while True:
        jobs = _read_frame(stdin)
        if jobs is None:
            return 0
        stdout.write(_frame(sign_block(key, vc_header, qr_header, jobs)))  # type: ignore[arg-type]
        stdout.flush()


class SigningChild:
    """The issuer's end. :meth:`spawn` starts the child (it may run before the key is known,
    so that its start overlaps the issuer's loading); :meth:`use_key` gives it the key and the
    headers; then blocks go to it with :meth:`submit` (at most ``depth`` waiting) and come
    back in order from :meth:`result`. Without a child (never spawned, or it could not be
    started, or it stopped answering), the blocks not yet answered, and every later one, are
    signed here instead (:func:`sign_block`): a batch never fails because of the child, and
    ``failed`` says why it was not used."""

    def __init__(self, *, depth: int = 2) -> None:
        self.depth = depth
        self._key: tuple[Ed25519PrivateKey, bytes, bytes] | None = None
        self._proc: asyncio.subprocess.Process | None = None
        self._dead: asyncio.subprocess.Process | None = None  # given up on; reaped by close()
        self._waiting: deque[list[Job]] = deque()
        self.failed: str | None = None

    @property
    def running(self) -> bool:
        return self._proc is not None

    async def spawn(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("APKD_")}  # no secrets
        try:
            self._proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "apkd.credentials.signworker",
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                env=env,
                limit=_MAX_FRAME,  # the reader never pauses, so a full pipe cannot stall the child
            )
        except OSError as exc:
            self._give_up(f"{type(exc).__name__}: {exc}")

    def use_key(self, key: Ed25519PrivateKey, vc_header: bytes, qr_header: bytes) -> None:
        self._key = (key, vc_header, qr_header)
        if self._proc is not None:
            raw = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
            self._send((raw, vc_header, qr_header))

    @property
    def full(self) -> bool:
        """True when ``depth`` blocks are waiting: take one with :meth:`result` first."""
        return len(self._waiting) >= self.depth

    def submit(self, jobs: list[Job]) -> None:
        if self._key is None:
            raise RuntimeError("use_key() first")
        self._waiting.append(jobs)
        if self._proc is not None:
            self._send(jobs)

    async def result(self) -> list[Signed]:
        """The results of the oldest waiting block."""
        assert self._key is not None
        jobs = self._waiting[0]
        signed: list[Signed] | None = None
        if self._proc is not None and self._proc.stdout is not None:
            try:
                head = await self._proc.stdout.readexactly(_LENGTH.size)
                (size,) = _LENGTH.unpack(head)
                value = marshal.loads(await self._proc.stdout.readexactly(size))  # noqa: S302 (our own child)
                if isinstance(value, list) and len(value) == len(jobs):
                    signed = value
                else:
                    self._give_up("unexpected answer")
            except (asyncio.IncompleteReadError, OSError, ValueError, EOFError) as exc:
                self._give_up(f"{type(exc).__name__}: {exc}")
        self._waiting.popleft()
        if signed is None:
            signed = sign_block(*self._key, jobs)
        return signed

    def _send(self, value: object) -> None:
        assert self._proc is not None and self._proc.stdin is not None
        try:
            self._proc.stdin.write(_frame(value))
        except (OSError, RuntimeError) as exc:  # the child is gone (a closed pipe)
            self._give_up(f"{type(exc).__name__}: {exc}")

    def _give_up(self, why: str) -> None:
        self.failed = self.failed or why
        proc, self._proc = self._proc, None
        if proc is not None and proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
        if proc is not None:
            self._dead = proc

    async def close(self) -> None:
        """End the child (its stdin closes; it exits) and wait for it."""
        procs = [p for p in (self._proc, self._dead) if p is not None]
        self._proc = self._dead = None
        for proc in procs:
            try:
                if proc.stdin is not None and not proc.stdin.is_closing():
                    proc.stdin.close()
                await asyncio.wait_for(proc.wait(), timeout=5)
            except (TimeoutError, OSError):
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()


if __name__ == "__main__":
    sys.exit(_child_main())
