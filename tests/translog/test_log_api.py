"""The public transparency-log API, checked from the outside: signatures with the published
key, proofs with the independent RFC 9162 verifier (tests/translog/rfc9162.py)."""

from __future__ import annotations

import base64
import hashlib

import pytest
from rfc9162 import indep_verify_consistency, indep_verify_inclusion, ref_mth

from apkd.signing.keys import public_key_from_jwk, thumbprint
from apkd.translog import merkle, service


def ev(i: int, type_: str = "issued") -> dict[str, str]:
    return {
        "type": type_,
        "number": f"APKD-BPG-5305-2026-{i:06d}-X",
        "vc_sha256": hashlib.sha256(str(i).encode()).hexdigest(),
        "time": "2026-03-01T02:00:00Z",
    }


async def fill(db, count: int, start: int = 0) -> None:
    await service.append(db, [ev(start + i) for i in range(count)])
    await db.commit()


async def leaves_via_api(client, size: int) -> list[bytes]:
    out: list[bytes] = []
    while len(out) < size:
        r = await client.get("/api/v1/log/entries", params={"start": len(out), "end": size})
        assert r.status_code == 200
        page = r.json()["entries"]
        assert page, "the log returned an empty page before its end"
        out.extend(base64.b64decode(e["entry"]) for e in page)
    return out


async def test_checkpoint_is_signed_by_the_published_log_key(client, db) -> None:
    await fill(db, 13)
    r = await client.get("/api/v1/log/checkpoint")
    assert r.status_code == 200
    cp = r.json()
    assert set(cp) >= {"tree_size", "root_hash", "timestamp", "signature", "key_id"}
    assert cp["tree_size"] == 13 and isinstance(cp["timestamp"], int) and cp["timestamp"] > 1.7e12
    root = base64.b64decode(cp["root_hash"], validate=True)
    assert root == ref_mth(await leaves_via_api(client, 13))

    jwk = (await client.get("/api/v1/log/key")).json()
    assert jwk["kty"] == "OKP" and jwk["crv"] == "Ed25519" and "d" not in jwk
    assert jwk["kid"] == thumbprint(jwk) == cp["key_id"]
    message = f"apkd-log\n{cp['tree_size']}\n{cp['root_hash']}\n{cp['timestamp']}\n".encode()
    public_key_from_jwk(jwk).verify(base64.b64decode(cp["signature"], validate=True), message)


async def test_checkpoint_is_stable_and_cacheable_until_the_log_grows(client, db) -> None:
    await fill(db, 3)
    first = await client.get("/api/v1/log/checkpoint")
    etag = first.headers["etag"]
    assert "max-age" in first.headers["cache-control"]
    again = await client.get("/api/v1/log/checkpoint")
    assert again.json() == first.json() and again.headers["etag"] == etag
    not_modified = await client.get("/api/v1/log/checkpoint", headers={"If-None-Match": etag})
    assert not_modified.status_code == 304

    await fill(db, 2, start=3)
    grown = await client.get("/api/v1/log/checkpoint", headers={"If-None-Match": etag})
    assert grown.status_code == 200 and grown.json()["tree_size"] == 5
    assert grown.headers["etag"] != etag


async def test_empty_log_has_the_empty_root(client) -> None:
    cp = (await client.get("/api/v1/log/checkpoint")).json()
    assert cp["tree_size"] == 0
    assert base64.b64decode(cp["root_hash"]) == hashlib.sha256(b"").digest()
    assert (await client.get("/api/v1/log/entries", params={"start": 0})).json() == {"entries": []}


async def test_entries_are_exact_leaves_end_exclusive_and_paged(client, db) -> None:
    await fill(db, 1005)
    r = await client.get("/api/v1/log/entries", params={"start": 3, "end": 6})
    got = r.json()["entries"]
    assert [e["index"] for e in got] == [3, 4, 5]
    assert got[0]["event"] == ev(3)
    assert base64.b64decode(got[0]["entry"]) == service.canonical_bytes(ev(3))
    assert "immutable" in r.headers["cache-control"]

    big = (await client.get("/api/v1/log/entries", params={"start": 0, "end": 5000})).json()["entries"]
    assert len(big) == service.MAX_PAGE and big[-1]["index"] == service.MAX_PAGE - 1
    tail = await client.get("/api/v1/log/entries", params={"start": 1000, "end": 2000})
    assert [e["index"] for e in tail.json()["entries"]] == [1000, 1001, 1002, 1003, 1004]
    assert "immutable" not in tail.headers["cache-control"]  # the page may still fill up


async def test_lookup_by_credential_number(client, db) -> None:
    await fill(db, 4)
    await service.append(db, [ev(2, "revoked")])
    await db.commit()
    r = await client.get("/api/v1/log/lookup", params={"number": ev(2)["number"]})
    assert r.status_code == 200
    assert [(e["index"], e["event"]["type"]) for e in r.json()["entries"]] == [(2, "issued"), (4, "revoked")]
    r = await client.get("/api/v1/log/lookup", params={"number": "Yohanes Mau"})
    assert r.status_code == 400 and r.json()["code"] == "invalid_number"


async def test_proofs_over_http_verify_against_the_signed_root(client, db) -> None:
    await fill(db, 21)
    old_root = ref_mth([service.canonical_bytes(ev(i)) for i in range(8)])
    await fill(db, 9, start=21)
    cp = (await client.get("/api/v1/log/checkpoint")).json()
    n, root = cp["tree_size"], base64.b64decode(cp["root_hash"])
    leaves = await leaves_via_api(client, n)
    for index in (0, 7, 20, 29):
        r = await client.get("/api/v1/log/proof/inclusion", params={"index": index, "tree_size": n})
        assert r.status_code == 200
        body = r.json()
        assert body["index"] == index and body["tree_size"] == n
        path = [base64.b64decode(p, validate=True) for p in body["path"]]
        assert indep_verify_inclusion(index, n, merkle.leaf_hash(leaves[index]), path, root)

    r = await client.get("/api/v1/log/proof/consistency", params={"first": 8, "second": n})
    body = r.json()
    assert body["first"] == 8 and body["second"] == n
    path = [base64.b64decode(p) for p in body["path"]]
    assert indep_verify_consistency(8, n, old_root, root, path)
    # a different past does not verify against the same proof
    assert not indep_verify_consistency(8, n, ref_mth(leaves[1:9]), root, path)


@pytest.mark.parametrize(
    ("url", "params", "code"),
    [
        ("/api/v1/log/proof/inclusion", {"index": 10, "tree_size": 10}, "index_out_of_range"),
        ("/api/v1/log/proof/inclusion", {"index": 0, "tree_size": 11}, "tree_size_too_large"),
        ("/api/v1/log/proof/inclusion", {"index": "a", "tree_size": 5}, "invalid_index"),
        ("/api/v1/log/proof/inclusion", {"index": -1, "tree_size": 5}, "invalid_index"),
        ("/api/v1/log/proof/inclusion", {"index": 1, "tree_size": "1e3"}, "invalid_tree_size"),
        ("/api/v1/log/proof/inclusion", {"index": 1}, "invalid_tree_size"),
        ("/api/v1/log/proof/inclusion", {"index": 1, "tree_size": 10**30}, "invalid_tree_size"),
        ("/api/v1/log/proof/consistency", {"first": 6, "second": 5}, "first_after_second"),
        ("/api/v1/log/proof/consistency", {"first": 5, "second": 12}, "tree_size_too_large"),
        ("/api/v1/log/proof/consistency", {"first": 0, "second": 11}, "first_not_positive"),
        ("/api/v1/log/proof/consistency", {"first": 0, "second": 5}, "first_not_positive"),
        ("/api/v1/log/proof/consistency", {"first": "x", "second": 5}, "invalid_first"),
        ("/api/v1/log/proof/consistency", {"first": 1, "second": ""}, "invalid_second"),
        ("/api/v1/log/entries", {"start": -3, "end": 5}, "invalid_start"),
        ("/api/v1/log/entries", {"start": 5, "end": 2}, "invalid_range"),
        ("/api/v1/log/entries", {"start": 0, "end": "z"}, "invalid_end"),
    ],
)
async def test_bad_parameters_are_400_problems_with_a_code(client, db, url, params, code) -> None:
    await fill(db, 10)
    r = await client.get(url, params=params)
    assert r.status_code == 400, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == code


async def test_edge_proofs(client, db) -> None:
    await fill(db, 4)
    r = await client.get("/api/v1/log/proof/consistency", params={"first": 4, "second": 4})
    assert r.status_code == 200 and r.json()["path"] == []
    r = await client.get("/api/v1/log/proof/consistency", params={"first": 0, "second": 4})
    assert r.status_code == 400 and r.json()["code"] == "first_not_positive"  # RFC 9162: 0 < first
    r = await client.get("/api/v1/log/proof/inclusion", params={"index": 0, "tree_size": 1})
    assert r.status_code == 200 and r.json()["path"] == []
