"""Issue 12, point 1: nothing public reveals the holder's NIP, and a verifier shown the NIP
confirms it online (POST /api/v1/registry/verify with `nip`, rate-limited more tightly).

The brute force below is the attack that recovered the NIP from the old credential (a
salted SHA-256 of the structured 18-digit number, with its salt beside it): enumerate every
NIP that fits the structure and the public masked NIP, and look for anything derived from
each candidate in everything public about the credential. A positive control shows that
the same search finds the NIP in a credential made the old way.
"""

from __future__ import annotations

import base64
import calendar
import hashlib
import json
import re
from typing import Any

from apkd.credentials.qrtoken import parse_qr_text


def _b64_json(segment: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


def _decoded_jws(token: str) -> str:
    header, payload, _ = token.split(".")
    return json.dumps([_b64_json(header), _b64_json(payload)], ensure_ascii=False)


def structured_nips(masked: str) -> list[str]:
    """Every NIP of the structure YYYYMMDD YYYYMM G NNN that fits the public mask (the first 4
    and last 3 digits): real birth dates of that year, TMT CPNS from the 18th birthday's year
    to 2026, gender 1 or 2."""
    year, seq = int(masked[:4]), masked[-3:]
    out: list[str] = []
    for month in range(1, 13):
        for day in range(1, calendar.monthrange(year, month)[1] + 1):
            birth = f"{year:04d}{month:02d}{day:02d}"
            for tmt_year in range(year + 18, 2027):
                for tmt_month in range(1, 13):
                    for gender in "12":
                        out.append(f"{birth}{tmt_year:04d}{tmt_month:02d}{gender}{seq}")
    return out


_TOKEN_RE = re.compile(r"[A-Za-z0-9_\-$:+/=]{8,}")
_SALTISH_RE = re.compile(r"(?=.*[0-9])(?=.*[A-Za-z])[A-Za-z0-9_\-]{16,64}")


def find_nip(candidates: list[str], public: str) -> list[str]:
    """Candidates of which something is in `public`: the number itself, its hidden middle, or a
    SHA-256 (hex or base64url) of it alone or with any salt-like token of `public` (16 to 64
    letters and digits: ids, digests, salts) as salt, either side."""
    tokens = set(_TOKEN_RE.findall(public))
    salts = sorted(
        {
            m.encode()
            for t in tokens
            for m in re.findall(r"[A-Za-z0-9_\-]{16,}", t)
            if _SALTISH_RE.fullmatch(m)
        }
    )
    digests = {t.removeprefix("sha256$").lower() for t in tokens}
    found = []
    sha = hashlib.sha256
    for nip in candidates:
        if nip in public or nip[4:15] in public:
            found.append(nip)
            continue
        raw = nip.encode()
        hexes = [sha(raw).hexdigest()]
        for salt in salts:
            hexes.append(sha(raw + salt).hexdigest())
            hexes.append(sha(salt + raw).hexdigest())
        for h in hexes:
            if (
                h in digests
                or base64.urlsafe_b64encode(bytes.fromhex(h)).decode().rstrip("=").lower() in digests
            ):
                found.append(nip)
                break
    return found


async def _everything_public(client: Any, cred: Any) -> str:
    """All that anyone can read about the credential without logging in, plus the credential
    itself (which its holder hands out): vc+jwt, QR text, record, page, verify answers."""
    parts = [cred.vc_jwt, _decoded_jws(cred.vc_jwt), cred.qr_text]
    _, token = parse_qr_text(cred.qr_text)
    parts.append(_decoded_jws(token))
    for url, headers in (
        (f"/api/v1/registry/{cred.number}", {}),
        (f"/v/{cred.number}", {}),
        (f"/v/{cred.number}", {"Accept": "application/json"}),
    ):
        r = await client.get(url, headers=headers)
        assert r.status_code == 200
        parts.append(r.text)
    for token_text in (cred.qr_text, cred.vc_jwt):
        r = await client.post("/api/v1/registry/verify", json={"token": token_text})
        parts.append(r.text)
    return "\n".join(parts)


async def test_brute_force_over_the_structured_nip_space_finds_nothing(client, issue) -> None:
    nip = "198507142009032004"
    cred, _ = await issue(nip=nip)
    public = await _everything_public(client, cred)
    record = (await client.get(f"/api/v1/registry/{cred.number}")).json()
    candidates = structured_nips(record["nip_masked"])
    assert nip in candidates and len(candidates) > 200_000  # the attacker's whole search space
    assert find_nip(candidates, public) == []

    # Positive control: the old credential's IdentityHash (sha256$hex(nip + salt), salt beside
    # it) is found by the same search, among the same candidates, as the true NIP only.
    salt = "5f1d2c3b4a5968778695a4b3c2d1e0f0"
    legacy = json.dumps(
        {
            "type": "IdentityObject",
            "identityType": "ext:NIP",
            "hashed": True,
            "identityHash": "sha256$" + hashlib.sha256((nip + salt).encode()).hexdigest(),
            "salt": salt,
        }
    )
    near = [c for c in candidates if c[4:6] == nip[4:6]]  # the same birth month: cheaper
    assert find_nip(near, public + legacy) == [nip]


async def test_verify_with_nip_answers_nip_match(client, issue) -> None:
    nip = "198507142009032005"
    cred, _ = await issue(nip=nip)
    for token in (cred.qr_text, cred.vc_jwt):
        r = await client.post("/api/v1/registry/verify", json={"token": token, "nip": nip})
        assert r.status_code == 200
        out = r.json()
        assert out["valid"] is True and out["nip_match"] is True
        assert nip not in r.text
    spaced = "19850714 200903 2 005"
    r = await client.post("/api/v1/registry/verify", json={"token": cred.qr_text, "nip": spaced})
    assert r.json()["nip_match"] is True
    r = await client.post(
        "/api/v1/registry/verify", json={"token": cred.qr_text, "nip": "198507142009032006"}
    )
    assert r.json()["nip_match"] is False
    # Without `nip`, no nip_match member; with a forged token, nothing can be said.
    r = await client.post("/api/v1/registry/verify", json={"token": cred.qr_text})
    assert "nip_match" not in r.json()
    forged = cred.vc_jwt[:-6] + ("AAAAAA" if not cred.vc_jwt.endswith("AAAAAA") else "BBBBBB")
    r = await client.post("/api/v1/registry/verify", json={"token": forged, "nip": nip})
    assert r.status_code == 200 and r.json()["valid"] is False and r.json()["nip_match"] is None
    # Bad input: 400 with a code, never a 500.
    for bad in (12345, "x" * 100, ["1"]):
        r = await client.post("/api/v1/registry/verify", json={"token": cred.qr_text, "nip": bad})
        assert r.status_code == 400 and r.json()["code"] == "invalid_nip"


async def test_nip_checks_are_rate_limited_per_credential(client, issue) -> None:
    from apkd.registry.ratelimit import NIP_CHECKS_PER_CREDENTIAL, NIP_CHECKS_PER_MINUTE

    assert NIP_CHECKS_PER_CREDENTIAL < NIP_CHECKS_PER_MINUTE
    from apkd.registry.ratelimit import MemoryCounter

    client.app.state.nip_rate_limit_store = MemoryCounter()  # counts of this test only
    cred, _ = await issue(nip="198507142009032007")
    codes = []
    for i in range(NIP_CHECKS_PER_CREDENTIAL + 1):
        guess = f"19850714200903200{i % 10}"
        r = await client.post("/api/v1/registry/verify", json={"token": cred.vc_jwt, "nip": guess})
        codes.append(r.status_code)
    assert codes[:NIP_CHECKS_PER_CREDENTIAL] == [200] * NIP_CHECKS_PER_CREDENTIAL
    assert codes[-1] == 429
    assert r.json()["code"] == "rate_limited" and "Retry-After" in r.headers
    # Verifying without a NIP is not held back by it.
    r = await client.post("/api/v1/registry/verify", json={"token": cred.vc_jwt})
    assert r.status_code == 200


async def test_verify_page_form_checks_the_nip_the_holder_shows(client, issue) -> None:
    """The public page (a verifier on a phone) has the same check as a form: the NIP goes in
    the POST body, never in the URL, and the answer never repeats it."""
    from urllib.parse import urlsplit

    from apkd.registry.ratelimit import MemoryCounter

    client.app.state.nip_rate_limit_store = MemoryCounter()
    nip = "198507142009032008"
    cred, _ = await issue(nip=nip)
    scanned = urlsplit(cred.qr_text)
    page = await client.get(scanned.path + "?" + scanned.query)
    assert page.status_code == 200
    assert 'action="/v/' + cred.number + '/nip#nip-title"' in page.text and 'name="nip"' in page.text
    token = dict(p.split("=", 1) for p in scanned.query.split("&"))["t"]
    assert f'name="t" value="{token}"' in page.text  # the form carries the scanned token
    action = f"/v/{cred.number}/nip"
    form = {"content-type": "application/x-www-form-urlencoded"}
    r = await client.post(action, content=f"t={token}&nip=19850714+200903+2+008", headers=form)
    assert r.status_code == 200 and "COCOK dengan NIP pemegang" in r.text and "TIDAK" not in r.text
    assert nip not in r.text
    r = await client.post(action, content=f"t={token}&nip={nip[:-1]}9", headers=form)
    assert r.status_code == 200 and "TIDAK COCOK" in r.text
    # A typed number (no QR token) is not enough to ask: the oracle needs a credential the
    # holder handed out (decision 005), and the page offers no form then.
    typed = await client.get(f"/v/{cred.number}")
    assert 'name="nip"' not in typed.text
    r = await client.post(action, content=f"nip={nip}", headers=form)
    assert r.status_code == 200 and "memindai kode QR" in r.text and "COCOK dengan" not in r.text
    r = await client.post(action, content=f"t={token}&nip=", headers=form)
    assert "Ketik NIP 18 angka" in r.text
    r = await client.post(action, content=b"nip=\xff\xfe", headers=form)
    assert r.status_code == 400 and r.json()["code"] == "invalid_form"
    r = await client.post("/v/APKD-XXX/nip", content=f"nip={nip}", headers=form)
    assert r.status_code == 400 and "bukan nomor sertifikat" in r.text


async def test_verify_page_form_shares_the_nip_rate_limit(client, issue) -> None:
    from apkd.registry.ratelimit import NIP_CHECKS_PER_CREDENTIAL, MemoryCounter

    client.app.state.nip_rate_limit_store = MemoryCounter()
    cred, _ = await issue(nip="198507142009032009")
    for i in range(NIP_CHECKS_PER_CREDENTIAL):
        r = await client.post(
            "/api/v1/registry/verify", json={"token": cred.vc_jwt, "nip": f"19850714200903200{i % 10}"}
        )
        assert r.status_code == 200
    _, t = parse_qr_text(cred.qr_text)
    r = await client.post(f"/v/{cred.number}/nip", data={"t": t, "nip": "198507142009032009"})
    assert r.status_code == 429 and "Terlalu banyak pencocokan NIP" in r.text
    assert "COCOK dengan" not in r.text


async def test_verify_page_form_refuses_an_oversized_body(client, issue) -> None:
    cred, _ = await issue(nip="198507142009032010")
    r = await client.post(
        f"/v/{cred.number}/nip",
        content="nip=1&t=" + "A" * 20_000,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 413 and r.json()["code"] == "payload_too_large"
