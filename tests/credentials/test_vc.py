from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from uuid import UUID

import pytest

from apkd.credentials.statuslist import StatusEntryRef
from apkd.credentials.vc import (
    HolderInfo,
    SchemeInfo,
    UnitInfo,
    add_months,
    build_credential,
    format_score,
    jwt_claims,
    parse_datetime,
)
from apkd.signing.jws import sign_compact, verify_compact
from apkd.signing.keys import generate_key, public_jwk, thumbprint

BASE = "https://apkd.example.go.id"
ISSUER = f"{BASE}/issuer"
UID = UUID("0b6a3f0e-8c1d-4b7e-9a55-3f2a1c9d7e11")
SUBJECT = UUID("7d1e52c4-2a43-4c55-9e0b-1f6f0a3b9c21")

SCHEME = SchemeInfo(
    code="BPG",
    version="2026.1",
    title="Bendahara Pengeluaran",
    position="Bendahara Pengeluaran SKPD",
    pass_score=70,
    units=(
        UnitInfo("BPG.A", "Regulasi dan Kelembagaan Keuangan Daerah", 60),
        UnitInfo("BPG.B", "Penatausahaan Belanja"),
    ),
)
HOLDER = HolderInfo(
    full_name="Maria Goreti Lalang",
    jabatan="Bendahara Pengeluaran",
    instansi="Dinas Pendidikan Kabupaten Alor",
)
WITA = timezone(timedelta(hours=8))


def build(**over):
    args = dict(
        credential_id=UID,
        base_url=BASE + "/",
        issuer_id=ISSUER,
        issuer_name="Lembaga Sertifikasi APKD",
        scheme=SCHEME,
        holder=HOLDER,
        subject_id=SUBJECT,
        score=83.333,
        valid_from=datetime(2026, 3, 10, 9, 30, 15, 999_999, tzinfo=WITA),
        validity_months=36,
        revocation=StatusEntryRef(f"{BASE}/api/v1/status-lists/1", 4711),
    )
    args.update(over)
    return build_credential(**args)


def test_top_level_matches_contract_profile():
    vc = build()
    assert list(vc) == [
        "@context",
        "id",
        "type",
        "name",
        "issuer",
        "validFrom",
        "validUntil",
        "credentialSubject",
        "credentialStatus",
    ]
    assert vc["@context"] == [
        "https://www.w3.org/ns/credentials/v2",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
    ]
    assert vc["id"] == "urn:uuid:0b6a3f0e-8c1d-4b7e-9a55-3f2a1c9d7e11"
    assert vc["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert vc["name"] == "Sertifikat Kompetensi Bendahara Pengeluaran"
    assert vc["issuer"] == {"id": ISSUER, "type": ["Profile"], "name": "Lembaga Sertifikasi APKD"}


def test_validity_is_utc_to_the_second():
    vc = build()
    assert vc["validFrom"] == "2026-03-10T01:30:15Z"  # 09:30 WITA, microseconds dropped
    assert vc["validUntil"] == "2029-03-10T01:30:15Z"
    for value in (vc["validFrom"], vc["validUntil"]):
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", value)


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError):
        build(valid_from=datetime(2026, 3, 10, 9, 30))


def test_subject_has_its_id_and_only_the_name_as_identifier():
    subject = build()["credentialSubject"]
    assert list(subject) == ["id", "type", "identifier", "role", "achievement", "result"]
    assert subject["id"] == SUBJECT.urn
    assert subject["type"] == ["AchievementSubject"]
    assert subject["identifier"] == [
        {
            "type": "IdentityObject",
            "identityType": "name",
            "hashed": False,
            "identityHash": "Maria Goreti Lalang",
        }
    ]
    assert subject["role"] == "Bendahara Pengeluaran, Dinas Pendidikan Kabupaten Alor"


def test_achievement():
    ach = build()["credentialSubject"]["achievement"]
    assert list(ach) == [
        "id",
        "type",
        "humanCode",
        "name",
        "description",
        "criteria",
        "achievementType",
        "image",
        "resultDescription",
    ]
    assert ach["id"] == f"{BASE}/schemes/BPG/2026.1"
    assert ach["image"] == {"id": f"{BASE}/api/v1/schemes/BPG/badge.png", "type": "Image"}
    assert ach["type"] == ["Achievement"]
    assert ach["humanCode"] == "BPG"
    assert ach["achievementType"] == "Certification"
    assert "Bendahara Pengeluaran SKPD" in ach["description"]
    narrative = ach["criteria"]["narrative"]
    assert list(ach["criteria"]) == ["narrative"]
    for part in ("BPG.A Regulasi dan Kelembagaan Keuangan Daerah", "BPG.B Penatausahaan Belanja", "70"):
        assert part in narrative
    assert "paling rendah 60" in narrative  # the unit's own minimum
    assert "nilai akhir" in narrative  # Indonesian
    assert ach["resultDescription"] == [
        {
            "id": f"{BASE}/schemes/BPG/2026.1#nilai-akhir",
            "type": ["ResultDescription"],
            "name": "Nilai akhir",
            "resultType": "Percent",
            "valueMin": "0",
            "valueMax": "100",
            "requiredValue": "70",
        }
    ]


def test_result_refers_to_its_description():
    subject = build()["credentialSubject"]
    assert subject["result"] == [
        {
            "type": ["Result"],
            "resultDescription": subject["achievement"]["resultDescription"][0]["id"],
            "value": "83.33",
            "status": "Completed",
        }
    ]


def test_credential_status_is_the_single_revocation_entry():
    assert build()["credentialStatus"] == {
        "id": f"{BASE}/api/v1/status-lists/1#4711",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": "4711",
        "statusListCredential": f"{BASE}/api/v1/status-lists/1",
    }


def test_credential_id_forms():
    assert build(credential_id=str(UID))["id"] == UID.urn
    assert build(credential_id=UID.urn)["id"] == UID.urn
    with pytest.raises(ValueError):
        build(credential_id="not-a-uuid")


@pytest.mark.parametrize(
    ("value", "text"),
    [(70, "70"), (83.333, "83.33"), (66.665, "66.67"), (Decimal("80.50"), "80.5"), (100.0, "100"), (0, "0")],
)
def test_format_score(value, text):
    assert format_score(value) == text


def test_format_score_refuses_nonsense():
    for bad in (-1, 100.01, 101):
        with pytest.raises(ValueError):
            format_score(bad)
    with pytest.raises(TypeError):
        format_score(True)


@pytest.mark.parametrize(
    ("start", "months", "end"),
    [
        (datetime(2026, 1, 31), 1, datetime(2026, 2, 28)),
        (datetime(2028, 1, 31), 1, datetime(2028, 2, 29)),
        (datetime(2026, 3, 31), 1, datetime(2026, 4, 30)),
        (datetime(2026, 11, 15), 2, datetime(2027, 1, 15)),
        (datetime(2024, 2, 29), 36, datetime(2027, 2, 28)),
        (datetime(2024, 2, 29), 48, datetime(2028, 2, 29)),
        (datetime(2026, 3, 31), -1, datetime(2026, 2, 28)),
        (datetime(2026, 5, 20, 7, 8, 9), 0, datetime(2026, 5, 20, 7, 8, 9)),
    ],
)
def test_add_months(start, months, end):
    assert add_months(start, months) == end


def test_add_months_keeps_time_and_zone():
    start = datetime(2026, 1, 31, 23, 59, 59, tzinfo=WITA)
    assert add_months(start, 1) == datetime(2026, 2, 28, 23, 59, 59, tzinfo=WITA)


def test_validity_clamps_to_end_of_month():
    vc = build(valid_from=datetime(2026, 1, 31, 12, 0, tzinfo=UTC), validity_months=1)
    assert vc["validUntil"] == "2026-02-28T12:00:00Z"


def test_jwt_claims():
    vc = build()
    claims = jwt_claims(vc, ISSUER)
    assert {k: claims[k] for k in vc} == vc  # the credential itself, unchanged
    assert claims["iss"] == ISSUER
    assert claims["sub"] == vc["credentialSubject"]["id"] == SUBJECT.urn
    assert claims["iat"] == claims["nbf"] == int(datetime(2026, 3, 10, 1, 30, 15, tzinfo=UTC).timestamp())
    assert claims["exp"] == int(datetime(2029, 3, 10, 1, 30, 15, tzinfo=UTC).timestamp())
    assert set(claims) - set(vc) == {"iss", "sub", "iat", "nbf", "exp"}  # no jti: undefined in VC 2.0
    assert "iss" not in vc  # the credential was not modified


def test_parse_datetime_round_trip():
    assert parse_datetime("2026-03-10T01:30:15Z") == datetime(2026, 3, 10, 1, 30, 15, tzinfo=UTC)
    with pytest.raises(ValueError):
        parse_datetime("2026-03-10T01:30:15")


def test_signed_as_vc_jwt_round_trip():
    key = generate_key()
    kid = thumbprint(public_jwk(key))
    claims = jwt_claims(build(), ISSUER)
    token = sign_compact(claims, key, kid, "vc+jwt")
    assert verify_compact(token, {kid: key.public_key()}, "vc+jwt").payload == claims
