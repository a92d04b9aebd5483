"""The pure verification policy: every attack on a token gives valid=False with the failing
check named, and a check that cannot run never counts as passed."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from apkd.credentials import qrtoken
from apkd.credentials.number import format_number
from apkd.credentials.statuslist import StatusEntryRef
from apkd.credentials.vc import HolderInfo, SchemeInfo, add_months, build_credential, jwt_claims
from apkd.registry import offline, policy
from apkd.registry.policy import Context, KeyInfo, LogEvidence, RecordInfo, StatusEvidence
from apkd.signing import keys as keylib
from apkd.signing.jws import sign_compact

BASE = "https://apkd.test"
ISSUER = BASE + "/issuer"
NOW = datetime(2027, 3, 12, 5, 0, tzinfo=UTC)
ISSUED = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)
UNTIL = add_months(ISSUED, 36)
NIP = "198503122010032003"
NUMBER = format_number("BPG", "5305", 2026, 123)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.fixture(scope="module")
def key():
    return keylib.generate_key()


@pytest.fixture(scope="module")
def kid(key) -> str:
    return keylib.thumbprint(keylib.public_jwk(key))


@pytest.fixture(scope="module")
def keys(key, kid) -> dict[str, KeyInfo]:
    return {kid: KeyInfo(kid=kid, key=key.public_key())}


@pytest.fixture(scope="module")
def vc_jwt(key, kid) -> str:
    doc = build_credential(
        credential_id=uuid.UUID(int=7),
        base_url=BASE,
        issuer_id=ISSUER,
        issuer_name="LSP APKD",
        scheme=SchemeInfo("BPG", "2026.1", "Bendahara Pengeluaran", "Bendahara Pengeluaran SKPD", 70),
        holder=HolderInfo("Siti Aminah", "Bendahara Pengeluaran", "BPKAD Kabupaten Alor"),
        subject_id=uuid.UUID(int=8),
        score=86.5,
        valid_from=ISSUED,
        validity_months=36,
        revocation=StatusEntryRef(BASE + "/api/v1/status-lists/1", 17),
    )
    return sign_compact(jwt_claims(doc, ISSUER), key, kid, "vc+jwt")


@pytest.fixture(scope="module")
def qr_text(key, kid, vc_jwt) -> str:
    claims = qrtoken.build_qr_claims(
        number=NUMBER,
        holder_name="Siti Aminah",
        instansi="BPKAD Kabupaten Alor",
        valid_from=ISSUED,
        valid_until=UNTIL,
        revocation=qrtoken.QRStatusRef(1, 17),
        suspension=qrtoken.QRStatusRef(2, 99),
        vc_jwt=vc_jwt,
    )
    return qrtoken.make_qr_text(BASE, NUMBER, claims, key, kid)


def record(vc_jwt: str, **over) -> RecordInfo:
    fields = dict(
        number=NUMBER,
        holder_name="Siti Aminah",
        valid_from=ISSUED,
        valid_until=UNTIL,
        vc_sha256=hashlib.sha256(vc_jwt.encode()).hexdigest(),
        uuid=str(uuid.UUID(int=7)),
        nip_masked="1985***********003",
    )
    fields.update(over)
    return RecordInfo(**fields)


def full_ctx(text: str, keys, vc_jwt: str, **over) -> Context:
    ctx = Context(
        presented=policy.parse_input(text),
        issuer_id=ISSUER,
        now=NOW,
        keys=keys,
        status=StatusEvidence(revoked=False, suspended=False, source="uji"),
        record=record(vc_jwt),
        log=LogEvidence((0,)),
    )
    for k, v in over.items():
        setattr(ctx, k, v)
    return ctx


def failing(verdict) -> dict[str, str]:
    return {c.name: c.detail for c in verdict.checks if not c.ok}


def test_qr_text_and_vc_both_verify_with_every_check(qr_text, vc_jwt, keys) -> None:
    # the QR text itself, its bare token, and the full vc+jwt
    for text in (qr_text, qr_text.split("?t=")[1], vc_jwt):
        ctx = full_ctx(text, keys, vc_jwt)
        verdict = policy.evaluate(ctx)
        assert verdict.valid, failing(verdict)
        assert verdict.status == "valid"
        assert [c.name for c in verdict.checks] == [
            "format",
            "signature",
            "key_not_compromised",
            "issuer",
            "validity_period",
            "revocation",
            "suspension",
            "registry_record",
            "in_log",
        ]


def _tamper_payload(token: str, change) -> str:
    h, p, s = token.split(".")
    payload = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
    change(payload)
    return ".".join([h, b64(json.dumps(payload, separators=(",", ":")).encode()), s])


def _header(token: str) -> dict:
    h = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(h + "=" * (-len(h) % 4)))


def test_altered_vc_fails_the_signature(vc_jwt, keys) -> None:
    def rename(p):
        p["credentialSubject"]["identifier"][0]["identityHash"] = "Orang Lain"

    verdict = policy.evaluate(full_ctx(_tamper_payload(vc_jwt, rename), keys, vc_jwt))
    assert not verdict.valid and verdict.status == "invalid"
    assert "dipalsukan atau isinya diubah" in failing(verdict)["signature"]


def test_altered_qr_token_fails_the_signature(qr_text, vc_jwt, keys) -> None:
    prefix, token = qr_text.split("?t=")

    def extend(p):
        p["u"] += 10 * 365 * 86400

    verdict = policy.evaluate(full_ctx(prefix + "?t=" + _tamper_payload(token, extend), keys, vc_jwt))
    assert not verdict.valid
    assert "signature" in failing(verdict)


def test_forged_with_another_key_under_our_kid(vc_jwt, keys, kid) -> None:
    attacker = keylib.generate_key()
    h, p, _ = vc_jwt.split(".")
    forged = sign_compact(json.loads(base64.urlsafe_b64decode(p + "==")), attacker, kid, "vc+jwt")
    verdict = policy.evaluate(full_ctx(forged, keys, vc_jwt))
    assert not verdict.valid and verdict.status == "invalid"
    assert "signature" in failing(verdict)


def test_key_named_in_the_token_is_never_used(vc_jwt, keys) -> None:
    attacker = keylib.generate_key()
    jwk = keylib.public_jwk(attacker)
    own_kid = keylib.thumbprint(jwk)
    header = {"alg": "EdDSA", "kid": own_kid, "typ": "vc+jwt", "jwk": jwk}
    p = vc_jwt.split(".")[1]
    signing_input = b64(json.dumps(header).encode()) + "." + p
    forged = signing_input + "." + b64(attacker.sign(signing_input.encode()))
    verdict = policy.evaluate(full_ctx(forged, keys, vc_jwt))
    assert not verdict.valid
    assert "tidak dikenal penerbit" in failing(verdict)["signature"]


def test_alg_none_is_refused(vc_jwt, keys, kid) -> None:
    header = b64(json.dumps({"alg": "none", "kid": kid, "typ": "vc+jwt"}).encode())
    token = header + "." + vc_jwt.split(".")[1] + "."
    verdict = policy.evaluate(full_ctx(token, keys, vc_jwt))
    assert not verdict.valid and verdict.status == "invalid"
    assert "EdDSA" in failing(verdict)["signature"]


def test_hs256_with_the_public_key_as_secret_is_refused(vc_jwt, keys, key, kid) -> None:
    header = b64(json.dumps({"alg": "HS256", "kid": kid, "typ": "vc+jwt"}).encode())
    signing_input = header + "." + vc_jwt.split(".")[1]
    public_raw = keylib.b64url_decode(keylib.public_jwk(key)["x"])
    for secret in (public_raw, keylib.public_jwk(key)["x"].encode()):
        mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        verdict = policy.evaluate(full_ctx(signing_input + "." + b64(mac), keys, vc_jwt))
        assert not verdict.valid
        assert "signature" in failing(verdict)


@pytest.mark.parametrize(
    "garbage",
    ["", "   ", "halo", "a.b.c", "https://apkd.test/v/APKD-BPG-5305-2026-000123-T", "x" * 20_000, "\x00\xff"],
)
def test_garbage_is_invalid_never_an_exception(garbage, keys, vc_jwt) -> None:
    verdict = policy.evaluate(full_ctx(garbage, keys, vc_jwt))
    assert verdict.valid is False
    assert verdict.status in {"invalid", "unknown"}
    assert set(failing(verdict)) & {"format", "signature"}


def test_non_string_input_is_invalid(keys, vc_jwt) -> None:
    ctx = full_ctx("", keys, vc_jwt)
    ctx.presented = policy.parse_input(12345)
    assert policy.evaluate(ctx).valid is False


def test_qr_token_under_another_number_in_the_url(qr_text, keys, vc_jwt) -> None:
    other = format_number("BPG", "5305", 2026, 124)
    moved = qr_text.replace(NUMBER, other, 1)
    verdict = policy.evaluate(full_ctx(moved, keys, vc_jwt))
    assert not verdict.valid
    assert "Nomor pada alamat" in failing(verdict)["signature"]


def test_compromised_key_fails_with_its_reason(vc_jwt, key, kid) -> None:
    bad = {
        kid: KeyInfo(
            kid=kid,
            key=key.public_key(),
            status="compromised",
            compromised_at=ISSUED + timedelta(days=30),
            compromise_reason="Cadangan kunci tercecer",
        )
    }
    verdict = policy.evaluate(full_ctx(vc_jwt, bad, vc_jwt))
    assert not verdict.valid and verdict.status == "invalid"
    assert "Cadangan kunci tercecer" in failing(verdict)["key_not_compromised"]
    assert "28 Desember 2026" in failing(verdict)["key_not_compromised"]


def test_foreign_issuer_is_refused(vc_jwt, keys) -> None:
    ctx = full_ctx(vc_jwt, keys, vc_jwt, issuer_id="https://lain.example/issuer")
    verdict = policy.evaluate(ctx)
    assert not verdict.valid and "issuer" in failing(verdict)


@pytest.mark.parametrize(
    ("status", "word", "check"),
    [
        (StatusEvidence(revoked=True, suspended=False, source="uji"), "revoked", "revocation"),
        (StatusEvidence(revoked=False, suspended=True, source="uji"), "suspended", "suspension"),
    ],
)
def test_revoked_and_suspended(vc_jwt, keys, status, word, check) -> None:
    verdict = policy.evaluate(full_ctx(vc_jwt, keys, vc_jwt, status=status))
    assert not verdict.valid and verdict.status == word
    assert set(failing(verdict)) == {check}


def test_expired_and_not_yet_valid(vc_jwt, keys) -> None:
    verdict = policy.evaluate(full_ctx(vc_jwt, keys, vc_jwt, now=ISSUED + timedelta(days=365 * 4)))
    assert not verdict.valid and verdict.status == "expired"
    assert "Kedaluwarsa" in failing(verdict)["validity_period"]
    early = policy.evaluate(full_ctx(vc_jwt, keys, vc_jwt, now=ISSUED - timedelta(days=1)))
    assert not early.valid and "Belum berlaku" in failing(early)["validity_period"]


def test_a_check_that_cannot_run_is_a_failure(vc_jwt, keys) -> None:
    ctx = full_ctx(vc_jwt, keys, vc_jwt, status=None, status_missing="Basis data mati.")
    verdict = policy.evaluate(ctx)
    assert not verdict.valid and verdict.status == "unknown"
    rev = verdict.check("revocation")
    assert rev is not None and not rev.ok and not rev.ran and rev.detail == "Basis data mati."
    no_keys = policy.evaluate(full_ctx(vc_jwt, None, vc_jwt))
    assert not no_keys.valid and not no_keys.check("signature").ran


def test_registry_record_disagreement(vc_jwt, qr_text, keys) -> None:
    ctx = full_ctx(qr_text, keys, vc_jwt, record=record(vc_jwt, holder_name="Nama Diubah"))
    verdict = policy.evaluate(ctx)
    assert not verdict.valid and verdict.status == "invalid"
    assert "nama pemegang" in failing(verdict)["registry_record"]
    other_vc = record(vc_jwt, vc_sha256="ab" * 32)
    verdict = policy.evaluate(full_ctx(vc_jwt, keys, vc_jwt, record=other_vc))
    assert "sidik SHA-256" in failing(verdict)["registry_record"]


def test_not_in_log_is_invalid(vc_jwt, keys) -> None:
    verdict = policy.evaluate(full_ctx(vc_jwt, keys, vc_jwt, log=LogEvidence(())))
    assert not verdict.valid and verdict.status == "invalid"
    assert "in_log" in failing(verdict)


def test_a_crashing_check_fails_closed(vc_jwt, keys) -> None:
    def boom(ctx):
        raise RuntimeError("x")

    verdict = policy.evaluate(full_ctx(vc_jwt, keys, vc_jwt), [*policy.FULL_CHECKS, boom])
    assert not verdict.valid
    assert "gagal dijalankan" in failing(verdict)["boom"]


def test_offline_says_what_it_did_not_check(qr_text, keys) -> None:
    verdict = offline.verify_offline(qr_text, keys, ISSUER, NOW)
    assert verdict.valid
    assert set(verdict.not_checked) == {"revocation", "suspension", "registry_record", "in_log"}


def test_offline_with_signed_status_lists(qr_text, vc_jwt, keys, key, kid) -> None:
    from apkd.credentials.statuslist import Bitstring, build_status_list_credential

    def signed_list(list_id: int, purpose: str, set_index: int | None) -> str:
        bits = Bitstring()
        if set_index is not None:
            bits.set(set_index)
        url = f"{BASE}/api/v1/status-lists/{list_id}"
        doc = build_status_list_credential(url, purpose, bits.encode(), ISSUER, ISSUED, 300_000)
        return sign_compact(doc, key, kid, "vc+jwt")

    rev_clear = offline.read_status_list(signed_list(1, "revocation", None), keys, ISSUER, NOW)
    rev_set = offline.read_status_list(signed_list(1, "revocation", 17), keys, ISSUER, NOW)
    sus = offline.read_status_list(signed_list(2, "suspension", None), keys, ISSUER, NOW)
    for text in (qr_text, vc_jwt):
        ok = offline.verify_offline(text, keys, ISSUER, NOW, lists=[rev_clear, sus], base_url=BASE)
        assert ok.valid and ok.status == "valid"
        revoked = offline.verify_offline(text, keys, ISSUER, NOW, lists=[rev_set, sus], base_url=BASE)
        assert not revoked.valid and revoked.status == "revoked"
        missing = offline.verify_offline(text, keys, ISSUER, NOW, lists=[rev_clear], base_url=BASE)
        if text == vc_jwt:  # names only its revocation entry: suspension left out, and said so
            assert missing.check("suspension") is None and "suspension" in missing.not_checked
            continue
        assert not missing.valid and not missing.check("suspension").ran
    forged_list = signed_list(1, "revocation", None)
    with pytest.raises(offline.StatusListInvalid):
        offline.read_status_list(forged_list, {}, ISSUER, NOW)
