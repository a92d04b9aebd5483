"""`apkd log verify`: an auditor catches an altered entry, a rewritten or shrunk history, a
forged checkpoint and a swapped log key; an honest, growing log passes."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from pathlib import Path

import click
import httpx
from click.testing import CliRunner
from rfc9162 import ref_mth
from sqlalchemy import text

from apkd.translog import audit_client, commands, service
from apkd.translog.audit_client import audit_log

URL = "http://testserver.local"


def ev(i: int, type_: str = "issued", salt: str = "") -> dict[str, str]:
    return {
        "type": type_,
        "number": f"APKD-BPG-5305-2026-{i:06d}-X",
        "vc_sha256": hashlib.sha256(f"{salt}{i}".encode()).hexdigest(),
        "time": "2026-03-01T02:00:00Z",
    }


async def fill(db, count: int, start: int = 0, salt: str = "") -> None:
    await service.append(db, [ev(start + i, salt=salt) for i in range(count)])
    await db.commit()


async def wipe_log(db) -> None:
    for table in ("log_checkpoint", "log_node", "log_entry", "log_head"):
        await db.execute(text(f"DELETE FROM {table}"))
    await db.commit()


def failed(report) -> list[str]:
    return [c.name for c in report.checks if not c.ok]


async def test_honest_growing_log_passes_and_state_advances(client, db, tmp_path) -> None:
    state = tmp_path / "state.json"
    await fill(db, 6)
    first = await audit_log(URL, state_path=state, numbers=[ev(2)["number"]], client=client)
    assert first.ok, first.lines()
    assert first.state_saved and json.loads(state.read_text())["tree_size"] == 6
    assert any("menjadi acuan" in c.detail for c in first.checks)

    await fill(db, 11, start=6)
    await service.append(db, [ev(2, "revoked")])
    await db.commit()
    second = await audit_log(
        URL, state_path=state, numbers=[ev(2)["number"], ev(15)["number"]], client=client
    )
    assert second.ok, second.lines()
    assert [c.name for c in second.checks].count(f"inclusion:{ev(2)['number']}") == 2  # issued + revoked
    assert any("Konsistensi terbukti" in c.detail and "6" in c.detail for c in second.checks)
    assert json.loads(state.read_text())["tree_size"] == 18
    assert second.lines()[-1] == "Hasil: log transparansi TERVERIFIKASI."


async def test_an_altered_stored_entry_is_caught(client, db, tmp_path) -> None:
    state = tmp_path / "state.json"
    await fill(db, 8)
    number = ev(3)["number"]
    assert (await audit_log(URL, state_path=state, numbers=[number], client=client)).ok

    # Someone with database access quietly rewrites entry 3 (a revocation made to look like an issue).
    forged = service.canonical_bytes({**ev(3), "vc_sha256": "0" * 64})
    await db.execute(text("UPDATE log_entry SET entry = :e WHERE idx = 3"), {"e": forged})
    await db.commit()

    report = await audit_log(URL, state_path=state, numbers=[number], client=client)
    assert not report.ok
    assert failed(report) == [f"inclusion:{number}"]
    assert "GAGAL" in report.lines()[-1]
    # ... and the published entries no longer hash to the signed root
    cp = (await client.get("/api/v1/log/checkpoint")).json()
    page = (await client.get("/api/v1/log/entries", params={"start": 0, "end": 8})).json()["entries"]
    assert ref_mth([base64.b64decode(e["entry"]) for e in page]) != base64.b64decode(cp["root_hash"])


async def test_a_rewritten_history_fails_the_consistency_check(client, db, tmp_path) -> None:
    state = tmp_path / "state.json"
    await fill(db, 6)
    assert (await audit_log(URL, state_path=state, client=client)).ok
    saved = state.read_text()

    # The operator rebuilds the tree with a different past (entry 2 changed), signs it with the
    # same, genuine log key, and grows it past the size the auditor saw.
    await wipe_log(db)
    await fill(db, 2)
    await fill(db, 1, start=2, salt="rewritten")
    await fill(db, 6, start=3)

    report = await audit_log(URL, state_path=state, client=client)
    assert not report.ok
    assert failed(report) == ["consistency"]  # the signature itself is valid
    assert "checkpoint_signature" in [c.name for c in report.checks]
    assert state.read_text() == saved  # the alarm is not overwritten by this run
    again = await audit_log(URL, state_path=state, client=client)
    assert failed(again) == ["consistency"]


async def test_a_shrunk_log_fails(client, db, tmp_path) -> None:
    state = tmp_path / "state.json"
    await fill(db, 9)
    assert (await audit_log(URL, state_path=state, client=client)).ok
    await wipe_log(db)
    await fill(db, 4)
    report = await audit_log(URL, state_path=state, client=client)
    assert failed(report) == ["consistency"]
    assert "MENYUSUT" in report.checks[-1].detail


async def test_a_forged_checkpoint_fails_the_signature_check(client, db, tmp_path) -> None:
    await fill(db, 5)
    await client.get("/api/v1/log/checkpoint")
    other = base64.b64encode(hashlib.sha256(b"other").digest()).decode()
    await db.execute(text("UPDATE log_checkpoint SET root_hash = :r"), {"r": other})
    await db.commit()
    report = await audit_log(URL, state_path=tmp_path / "s.json", client=client)
    assert failed(report) == ["checkpoint_signature"]
    assert not report.state_saved


async def test_a_swapped_log_key_is_flagged(client, db, tmp_path) -> None:
    state = tmp_path / "state.json"
    await fill(db, 3)
    assert (await audit_log(URL, state_path=state, client=client)).ok
    await db.execute(text("UPDATE signing_key SET status = 'retired' WHERE purpose = 'log'"))
    await db.execute(text("DELETE FROM log_checkpoint"))
    await db.commit()
    report = await audit_log(URL, state_path=state, client=client)
    assert failed(report) == ["log_key_pinned"]
    assert not report.state_saved


async def test_unknown_number_and_unreachable_log_fail_closed(client, db, tmp_path) -> None:
    await fill(db, 2)
    report = await audit_log(
        URL, state_path=tmp_path / "s.json", numbers=["APKD-BPG-5305-2026-999999-Z"], client=client
    )
    assert failed(report) == ["inclusion:APKD-BPG-5305-2026-999999-Z"]

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    down = await audit_log(URL, state_path=tmp_path / "d.json", transport=httpx.MockTransport(refuse))
    assert not down.ok and failed(down) == ["log_key"]
    assert not (tmp_path / "d.json").exists()


class ForwardTransport(httpx.AsyncBaseTransport):
    """Forwards requests made on another thread's event loop to the test client's loop."""

    def __init__(self, client, loop: asyncio.AbstractEventLoop) -> None:
        self.client, self.loop = client, loop

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        coro = self.client.request(request.method, request.url.raw_path.decode(), headers=request.headers)
        resp = await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self.loop))
        return httpx.Response(resp.status_code, headers=resp.headers, content=resp.content)


async def test_cli_prints_checks_in_indonesian_and_exits_0_or_1(client, db, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(audit_client, "TRANSPORT", ForwardTransport(client, asyncio.get_running_loop()))
    group = click.Group("apkd")
    commands.register(group)
    state = tmp_path / "cli-state.json"
    await fill(db, 5)
    number = ev(1)["number"]

    def run():
        args = ["log", "verify", URL, "--state", str(state), "--number", number]
        return CliRunner().invoke(group, args)

    ok = await asyncio.to_thread(run)
    assert ok.exit_code == 0, ok.output
    assert "[OK] Tanda tangan checkpoint sah" in ok.output
    assert f"[OK] Entri #1 (issued) nomor {number} terbukti tercatat di log." in ok.output
    assert Path(state).exists()

    await db.execute(
        text("UPDATE log_entry SET entry = :e WHERE idx = 1"),
        {"e": service.canonical_bytes({**ev(1), "type": "reinstated"})},
    )
    await db.commit()
    bad = await asyncio.to_thread(run)
    assert bad.exit_code == 1
    assert "[GAGAL] Bukti inklusi entri #1" in bad.output
