from __future__ import annotations

import base64
import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest
import qrcode
from qrcode.constants import ERROR_CORRECT_M

from apkd.accounts.nip import mask_nip
from apkd.credentials.number import format_number
from apkd.credentials.qrtoken import (
    MAX_QR_TEXT_LENGTH,
    QR_TYP,
    QRStatusRef,
    QRTextTooLong,
    build_qr_claims,
    make_qr_text,
    parse_qr_text,
    vc_digest,
    verify_qr_text,
    verify_qr_token,
)
from apkd.signing.jws import JWSError, sign_compact
from apkd.signing.keys import generate_key, public_jwk, thumbprint

NIP = "198503152010012001"
NUMBER = format_number("BPG", "5305", 2026, 123)
LONG_NAME = "Dr. Hj. Siti Nurhaliza Kusumawardhani Rahmaputri, S.E., M.Si"
LONG_INSTANSI = "Badan Pengelolaan Keuangan, Pendapatan dan Aset Daerah Kabupaten Timor Tengah Selatan"
BASES = ["http://127.0.0.1:8000", "https://sertifikasi-apkd.kemendagri.go.id"]
VC_JWT = "eyJhbGciOiJFZERTQSJ9.eyJhIjoxfQ.c2ln"


@pytest.fixture(scope="module")
def signer():
    key = generate_key()
    kid = thumbprint(public_jwk(key))
    return key, kid, {kid: key.public_key()}


def claims(name="Maria Goreti Lalang", instansi="Dinas Pendidikan Kabupaten Alor", number=NUMBER):
    return build_qr_claims(
        number=number,
        holder_name=name,
        instansi=instansi,
        valid_from=datetime(2026, 3, 10, 1, 30, 15, tzinfo=UTC),
        valid_until=datetime(2029, 3, 10, 1, 30, 15, tzinfo=UTC),
        revocation=QRStatusRef(1, 4711),
        suspension=QRStatusRef(2, 90210),
        vc_jwt=VC_JWT,
    )


def payload_of(text: str) -> dict:
    token = text.split("?t=")[-1]
    seg = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(seg + "=" * (-len(seg) % 4)))


def test_mask_nip():
    assert mask_nip(NIP) == "1985***********001"
    for bad in ("12345", "19850315201001200A", NIP + "1"):
        with pytest.raises(ValueError):
            mask_nip(bad)


def test_round_trip(signer):
    key, kid, keys = signer
    text = make_qr_text(BASES[0] + "/", NUMBER, claims(), key, kid)
    assert text.startswith(f"{BASES[0]}/v/{NUMBER}?t=")
    got = verify_qr_text(text, keys)
    assert got.number == NUMBER
    assert got.scheme_code == "BPG"
    assert got.holder_name == "Maria Goreti Lalang"
    assert got.nip_masked is None and "m" not in payload_of(text)  # nothing from the NIP
    assert got.valid_from == datetime(2026, 3, 10, 1, 30, 15, tzinfo=UTC)
    assert got.valid_until == datetime(2029, 3, 10, 1, 30, 15, tzinfo=UTC)
    assert (got.revocation, got.suspension) == (QRStatusRef(1, 4711), QRStatusRef(2, 90210))


def test_everything_fits_with_room_to_spare(signer):
    key, kid, keys = signer
    text = make_qr_text(BASES[0], NUMBER, claims(), key, kid, max_length=600)
    got = verify_qr_text(text, keys)
    assert got.instansi == "Dinas Pendidikan Kabupaten Alor"
    assert got.vc_digest == vc_digest(VC_JWT)
    assert len(got.vc_digest) == 22


@pytest.mark.parametrize("base", BASES)
@pytest.mark.parametrize("limit", [MAX_QR_TEXT_LENGTH, 500])
def test_long_name_and_instansi_stay_within_the_limit(signer, base, limit):
    key, kid, keys = signer
    assert len(LONG_NAME) == 60
    text = make_qr_text(base, NUMBER, claims(LONG_NAME, LONG_INSTANSI), key, kid, max_length=limit)
    assert len(text) <= limit
    got = verify_qr_text(text, keys)
    assert got.number == NUMBER and got.nip_masked is None
    if got.holder_name != LONG_NAME:  # cut only as a last resort, visibly
        assert got.holder_name.endswith("…") and LONG_NAME.startswith(got.holder_name[:-1])
        assert len(got.holder_name) >= 40
    if got.instansi is not None:
        assert got.instansi == LONG_INSTANSI or (
            got.instansi.endswith("…") and LONG_INSTANSI.startswith(got.instansi[:-1])
        )


def test_default_limit_fits_qr_version_16_at_m(signer):
    key, kid, _ = signer
    for base in BASES:
        for name in ("Ani", LONG_NAME):
            text = make_qr_text(base, NUMBER, claims(name, LONG_INSTANSI), key, kid)
            code = qrcode.QRCode(error_correction=ERROR_CORRECT_M)
            code.add_data(text)
            code.make(fit=True)
            assert code.version <= 16


def test_at_500_a_60_character_name_is_kept_whole_with_status(signer):
    key, kid, keys = signer
    got = verify_qr_text(
        make_qr_text(BASES[0], NUMBER, claims(LONG_NAME, LONG_INSTANSI), key, kid, 500), keys
    )
    assert got.holder_name == LONG_NAME
    assert got.revocation == QRStatusRef(1, 4711)


def test_status_is_kept_for_a_usual_name(signer):
    key, kid, keys = signer
    for base in BASES:
        got = verify_qr_text(make_qr_text(base, NUMBER, claims(instansi=LONG_INSTANSI), key, kid), keys)
        assert got.holder_name == "Maria Goreti Lalang"
        assert got.suspension == QRStatusRef(2, 90210)


def test_no_full_nip_anywhere(signer):
    key, kid, _ = signer
    for limit in (MAX_QR_TEXT_LENGTH, 2000):
        text = make_qr_text(BASES[0], NUMBER, claims(LONG_NAME, LONG_INSTANSI), key, kid, limit)
        decoded = json.dumps(payload_of(text), ensure_ascii=False)
        for haystack in (text, decoded):
            assert NIP not in haystack
            assert NIP[4:15] not in haystack  # not even the hidden middle


def test_never_writes_a_nip_even_when_given_one(signer):
    key, kid, _ = signer
    text = make_qr_text(BASES[0], NUMBER, replace(claims(), nip_masked=NIP), key, kid)
    assert "m" not in payload_of(text)


def test_reads_the_masked_nip_of_tokens_issued_before(signer):
    key, kid, keys = signer
    wire = {"n": NUMBER, "h": "Maria", "m": "1985*001", "f": 1_773_000_000, "u": 1_870_000_000}
    got = verify_qr_token(sign_compact(wire, key, kid, QR_TYP), keys)
    assert got.nip_masked == "1985***********001"


def test_refuses_mismatching_number(signer):
    key, kid, _ = signer
    with pytest.raises(ValueError):
        make_qr_text(BASES[0], format_number("BPG", "5305", 2026, 124), claims(), key, kid)


def test_base_url_too_long(signer):
    key, kid, _ = signer
    with pytest.raises(QRTextTooLong):
        make_qr_text("https://" + "x" * 300 + ".go.id", NUMBER, claims(), key, kid)


def test_parse_qr_text_forms(signer):
    key, kid, _ = signer
    text = make_qr_text(BASES[1], NUMBER, claims(), key, kid)
    number, token = parse_qr_text("  " + text + "\n")
    assert number == NUMBER
    assert token == text.split("?t=")[1]
    assert parse_qr_text(token) == (None, token)
    lower = text.replace(f"/v/{NUMBER}", f"/v/{NUMBER.lower()}")
    assert parse_qr_text(lower)[0] == NUMBER
    for bad in (
        "https://apkd.example/v/APKD-BPG-5305-2026-000123-0?t=a.b.c",  # wrong check character
        f"https://apkd.example/x/{NUMBER}?t=a.b.c",
        f"https://apkd.example/v/{NUMBER}",
        f"https://apkd.example/v/{NUMBER}?t=a.b.c&t=d.e.f",
        "hello",
    ):
        with pytest.raises(JWSError) as info:
            parse_qr_text(bad)
        assert info.value.code == "malformed"


def test_bare_token_verifies(signer):
    key, kid, keys = signer
    token = make_qr_text(BASES[0], NUMBER, claims(), key, kid).split("?t=")[1]
    assert verify_qr_token(token, keys).number == NUMBER
    assert verify_qr_text(token, keys).number == NUMBER


def test_token_moved_under_another_number_is_refused(signer):
    key, kid, keys = signer
    other = format_number("BPG", "5305", 2026, 124)
    token = make_qr_text(BASES[0], NUMBER, claims(), key, kid).split("?t=")[1]
    with pytest.raises(JWSError) as info:
        verify_qr_text(f"{BASES[0]}/v/{other}?t={token}", keys)
    assert info.value.code == "number_mismatch"


def test_tampered_or_foreign_tokens_are_refused(signer):
    key, kid, keys = signer
    text = make_qr_text(BASES[0], NUMBER, claims(), key, kid)
    head, payload, sig = text.split("?t=")[1].split(".")
    wire = payload_of(text)
    wire["u"] += 10 * 365 * 86400  # "extend" the validity
    forged = base64.urlsafe_b64encode(json.dumps(wire).encode()).decode().rstrip("=")
    with pytest.raises(JWSError) as info:
        verify_qr_token(f"{head}.{forged}.{sig}", keys)
    assert info.value.code == "bad_signature"
    # a genuine vc+jwt is not a QR token
    with pytest.raises(JWSError) as info:
        verify_qr_token(sign_compact(wire, key, kid, "vc+jwt"), keys)
    assert info.value.code == "bad_typ"
    # a token from a key the verifier does not trust
    stranger = generate_key()
    alien = make_qr_text(BASES[0], NUMBER, claims(), stranger, thumbprint(public_jwk(stranger)))
    with pytest.raises(JWSError) as info:
        verify_qr_text(alien, keys)
    assert info.value.code == "unknown_kid"


@pytest.mark.parametrize(
    "change",
    [
        {"n": "APKD-BPG-5305-2026-000123-0"},
        {"n": None},
        {"h": ""},
        {"m": "198503152010012001"},
        {"f": "1767225600"},
        {"u": 1},
        {"f": True},
        {"s": [1, 2, 3]},
        {"s": [1, -2, 3, 4]},
        {"d": "short"},
        {"i": 5},
    ],
)
def test_signed_but_malformed_claims_are_refused(signer, change):
    key, kid, keys = signer
    wire = payload_of(make_qr_text(BASES[0], NUMBER, claims(), key, kid, 2000))
    wire.update(change)
    with pytest.raises(JWSError) as info:
        verify_qr_token(sign_compact(wire, key, kid, QR_TYP), keys)
    assert info.value.code == "bad_payload"


def test_without_nip_or_status(signer):
    key, kid, keys = signer
    bare = replace(claims(), nip_masked=None, revocation=None, suspension=None, instansi=None, vc_digest=None)
    got = verify_qr_text(make_qr_text(BASES[0], NUMBER, bare, key, kid), keys)
    assert got.nip_masked is None and got.revocation is None and got.instansi is None
