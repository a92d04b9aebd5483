"""Issuing credentials for passing results: one per attempt, numbered without gaps, signed."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import itertools
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest
from hypothesis import given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st
from sqlmodel import col, select

from apkd.config import load_settings
from apkd.credentials import issuing, qrtoken, service, signworker
from apkd.credentials.models import Credential, CredentialEvent, CredentialSerial, StatusList
from apkd.credentials.number import parse_number
from apkd.credentials.qrtoken import verify_qr_text
from apkd.credentials.statuslist import StatusEntryRef
from apkd.credentials.templates import CredentialTemplate, _finish_document
from apkd.credentials.vc import (
    HolderInfo,
    SchemeInfo,
    UnitInfo,
    build_credential,
    format_score,
    jwt_claims,
)
from apkd.db import session_factory
from apkd.grading import effects
from apkd.signing import keys as keylib
from apkd.signing.jws import verify_compact
from apkd.translog import service as translog

_QR_KEY = keylib.generate_key()


def claims_of(vc_jwt: str) -> dict:
    payload = vc_jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


async def all_credentials(db) -> list[Credential]:
    return list((await db.exec(select(Credential).order_by(col(Credential.serial)))).all())


async def test_publish_effect_issues_one_credential_per_passing_attempt(factory, db, settings) -> None:
    users = [await factory.candidate(full_name=f"Peserta {i}") for i in range(3)]
    no_region = await factory.candidate(full_name="Tanpa Wilayah", region_code=None)
    seeded = await factory.passed_session([*users, no_region])
    failed = await factory.passed_session([await factory.candidate()], passed=False, score=40)

    impl = effects.current()
    assert isinstance(impl, service.Effects)
    issued = await impl.issue(db, seeded.result_ids + failed.result_ids, actor="admin")
    await db.commit()
    assert issued == 4
    # Publishing again issues nothing twice.
    assert await impl.issue(db, seeded.result_ids, actor="admin") == 0
    await db.commit()

    creds = await all_credentials(db)
    assert len(creds) == 4
    assert sorted(c.attempt_id for c in creds) == sorted(seeded.attempt_ids)
    assert [c.serial for c in creds] == [1, 2, 3, 4]
    year = creds[0].valid_from.astimezone(service.ISSUER_TZ).year
    for c in creds:
        parsed = parse_number(c.number)
        assert parsed.text == c.number and parsed.scheme == "BPG" and parsed.year == year
        assert c.number.startswith(f"APKD-BPG-{c.region_code}-{year}-{c.serial:06d}-")
    regions = {c.holder_name: c.region_code for c in creds}
    assert regions["Tanpa Wilayah"] == "0000" and regions["Peserta 0"] == "5305"
    serial_row = (await db.exec(select(CredentialSerial))).one()
    assert serial_row.next_serial == 5
    events = (await db.exec(select(CredentialEvent))).all()
    assert sorted(e.credential_id for e in events) == sorted(c.id for c in creds)
    assert {(e.action, e.reason) for e in events} == {("issued", None)}


async def test_credential_is_a_signed_open_badge_with_status_entries(factory, db, settings) -> None:
    user = await factory.candidate(full_name="Maria Goreti Lelang", nip="198703122010012003")
    seeded = await factory.passed_session([user], score=83.333)
    await effects.current().issue(db, seeded.result_ids, actor=None)
    await db.commit()
    cred = (await all_credentials(db))[0]

    public, status = await service.verification_keys(db)
    verified = verify_compact(cred.vc_jwt, public, "vc+jwt")
    kid_url = f"{settings.issuer_id}/keys/urn:ietf:params:oauth:jwk-thumbprint:sha-256:{cred.kid}"
    assert verified.header == {"alg": "EdDSA", "kid": kid_url, "typ": "vc+jwt"}
    assert verified.kid == cred.kid
    assert cred.kid == keylib.thumbprint(keylib.public_jwk(public[cred.kid]))
    assert status[cred.kid]["status"] == "active"
    vc = verified.payload
    assert vc["iss"] == settings.issuer_id == vc["issuer"]["id"]
    assert vc["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    subject = vc["credentialSubject"]
    assert subject["achievement"]["achievementType"] == "Certification"
    assert subject["result"][0]["value"] == "83.33"
    assert subject["role"] == "Bendahara Pengeluaran, Badan Keuangan dan Aset Daerah Kabupaten Alor"
    # The holder is named, never identified by anything from the NIP.
    assert [i["identityType"] for i in subject["identifier"]] == ["name"]
    assert "198703122010012003" not in cred.vc_jwt and "198703122010012003" not in json.dumps(vc)
    assert "salt" not in json.dumps(vc)
    # The subject has a stable urn:uuid, which is the JWT's sub.
    assert subject["id"].startswith("urn:uuid:") and vc["sub"] == subject["id"]
    assert "jti" not in vc
    # One credentialStatus (OB 3.0: 0..1): the revocation entry.
    entry = vc["credentialStatus"]
    assert isinstance(entry, dict) and entry["statusPurpose"] == "revocation"
    assert int(entry["statusListIndex"]) == cred.revocation_index
    assert entry["statusListCredential"] == (
        f"{settings.base_url}/api/v1/status-lists/{cred.revocation_list_id}"
    )
    assert cred.valid_until - cred.valid_from > timedelta(days=3 * 365)

    # The QR text: a URL under the base URL carrying a signed token for this credential.
    assert cred.qr_text.startswith(f"{settings.base_url}/v/{cred.number}?t=")
    assert len(cred.qr_text) <= 500
    qr_claims = verify_qr_text(cred.qr_text, public)
    assert qr_claims.number == cred.number and qr_claims.holder_name == "Maria Goreti Lelang"
    assert "198703122010012003" not in cred.qr_text


async def test_status_indexes_are_distinct_and_spread(factory, db) -> None:
    users = [await factory.candidate() for _ in range(12)]
    seeded = await factory.passed_session(users)
    await effects.current().issue(db, seeded.result_ids, actor=None)
    await db.commit()
    creds = await all_credentials(db)
    rev = [c.revocation_index for c in creds]
    assert len(set(rev)) == 12
    assert rev != sorted(rev) or max(rev) - min(rev) > 1000  # random, not consecutive
    lists = (await db.exec(select(StatusList))).all()
    assert {sl.purpose for sl in lists} == {"revocation", "suspension"}
    for sl in lists:
        assert sl.size == 131072 and sl.allocated_count == 12 and sl.bits == bytes(16384)


async def test_renewal_links_the_previous_credential_of_the_same_scheme(factory, db) -> None:
    user = await factory.candidate()
    other_scheme = await factory.passed_session([user], code="PPK")
    first = await factory.passed_session([user])
    await effects.current().issue(db, other_scheme.result_ids + first.result_ids, actor=None)
    await db.commit()
    second = await factory.passed_session([user])
    await effects.current().issue(db, second.result_ids, actor=None)
    await db.commit()
    creds = {c.attempt_id: c for c in await all_credentials(db)}
    old = creds[first.attempt_ids[0]]
    new = creds[second.attempt_ids[0]]
    assert old.renews_id is None and creds[other_scheme.attempt_ids[0]].renews_id is None
    assert new.renews_id == old.id
    assert new.serial == old.serial + 1


async def test_concurrent_issuers_get_unique_gapless_numbers(factory, clean) -> None:
    """Several exam sessions published at once, each by its own database session."""
    batches = []
    for _ in range(4):
        batches.append(await factory.passed_session([await factory.candidate() for _ in range(6)]))

    async def publish(result_ids: list[int]) -> int:
        async with session_factory(clean)() as s:
            n = await effects.current().issue(s, result_ids, actor=None)
            await s.commit()
            return n

    # Each session is published twice concurrently too: still one credential per attempt.
    counts = await asyncio.gather(*(publish(b.result_ids) for b in batches + batches))
    assert sum(counts) == 24
    async with session_factory(clean)() as s:
        creds = await all_credentials(s)
        lists = (await s.exec(select(StatusList))).all()
    assert len(creds) == 24
    assert sorted(c.serial for c in creds) == list(range(1, 25))
    assert len({c.number for c in creds}) == 24
    assert len({(c.revocation_list_id, c.revocation_index) for c in creds}) == 24
    assert sum(sl.allocated_count for sl in lists if sl.purpose == "revocation") == 24


async def test_revoke_regraded_revokes_with_reason(factory, db) -> None:
    users = [await factory.candidate() for _ in range(2)]
    seeded = await factory.passed_session(users)
    await effects.current().issue(db, seeded.result_ids, actor=None)
    await db.commit()
    n = await effects.current().revoke_regraded(db, seeded.result_ids[:1], actor="admin")
    await db.commit()
    assert n == 1
    again = await effects.current().revoke_regraded(db, seeded.result_ids[:1], actor="admin")
    await db.commit()
    assert again == 0
    creds = {c.result_id: c for c in await all_credentials(db)}
    revoked = creds[seeded.result_ids[0]]
    assert revoked.status == "revoked" and revoked.revocation_reason == "regraded"
    assert creds[seeded.result_ids[1]].status == "active"
    bits = await service.status_list_bits(db, revoked.revocation_list_id)
    i = revoked.revocation_index
    assert bits[i // 8] & (0x80 >> (i % 8))


# --- the fast path is the reference path -------------------------------------------------

SETTINGS = load_settings(
    {"APKD_ENV": "test", "APKD_SECRET_KEY": "s" * 40, "APKD_BASE_URL": "https://apkd.alorkab.go.id"}
)
SCHEME = SchemeInfo(
    "BPG",
    "2026.1",
    'Bendahara "Pengeluaran"',
    "Bendahara Pengeluaran SKPD",
    70,
    (UnitInfo("BPG.A", "Regulasi", 60), UnitInfo("BPG.B", "Penatausahaan")),
)
text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)


@hyp_settings(max_examples=150, deadline=None)
@given(
    name=text.filter(lambda s: s.strip()),
    jabatan=st.one_of(st.none(), text),
    instansi=st.one_of(st.none(), text),
    score=st.floats(min_value=0, max_value=100, allow_nan=False),
    rev=st.integers(0, 131071),
    months=st.integers(1, 120),
    second=st.integers(0, 10**9),
)
def test_template_payload_is_exactly_what_vc_py_builds(
    name, jabatan, instansi, score, rev, months, second
) -> None:
    valid_from = datetime.fromtimestamp(1_700_000_000 + second, UTC)
    cred_id, subject_id = uuid4(), uuid4()
    rev_url = f"{SETTINGS.base_url}/api/v1/status-lists/3"
    doc = build_credential(
        credential_id=cred_id,
        base_url=SETTINGS.base_url,
        issuer_id=SETTINGS.issuer_id,
        issuer_name=SETTINGS.issuer_name,
        scheme=SCHEME,
        holder=HolderInfo(full_name=name, jabatan=jabatan or "", instansi=instansi or ""),
        subject_id=subject_id,
        score=score,
        valid_from=valid_from,
        validity_months=months,
        revocation=StatusEntryRef(rev_url, rev),
    )
    _finish_document(doc, jabatan, instansi)
    expected = json.dumps(
        jwt_claims(doc, SETTINGS.issuer_id), separators=(",", ":"), ensure_ascii=False
    ).encode()
    role = ", ".join(p for p in ((jabatan or "").strip(), (instansi or "").strip()) if p)
    template = CredentialTemplate(
        SETTINGS,
        SCHEME,
        valid_from=valid_from,
        validity_months=months,
        has_role=bool(role),
    )
    got = template.payload(
        {
            "ID": cred_id.urn,
            "SUB": subject_id.urn,
            "NAME": name,
            "ROLE": role,
            "SCORE": format_score(score),
            "REVURL": rev_url,
            "REVIDX": str(rev),
        }
    )
    assert got == expected


@hyp_settings(max_examples=200, deadline=None)
@given(
    name=text.filter(lambda s: s.strip()),
    instansi=st.one_of(st.none(), text, st.text(min_size=40, max_size=120)),
    region=st.from_regex(r"[0-9]{4}", fullmatch=True),
    serial=st.integers(1, 999_999),
    lists=st.tuples(
        st.integers(1, 10**6), st.integers(0, 131071), st.integers(1, 10**6), st.integers(0, 131071)
    ),
    second=st.integers(0, 10**9),
    base=st.sampled_from(["https://apkd.test", "https://sertifikasi-apkd.bpkad.alorkab.go.id/registri"]),
)
def test_qr_builder_gives_exactly_qrtoken_text(name, instansi, region, serial, lists, second, base) -> None:
    from apkd.credentials.number import format_number
    from apkd.credentials.templates import QRTextBuilder
    from apkd.signing import keys as keylib
    from apkd.signing.keystore import Signer

    key = _QR_KEY
    signer = Signer(keylib.thumbprint(keylib.public_jwk(key)), key)
    number = format_number("BPG", region, 2026, serial)
    valid_from = datetime.fromtimestamp(1_700_000_000 + second, UTC)
    valid_until = valid_from + timedelta(days=1096)
    vc_jwt = "eyJ" + "x" * 100 + str(second)
    kwargs = dict(
        number=number,
        holder_name=name,
        instansi=instansi,
        valid_from=valid_from,
        valid_until=valid_until,
        revocation=(lists[0], lists[1]),
        suspension=(lists[2], lists[3]),
        vc_jwt=vc_jwt,
    )
    claims = qrtoken.build_qr_claims(
        number=number,
        holder_name=name,
        instansi=instansi,
        valid_from=valid_from,
        valid_until=valid_until,
        revocation=qrtoken.QRStatusRef(lists[0], lists[1]),
        suspension=qrtoken.QRStatusRef(lists[2], lists[3]),
        vc_jwt=vc_jwt,
    )
    try:
        expected = qrtoken.make_qr_text(base, number, claims, key, signer.kid)
    except qrtoken.QRTextTooLong:
        return
    assert QRTextBuilder(base, signer).build(**kwargs) == expected


async def test_a_full_status_list_is_continued_in_a_new_one(factory, db) -> None:
    size = 131072
    almost = bytearray(b"\xff" * (size // 8))
    almost[-1] = 0xFE  # only the last index is free
    for purpose in ("revocation", "suspension"):
        db.add(
            StatusList(
                purpose=purpose,
                size=size,
                bits=bytes(size // 8),
                allocated=bytes(almost),
                allocated_count=size - 1,
            )
        )
    await db.commit()
    seeded = await factory.passed_session([await factory.candidate() for _ in range(3)])
    assert await effects.current().issue(db, seeded.result_ids, actor=None) == 3
    await db.commit()
    creds = await all_credentials(db)
    lists = {sl.id: sl for sl in (await db.exec(select(StatusList))).all()}
    old_rev = min(i for i, sl in lists.items() if sl.purpose == "revocation")
    in_old = [c for c in creds if c.revocation_list_id == old_rev]
    assert [c.revocation_index for c in in_old] == [size - 1]
    assert lists[old_rev].allocated_count == size
    others = [c for c in creds if c.revocation_list_id != old_rev]
    assert len(others) == 2 and len({c.revocation_list_id for c in others}) == 1
    assert lists[others[0].revocation_list_id].allocated_count == 2


async def test_rows_stored_block_by_block_match_their_history_and_log_leaves(
    factory, db, monkeypatch
) -> None:
    """Small blocks (on PostgreSQL each is sent while the next is signed): every credential is
    stored once, with its "issued" history row and exactly one log leaf of its own vc+jwt."""
    monkeypatch.setattr(issuing, "_WRITE_BLOCK", 3)
    users = [await factory.candidate(full_name=f"Peserta Blok {i}") for i in range(10)]
    seeded = await factory.passed_session(users)
    assert await effects.current().issue(db, seeded.result_ids, actor="admin") == 10
    await db.commit()

    creds = await all_credentials(db)
    assert [c.serial for c in creds] == list(range(1, 11))
    assert sorted(c.attempt_id for c in creds) == sorted(seeded.attempt_ids)
    events = (await db.exec(select(CredentialEvent))).all()
    assert sorted(e.credential_id for e in events) == sorted(c.id for c in creds)
    for c in creds:
        entries = await translog.find_entries(db, c.number)
        assert [e["vc_sha256"] for _, e in entries] == [hashlib.sha256(c.vc_jwt.encode()).hexdigest()]
        assert c.vc_sha256 == entries[0][1]["vc_sha256"]


async def test_a_failure_while_signing_writes_nothing_and_leaves_the_session_usable(
    factory, db, monkeypatch
) -> None:
    """An error after some blocks went out: the caller rolls back (no statement is left in
    flight on the connection), nothing was issued, and issuing again works."""
    monkeypatch.setattr(issuing, "_WRITE_BLOCK", 2)
    users = [await factory.candidate() for _ in range(7)]
    seeded = await factory.passed_session(users)
    real = signworker.sign_block
    calls = itertools.count()

    def failing(*args: Any, **kwargs: Any) -> Any:
        if next(calls) == 2:  # the 3rd block of two: two blocks are already sent
            raise RuntimeError("the signing device went away")
        return real(*args, **kwargs)

    monkeypatch.setattr(signworker, "sign_block", failing)
    with pytest.raises(RuntimeError, match="signing device"):
        await effects.current().issue(db, seeded.result_ids, actor="admin")
    await db.rollback()
    assert await all_credentials(db) == []
    size_before = await translog.tree_size(db)

    monkeypatch.setattr(signworker, "sign_block", real)
    assert await effects.current().issue(db, seeded.result_ids, actor="admin") == 7
    await db.commit()
    creds = await all_credentials(db)
    assert [c.serial for c in creds] == list(range(1, 8))
    assert await translog.tree_size(db) == size_before + 7


async def test_a_large_batch_is_signed_by_the_child_process(factory, db, settings, monkeypatch) -> None:
    """With the child on (its minimum lowered to 1), the signatures come from the child: this
    process's own block signing is made to fail, and still every credential verifies, each
    token under its own number and name. A name that must be cut in the QR is signed here
    by the reference path, in the same batch, in its place."""
    monkeypatch.setattr(issuing, "_WRITE_BLOCK", 3)

    def not_here(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("signed in the issuer's process, not in the child")

    monkeypatch.setattr(signworker, "sign_block", not_here)
    long_name = "Maria Goreti " + "Lamawuran " * 18
    users = [
        await factory.candidate(full_name=f"Ani {i}", instansi=None if i % 2 else "BKAD Alor")
        for i in range(8)
    ]
    users.insert(4, await factory.candidate(full_name=long_name.strip()))
    seeded = await factory.passed_session(users)
    batch = await issuing.issue_for_results(
        db, seeded.result_ids, settings=replace(settings, signing_child_min=1), actor="admin"
    )
    await db.commit()
    assert len(batch.numbers) == 9
    public, _ = await service.verification_keys(db)
    creds = await all_credentials(db)
    assert [c.number for c in creds] == batch.numbers
    for c in creds:
        vc = verify_compact(c.vc_jwt, public, "vc+jwt").payload
        assert vc["credentialSubject"]["identifier"][0]["identityHash"] == c.holder_name
        assert c.vc_sha256 == hashlib.sha256(c.vc_jwt.encode()).hexdigest()
        qr = verify_qr_text(c.qr_text, public)
        assert qr.number == c.number
        if c.holder_name == long_name.strip():
            assert qr.holder_name != c.holder_name  # cut to fit the QR
        else:
            assert qr.holder_name == c.holder_name and qr.instansi == c.instansi
            if c.instansi is None:  # room for the digest of the vc+jwt, made by the child
                assert qr.vc_digest == qrtoken.vc_digest(c.vc_jwt)
