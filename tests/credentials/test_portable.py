"""Issue 12, point 7: the credential is portable. The holder downloads it as vc+jwt, as an
Open Badges 3.0 baked PNG and SVG (the credential inside, as the OB 3.0 baking section says),
and gets an "add to LinkedIn profile" link; the achievement carries an image the app serves.
The PNG and SVG are read here with code of the test's own (a PNG chunk reader, xml.etree),
and what they carry is verified with only what the issuer publishes."""

from __future__ import annotations

import io
import json
import struct
import zlib
from urllib.parse import parse_qs, urlsplit
from xml.etree import ElementTree

import pytest
from joserfc import jwt as jose_jwt
from joserfc.jwk import KeySet
from PIL import Image

from apkd.grading import effects
from apkd.signing import dataintegrity as di
from standards_files import document_loader, schema_errors

pytestmark = pytest.mark.filterwarnings("ignore:EdDSA is deprecated")

OB_NS = "https://purl.imsglobal.org/ob/v3p0"


@pytest.fixture
async def world(factory, db, make_user, login):
    await make_user("admin", username="admin1")
    holder = await factory.candidate(username="bendahara1", full_name="Yohanes Mau")
    await factory.candidate(username="bendahara2", full_name="Sarah Lapenangga")
    seeded = await factory.passed_session([holder])
    await effects.current().issue(db, seeded.result_ids, actor="admin")
    await db.commit()
    return {
        "admin": await login("admin1"),
        "holder": await login("bendahara1"),
        "other": await login("bendahara2"),
    }


async def my_credential(client, headers) -> dict:
    r = await client.get("/api/v1/me/credentials", headers=headers)
    assert r.status_code == 200, r.text
    (only,) = r.json()
    return only


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """(type, data) of every chunk, each CRC checked: PNG (RFC 2083) read from scratch."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, out = 8, []
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert crc == zlib.crc32(kind + body) & 0xFFFFFFFF, kind
        out.append((kind, body))
        pos += 12 + length
    assert out[0][0] == b"IHDR" and out[-1][0] == b"IEND"
    return out


def itxt(body: bytes) -> dict:
    """An iTXt chunk's fields (PNG 1.2, section 4.2.3.3)."""
    keyword, rest = body.split(b"\x00", 1)
    flag, method, rest = rest[0], rest[1], rest[2:]
    language, rest = rest.split(b"\x00", 1)
    translated, text = rest.split(b"\x00", 1)
    return {
        "keyword": keyword.decode("latin-1"),
        "compression_flag": flag,
        "compression_method": method,
        "language": language,
        "translated": translated,
        "text": text.decode("utf-8"),
    }


async def resolver(client):
    controller = (await client.get("/issuer/controller")).json()
    methods = {m["id"]: m for m in controller["verificationMethod"] if m["type"] == "Multikey"}

    def resolve(method: str):
        m = methods.get(method)
        return di.public_key_from_multikey(m["publicKeyMultibase"]) if m else None

    return resolve


async def assert_verifies(client, doc: dict) -> None:
    assert schema_errors(doc, "ob_v3p0_achievementcredential_schema.json") == []
    di.verify_proof(doc, await resolver(client), loader=document_loader)
    r = await client.post("/api/v1/registry/verify", json={"credential": doc})
    assert r.status_code == 200 and r.json()["valid"] is True, r.json()["checks"]


async def test_baked_png_carries_the_credential_in_one_uncompressed_itxt_chunk(client, world) -> None:
    number = (await my_credential(client, world["holder"]))["number"]
    r = await client.get(f"/api/v1/credentials/{number}/badge.png", headers=world["holder"])
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    assert r.headers["content-disposition"].startswith("attachment")
    chunks = png_chunks(r.content)
    baked = [itxt(b) for k, b in chunks if k == b"iTXt" and b.startswith(b"openbadgecredential\x00")]
    assert len(baked) == 1  # OB 3.0: exactly one
    (chunk,) = baked
    assert chunk["compression_flag"] == 0 and chunk["compression_method"] == 0  # no compression
    assert chunk["language"] == b"" and chunk["translated"] == b""
    doc = json.loads(chunk["text"])
    assert doc["proof"][0]["cryptosuite"] == "eddsa-rdfc-2022"
    assert doc["credentialSubject"]["identifier"][0]["identityHash"] == "Yohanes Mau"
    await assert_verifies(client, doc)
    # Still an image any viewer opens: the scheme's badge.
    with Image.open(io.BytesIO(r.content)) as image:
        image.load()
        assert image.size == (400, 400)
    # An altered credential in the chunk does not verify.
    doc["credentialSubject"]["result"][0]["value"] = "100"
    with pytest.raises(di.DataIntegrityError):
        di.verify_proof(doc, await resolver(client), loader=document_loader)


async def test_baked_svg_carries_the_credential(client, world) -> None:
    number = (await my_credential(client, world["holder"]))["number"]
    r = await client.get(f"/api/v1/credentials/{number}/badge.svg", headers=world["holder"])
    assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg+xml")
    root = ElementTree.fromstring(r.content)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert b'xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0"' in r.content
    found = root.findall(f"{{{OB_NS}}}credential")
    assert len(found) == 1 and list(root)[0] is found[0]  # directly after the <svg> tag
    doc = json.loads(found[0].text or "")
    await assert_verifies(client, doc)
    also = await client.get(f"/api/v1/credentials/{number}/credential.json", headers=world["holder"])
    assert doc == also.json()


async def test_credential_jwt_downloads_and_verifies_against_the_jwks(client, world) -> None:
    number = (await my_credential(client, world["holder"]))["number"]
    detail = (await client.get(f"/api/v1/credentials/{number}", headers=world["holder"])).json()
    r = await client.get(f"/api/v1/credentials/{number}/credential.jwt", headers=world["holder"])
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/vc+jwt")
    assert r.headers["content-disposition"] == f'attachment; filename="{number}.jwt"'
    assert r.text == detail["vc_jwt"]
    key_set = KeySet.import_key_set((await client.get("/.well-known/jwks.json")).json())
    token = jose_jwt.decode(r.text, key_set, algorithms=["EdDSA"])
    assert token.header["typ"] == "vc+jwt"
    assert token.claims["sub"] == token.claims["credentialSubject"]["id"]


async def test_the_achievement_image_is_served_by_the_app(client, world) -> None:
    number = (await my_credential(client, world["holder"]))["number"]
    doc = (await client.get(f"/api/v1/credentials/{number}/credential.json", headers=world["holder"])).json()
    image = doc["credentialSubject"]["achievement"]["image"]
    assert image["type"] == "Image" and image["id"] == "https://apkd.test/api/v1/schemes/BPG/badge.png"
    r = await client.get(image["id"].removeprefix("https://apkd.test"))  # public
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    with Image.open(io.BytesIO(r.content)) as png:
        assert png.size == (400, 400)
    svg = await client.get("/api/v1/schemes/BPG/badge.svg")
    assert svg.status_code == 200
    assert ElementTree.fromstring(svg.content).findtext("{http://www.w3.org/2000/svg}title") == (
        "Bendahara Pengeluaran"
    )
    for path in ("/api/v1/schemes/XYZ/badge.png", "/api/v1/schemes/nope!/badge.svg"):
        r = await client.get(path)
        assert r.status_code == 404 and r.json()["code"] == "scheme_not_found"


async def test_linkedin_link_fills_the_certification_form(client, world, settings) -> None:
    mine = await my_credential(client, world["holder"])
    number = mine["number"]
    detail = (await client.get(f"/api/v1/credentials/{number}", headers=world["holder"])).json()
    assert detail["linkedin_url"] == mine["linkedin_url"]
    url = urlsplit(detail["linkedin_url"])
    assert (url.scheme, url.netloc, url.path) == ("https", "www.linkedin.com", "/profile/add")
    q = {k: v[0] for k, v in parse_qs(url.query, strict_parsing=True).items()}
    from datetime import datetime

    start = datetime.fromisoformat(detail["valid_from"]).astimezone(
        __import__("zoneinfo").ZoneInfo("Asia/Makassar")
    )
    end = datetime.fromisoformat(detail["valid_until"]).astimezone(start.tzinfo)
    assert q == {
        "startTask": "CERTIFICATION_NAME",
        "name": "Sertifikat Kompetensi Bendahara Pengeluaran",
        "organizationName": settings.issuer_name,
        "issueYear": str(start.year),
        "issueMonth": str(start.month),
        "expirationYear": str(end.year),
        "expirationMonth": str(end.month),
        "certUrl": f"https://apkd.test/v/{number}",
        "certId": number,
    }


def test_linkedin_link_names_the_organization_by_id_when_known() -> None:
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from apkd.credentials.sharing import linkedin_add_url

    url = linkedin_add_url(
        name="Sertifikat Kompetensi Bendahara & Kas",
        organization_name="LSP",
        organization_id="12345",
        valid_from=datetime(2026, 12, 31, 20, 0, tzinfo=UTC),  # 1 January 2027 in WITA
        valid_until=None,
        verify_url="https://apkd.test/v/X",
        number="X",
        tz=ZoneInfo("Asia/Makassar"),
    )
    q = parse_qs(urlsplit(url).query)
    assert q["organizationId"] == ["12345"] and "organizationName" not in q
    assert q["issueYear"] == ["2027"] and q["issueMonth"] == ["1"] and "expirationYear" not in q
    assert q["name"] == ["Sertifikat Kompetensi Bendahara & Kas"]


@pytest.mark.parametrize("file", ["credential.jwt", "badge.png", "badge.svg"])
async def test_downloads_are_for_the_holder_and_admins_only(client, world, file) -> None:
    number = (await my_credential(client, world["holder"]))["number"]
    url = f"/api/v1/credentials/{number}/{file}"
    assert (await client.get(url, headers=world["admin"])).status_code == 200
    r = await client.get(url, headers=world["other"])
    assert r.status_code == 403 and r.json()["code"] == "not_your_credential"
    assert (await client.get(url)).status_code == 401
    from apkd.credentials.number import format_number

    unknown = format_number("BPG", "5305", 2026, 999_999)
    r = await client.get(f"/api/v1/credentials/{unknown}/{file}", headers=world["admin"])
    assert r.status_code == 404 and r.json()["code"] == "credential_not_found"


def test_baking_replaces_an_earlier_credential_and_escapes_cdata() -> None:
    from apkd.credentials.badgeimage import badge_png, badge_svg
    from apkd.credentials.baking import bake_png, bake_svg

    twice = bake_png(bake_png(badge_png("BPG"), '{"a":1}'), '{"b":2}')
    texts = [itxt(b)["text"] for k, b in png_chunks(twice) if k == b"iTXt"]
    assert texts == ['{"b":2}']
    svg = bake_svg(badge_svg("BPG", "Bendahara"), '{"x":"]]>"}')
    (el,) = ElementTree.fromstring(svg).findall(f"{{{OB_NS}}}credential")
    assert json.loads(el.text or "") == {"x": "]]>"}
    jws = bake_svg(badge_svg("BPG", "B"), "a.b.c", jws=True)
    (el,) = ElementTree.fromstring(jws).findall(f"{{{OB_NS}}}credential")
    assert el.get("verify") == "a.b.c"


async def test_certificate_pdf_follows_the_status_and_embeds_the_signed_credential(client, world) -> None:
    """Point 8: the PDF is rendered from the current status (a new ETag when it changes) and
    carries the vc+jwt and the Data Integrity JSON as attachments that verify."""
    from pypdf import PdfReader

    number = (await my_credential(client, world["holder"]))["number"]
    url = f"/api/v1/credentials/{number}/certificate.pdf"
    first = await client.get(url, headers=world["holder"])
    assert first.status_code == 200
    reader = PdfReader(io.BytesIO(first.content))
    text = " ".join(reader.pages[0].extract_text().split())
    assert "Berlaku sejak" in text and " s.d. " in text and "DICABUT" not in text
    files = {name: contents[0] for name, contents in reader.attachments.items()}
    assert set(files) == {f"{number}.jwt", f"{number}.json"}
    key_set = KeySet.import_key_set((await client.get("/.well-known/jwks.json")).json())
    jose_jwt.decode(files[f"{number}.jwt"].decode(), key_set, algorithms=["EdDSA"])
    await assert_verifies(client, json.loads(files[f"{number}.json"]))
    etag = first.headers["ETag"]
    same = await client.get(url, headers={**world["holder"], "If-None-Match": etag})
    assert same.status_code == 304

    for action, word in (("suspend", "DIBEKUKAN"), ("reinstate", None), ("revoke", "DICABUT")):
        r = await client.post(
            f"/api/v1/credentials/{number}/{action}", json={"reason": "Pemeriksaan"}, headers=world["admin"]
        )
        assert r.status_code == 200, r.text
        after = await client.get(url, headers={**world["holder"], "If-None-Match": etag})
        if word is None:  # back to valid: the same certificate as before
            assert after.status_code == 304
            continue
        assert after.status_code == 200 and after.headers["ETag"] != etag
        assert word in " ".join(PdfReader(io.BytesIO(after.content)).pages[0].extract_text().split())
