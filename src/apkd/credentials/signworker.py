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
import queue
import struct
import subprocess
import sys
import threading
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
    """``size`` bytes, or None at the end of the stream (an unbuffered pipe reads short)."""
    data = stream.read(size)
    if not data:
        return None if size else b""
    if len(data) == size:
        return data
    buf = bytearray(data)
    while len(buf) < size:
        more = stream.read(size - len(buf))
        if not more:
            return None
        buf += more
    return bytes(buf)


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
    ``failed`` says why it was not used.

    The pipes are served by two threads of this process (one writes the frames, one reads the
    answers), not by the event loop: the issuer prepares a block in one stretch of Python, and
    an event-loop transport would only move the next 64 KiB while it waits, so the child would
    sit idle most of the time (measured: no overlap at all). A blocking ``write``/``read``
    releases the interpreter lock, so the threads cost the issuer almost nothing."""

    def __init__(self, *, depth: int = 2) -> None:
        self.depth = depth
        self._key: tuple[Ed25519PrivateKey, bytes, bytes] | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._dead: list[subprocess.Popen[bytes]] = []  # given up on; reaped by close()
        self._outbox: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._answers: asyncio.Queue[bytes | None] | None = None
        self._threads: list[threading.Thread] = []
        self._waiting: deque[list[Job]] = deque()
        self.failed: str | None = None

    @property
    def running(self) -> bool:
        return self._proc is not None

    async def spawn(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("APKD_")}  # no secrets
        try:
            proc = await asyncio.to_thread(
                subprocess.Popen,
                [sys.executable, "-m", "apkd.credentials.signworker"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                env=env,
                bufsize=0,
            )
        except OSError as exc:
            self._give_up(f"{type(exc).__name__}: {exc}")
            return
        self._proc = proc
        self._answers = asyncio.Queue()
        loop = asyncio.get_running_loop()
        assert proc.stdin is not None and proc.stdout is not None
        self._threads = [
            threading.Thread(target=_writer, args=(proc.stdin, self._outbox), daemon=True, name="signworker-w"),
            threading.Thread(
                target=_reader, args=(proc.stdout, loop, self._answers), daemon=True, name="signworker-r"
            ),
        ]
        for t in self._threads:
            t.start()

    def use_key(self, key: Ed25519PrivateKey, vc_header: bytes, qr_header: bytes) -> None:
        self._key = (key, vc_header, qr_header)
        if self._proc is not None:
            raw = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
            self._outbox.put(_frame((raw, vc_header, qr_header)))

    @property
    def full(self) -> bool:
        """True when ``depth`` blocks are waiting: take one with :meth:`result` first."""
        return len(self._waiting) >= self.depth

    def submit(self, jobs: list[Job]) -> None:
        if self._key is None:
            raise RuntimeError("use_key() first")
        self._waiting.append(jobs)
        if self._proc is not None:
            self._outbox.put(_frame(jobs))

    async def result(self) -> list[Signed]:
        """The results of the oldest waiting block."""
        assert self._key is not None
        jobs = self._waiting[0]
        signed: list[Signed] | None = None
        if self._proc is not None and self._answers is not None:
            body = await self._answers.get()
            if body is None:
                self._give_up("the child stopped answering")
            else:
                try:
                    value = marshal.loads(body)  # noqa: S302 (our own child)
                except (ValueError, EOFError, TypeError) as exc:
                    value = None
                    self._give_up(f"{type(exc).__name__}: {exc}")
                if isinstance(value, list) and len(value) == len(jobs):
                    signed = value
                elif self._proc is not None:
                    self._give_up("unexpected answer")
        self._waiting.popleft()
        if signed is None:
            signed = sign_block(*self._key, jobs)
        return signed

    def _give_up(self, why: str) -> None:
        self.failed = self.failed or why
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
            self._dead.append(proc)
            self._outbox.put(None)

    async def close(self) -> None:
        """End the child (its stdin closes; it exits) and wait for it and the pipe threads."""
        if self._proc is not None:
            self._outbox.put(None)  # the writer closes stdin after what is queued
            self._dead.append(self._proc)
            self._proc = None
        procs, self._dead = self._dead, []
        threads, self._threads = self._threads, []
        if procs or threads:
            await asyncio.to_thread(_reap, procs, threads)


def _writer(stdin: BinaryIO, outbox: queue.SimpleQueue[bytes | None]) -> None:
    """Thread: write queued frames to the child until None; then close its stdin."""
    try:
        while (frame := outbox.get()) is not None:
            stdin.write(frame)  # unbuffered: one blocking write, the lock released meanwhile
    except OSError:
        pass  # the child is gone: the reader sees EOF and the issuer signs inline
    finally:
        with contextlib.suppress(OSError):
            stdin.close()


def _reader(stdout: BinaryIO, loop: asyncio.AbstractEventLoop, answers: asyncio.Queue[bytes | None]) -> None:
    """Thread: hand each answer frame (undecoded) to the event loop; None at the end."""
    body: bytes | None = b""
    try:
        while body is not None:
            head = _read_exact(stdout, _LENGTH.size)
            (size,) = _LENGTH.unpack(head) if head is not None else (0,)
            body = _read_exact(stdout, size) if head is not None and size <= _MAX_FRAME else None
            loop.call_soon_threadsafe(answers.put_nowait, body)
    except (OSError, RuntimeError):  # a closed pipe, or the loop is gone
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(answers.put_nowait, None)


def _reap(procs: list[subprocess.Popen[bytes]], threads: list[threading.Thread]) -> None:
    for proc in procs:
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
    for t in threads:
        t.join(timeout=5)


if __name__ == "__main__":
    sys.exit(_child_main())
