"""The signing process of large batches gives exactly the bytes the issuer's own signing gives."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from apkd.credentials import qrtoken
from apkd.credentials.signworker import SigningChild, sign_block
from apkd.credentials.templates import QRTextBuilder
from apkd.signing.jws import protected_header, sign_compact, verify_compact
from apkd.signing.keystore import Signer

BASE = "https://apkd.alorkab.go.id"
KID = "k-test"


def _jobs(builder: QRTextBuilder, n: int) -> tuple[list, list]:
    jobs, kwargs = [], []
    for i in range(n):
        kw = {
            "number": f"APKD-BPG-5305-2026-{i + 1:06d}-X",
            "holder_name": f"Maria Goreti Lamawuran {i}",
            "instansi": "Badan Keuangan dan Aset Daerah Kabupaten Alor" if i % 3 else None,
            "valid_from": datetime(2026, 12, 4, tzinfo=UTC),
            "valid_until": datetime(2029, 12, 4, tzinfo=UTC),
            "revocation": (1, 1000 + i),
            "suspension": (2, 2000 + i),
        }
        prefix, claims_open, digest = builder.parts(**kw)
        payload = f'{{"sub":"urn:uuid:{i}","name":"Maria"}}'.encode()
        jobs.append((payload, prefix, claims_open, digest))
        kwargs.append(kw)
    return jobs, kwargs


def test_sign_block_makes_the_bytes_of_sign_compact_and_the_qr_builder():
    key = Ed25519PrivateKey.generate()
    builder = QRTextBuilder(BASE, Signer(KID, key))
    jobs, kwargs = _jobs(builder, 20)
    signed = sign_block(key, protected_header(KID, "vc+jwt"), protected_header(KID, qrtoken.QR_TYP), jobs)
    for (payload, *_), kw, (vc_jwt, vc_sha256, qr_text) in zip(jobs, kwargs, signed, strict=True):
        assert vc_jwt == sign_compact(payload, key, KID, "vc+jwt")  # Ed25519 is deterministic
        assert qr_text == builder.build(**kw, vc_jwt=vc_jwt)
        assert verify_compact(vc_jwt, {KID: key.public_key()}, "vc+jwt").payload["name"] == "Maria"
        assert vc_sha256 == hashlib.sha256(vc_jwt.encode()).hexdigest()


def test_the_child_process_answers_blocks_in_order_and_a_dead_child_changes_nothing():
    key = Ed25519PrivateKey.generate()
    builder = QRTextBuilder(BASE, Signer(KID, key))
    headers = (protected_header(KID, "vc+jwt"), protected_header(KID, qrtoken.QR_TYP))
    blocks = [_jobs(builder, 30)[0] for _ in range(4)]
    expected = [sign_block(key, *headers, b) for b in blocks]

    async def run(kill_after: int | None) -> tuple[list, str | None]:
        child = SigningChild()
        await child.spawn()
        child.use_key(key, *headers)
        got = []
        try:
            for i, block in enumerate(blocks):
                if kill_after is not None and i == kill_after and child._proc is not None:
                    child._proc.kill()
                child.submit(block)
                if child.full:
                    got.append(await child.result())
            while len(got) < len(blocks):
                got.append(await child.result())
        finally:
            await child.close()
        return got, child.failed

    got, failed = asyncio.run(run(None))
    assert got == expected and failed is None
    got, failed = asyncio.run(run(1))  # killed mid-batch: the rest is signed in this process
    assert got == expected and failed is not None


def test_the_child_gets_no_apkd_setting_in_its_environment(monkeypatch):
    monkeypatch.setenv("APKD_SECRET_KEY", "rahasia-yang-tidak-boleh-bocor")
    async def run() -> tuple[bytes, bytes]:
        child = SigningChild()
        await child.spawn()
        try:
            assert child._proc is not None
            pid = child._proc.pid
            with open(f"/proc/{pid}/environ", "rb") as f:
                environ = f.read()
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read()
        finally:
            await child.close()
        return environ, cmdline

    environ, cmdline = asyncio.run(run())
    assert b"APKD_" not in environ and b"rahasia" not in environ
    assert cmdline.split(b"\0")[1:3] == [b"-m", b"apkd.credentials.signworker"]
