"""The log service on a real database: appends, lookups, proofs checked by the independent
RFC 9162 verifier (tests/translog/rfc9162.py), refusals of personal data."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
from rfc9162 import indep_verify_consistency, indep_verify_inclusion, ref_mth
from sqlalchemy import text

from apkd.errors import BadRequest
from apkd.translog import checkpoints, merkle, service


def ev(i: int, type_: str = "issued", **extra: str) -> dict[str, str]:
    return {
        "type": type_,
        "number": f"APKD-BPG-5305-2026-{i:06d}-X",
        "vc_sha256": hashlib.sha256(str(i).encode()).hexdigest(),
        "time": "2026-03-01T02:00:00Z",
        **extra,
    }


async def all_leaves(db) -> list[bytes]:
    rows = (await db.execute(text("SELECT entry FROM log_entry ORDER BY idx"))).all()
    return [bytes(r[0]) for r in rows]


async def test_append_returns_consecutive_indexes_and_stores_canonical_json(db) -> None:
    assert await service.append(db, [ev(1), ev(2)]) == [0, 1]
    await db.commit()
    assert await service.append(db, [ev(3, "revoked", reason_code="fraud")]) == [2]
    assert await service.append(db, []) == []
    await db.commit()

    leaves = await all_leaves(db)
    assert len(leaves) == 3
    assert leaves[0] == json.dumps(ev(1), sort_keys=True, separators=(",", ":")).encode()
    assert b" " not in leaves[2] and json.loads(leaves[2])["reason_code"] == "fraud"
    assert await service.tree_size(db) == 3
    # the stored tree has the RFC 9162 root of exactly these leaves
    assert await service.root_at(db, 3) == ref_mth(leaves)


async def test_batches_build_the_same_tree_as_single_appends(db) -> None:
    sizes = [1, 3, 4, 1, 7, 16, 2, 9]
    for size in sizes:
        start = await service.tree_size(db)
        await service.append(db, [ev(start + k) for k in range(size)])
        await db.commit()
    leaves = await all_leaves(db)
    assert len(leaves) == sum(sizes)
    for n in range(1, len(leaves) + 1):
        assert await service.root_at(db, n) == ref_mth(leaves[:n])


async def test_find_entries_by_credential_number(db) -> None:
    await service.append(db, [ev(1), ev(2), ev(1, "suspended", reason_code="investigation")])
    await db.commit()
    found = await service.find_entries(db, "APKD-BPG-5305-2026-000001-X")
    assert [(i, e["type"]) for i, e in found] == [(0, "issued"), (2, "suspended")]
    assert await service.find_entries(db, "APKD-BPG-5305-2026-000999-X") == []


@pytest.mark.parametrize(
    "bad",
    [
        {**ev(1), "holder_name": "Yohanes Mau"},
        {**ev(1), "nip": "198503122010031001"},
        {**ev(1), "type": "renamed"},
        {**ev(1), "number": "198503122010031001"},
        {**ev(1), "vc_sha256": "xyz"},
        {**ev(1), "time": "kemarin"},
        {**ev(1), "time": "2026-03-01T02:00:00"},
        {**ev(1), "reason_code": "Dicabut karena Yohanes Mau curang"},
        {**ev(1), "number": 12},
    ],
)
async def test_events_with_personal_or_malformed_data_are_refused_and_nothing_is_written(db, bad) -> None:
    with pytest.raises(ValueError):
        await service.append(db, [ev(0), bad])
    await db.commit()
    assert await service.tree_size(db) == 0
    assert await all_leaves(db) == []


async def test_time_defaults_to_now_in_utc(db) -> None:
    event = ev(1)
    del event["time"]
    await service.append(db, [event])
    await db.commit()
    stored = json.loads((await all_leaves(db))[0])
    assert stored["time"].endswith("Z")


async def test_inclusion_and_consistency_proofs_verify_independently(db) -> None:
    await service.append(db, [ev(i) for i in range(37)])
    await db.commit()
    leaves = await all_leaves(db)
    for size in (1, 2, 5, 16, 17, 37):
        root = ref_mth(leaves[:size])
        for index in {0, size // 2, size - 1}:
            path = await service.inclusion_proof(db, index, size)
            assert indep_verify_inclusion(index, size, merkle.leaf_hash(leaves[index]), path, root)
            assert not indep_verify_inclusion(index, size, merkle.leaf_hash(b"forged"), path, root)
        for first in {1, size // 3 or 1, size - 1 or 1, size}:
            path = await service.consistency_proof(db, first, size)
            assert indep_verify_consistency(first, size, ref_mth(leaves[:first]), root, path)


@pytest.mark.parametrize(
    ("call", "args", "code"),
    [
        ("inclusion_proof", (5, 5), "index_out_of_range"),
        ("inclusion_proof", (0, 11), "tree_size_too_large"),
        ("inclusion_proof", (10, 11), "tree_size_too_large"),
        ("consistency_proof", (3, 2), "first_after_second"),
        ("consistency_proof", (3, 11), "tree_size_too_large"),
        ("consistency_proof", (11, 11), "tree_size_too_large"),
        ("consistency_proof", (0, 11), "first_not_positive"),
        ("consistency_proof", (0, 5), "first_not_positive"),
    ],
)
async def test_bad_proof_requests_are_client_errors(db, call, args, code) -> None:
    await service.append(db, [ev(i) for i in range(10)])
    await db.commit()
    with pytest.raises(BadRequest) as err:
        await getattr(service, call)(db, *args)
    assert err.value.code == code


async def test_checkpoint_is_signed_stable_and_follows_the_tree(db, settings) -> None:
    from apkd.signing.keys import public_key_from_jwk

    empty = await checkpoints.current_checkpoint(db, settings)
    assert empty.tree_size == 0
    assert base64.b64decode(empty.root_hash) == hashlib.sha256(b"").digest()

    await service.append(db, [ev(i) for i in range(5)])
    await db.commit()
    cp = await checkpoints.current_checkpoint(db, settings)
    again = await checkpoints.current_checkpoint(db, settings)
    assert cp == again  # stable while the size is unchanged
    assert cp.tree_size == 5 and base64.b64decode(cp.root_hash) == ref_mth(await all_leaves(db))
    jwk = await checkpoints.current_log_key(db, settings)
    assert jwk["kid"] == cp.key_id == empty.key_id
    public_key_from_jwk(jwk).verify(
        base64.b64decode(cp.signature), merkle.checkpoint_message(cp.tree_size, cp.root_hash, cp.timestamp)
    )
    # the private key is stored encrypted, never as the raw key
    row = (await db.execute(text("SELECT private_key_enc, purpose FROM signing_key"))).one()
    assert row[1] == "log" and len(bytes(row[0])) == 61


async def test_append_belongs_to_the_callers_transaction(db) -> None:
    await service.append(db, [ev(1), ev(2)])
    await db.rollback()  # the caller's work failed: nothing of it is in the log
    assert await service.tree_size(db) == 0
    assert await service.append(db, [ev(3)]) == [0]
    await db.commit()
    assert [json.loads(leaf)["number"] for leaf in await all_leaves(db)] == [ev(3)["number"]]


async def test_one_batch_stores_the_same_nodes_and_proofs_as_one_by_one_appends(db) -> None:
    """A large batch that starts mid-tree (after 13 leaves) against the same events appended
    one by one through merkle.nodes_completed_by_append: the same log_node rows, and proofs
    from the stored tree verify with the independent verifier."""
    await service.append(db, [ev(i) for i in range(13)])
    await db.commit()
    assert await service.append(db, [ev(i) for i in range(13, 13 + 600)]) == list(range(13, 613))
    await db.commit()

    leaves = await all_leaves(db)
    assert leaves == [service.canonical_bytes(ev(i)) for i in range(613)]
    expected: dict[tuple[int, int], bytes] = {}
    for i, leaf in enumerate(leaves):
        expected.update(
            ((lv, ix), h)
            for lv, ix, h in merkle.nodes_completed_by_append(
                i, merkle.leaf_hash(leaf), lambda lv, ix: expected[(lv, ix)]
            )
        )
    rows = (await db.execute(text("SELECT level, idx, hash FROM log_node"))).all()
    assert {(int(r[0]), int(r[1])): bytes(r[2]) for r in rows} == expected
    assert len(rows) == len(expected)
    for size in (14, 64, 100, 613):
        root = ref_mth(leaves[:size])
        assert await service.root_at(db, size) == root
        for index in {0, 12, 13, size // 2, size - 1}:
            path = await service.inclusion_proof(db, index, size)
            assert indep_verify_inclusion(index, size, merkle.leaf_hash(leaves[index]), path, root)
        for first in {1, 13, size}:
            path = await service.consistency_proof(db, first, size)
            assert indep_verify_consistency(first, size, ref_mth(leaves[:first]), root, path)


def test_batch_validation_checks_every_event() -> None:
    """validate_events parses a shared time text once, but still refuses any bad event."""
    good = [ev(1), ev(2), ev(3, "revoked", reason_code="fraud")]
    assert service.validate_events(good) == [service.validate_event(e) for e in good]
    for bad in (
        {**ev(4), "time": "2026-03-01T02:00:00"},  # no offset
        {**ev(4), "time": "yesterday"},
        {**ev(4), "nip": "198503122010101001"},
        {**ev(4), "number": "198503122010101001"},
        {**ev(4), "vc_sha256": "XYZ"},
        {**ev(4), "type": "deleted"},
        {**ev(4), "kid": 7},
    ):
        with pytest.raises(ValueError):
            service.validate_events([*good, bad])
