"""Witness cosignatures (C2SP tlog-cosignature): a witness written here from the C2SP text (and
nothing of apkd's cosignature code) cosigns the log's checkpoint note; the log takes it only
from the witnesses it was told of, serves it with the note, and `apkd log verify --witness-key`
checks it, failing on a forged or missing cosignature."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import struct
import time

import click
import httpx
import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from test_checkpoint_note import ORIGIN, log_key_bytes, open_note
from test_log_api import fill

from apkd.app import create_app
from apkd.config import ConfigError
from apkd.translog import audit_client, commands
from apkd.translog.audit_client import audit_log

URL = "http://testserver.local"


class Witness:
    """A cosigner per C2SP tlog-cosignature, Ed25519 cosignature/v1."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.key = Ed25519PrivateKey.generate()
        self.public = self.key.public_key().public_bytes_raw()

    @property
    def key_id(self) -> bytes:
        # SHA-256(<name> || "\n" || 0x04 || 32-byte Ed25519 cosigner public key)[:4]
        return hashlib.sha256(self.name.encode() + b"\n" + b"\x04" + self.public).digest()[:4]

    @property
    def vkey(self) -> str:
        # a signed-note verifier key: name+hex(key ID)+base64(type || key)
        key = base64.b64encode(b"\x04" + self.public).decode()
        return f"{self.name}+{self.key_id.hex()}+{key}"

    def cosign(self, note: str, timestamp: int | None = None) -> str:
        """The note with this witness's signature line appended."""
        body = note[: note.rfind("\n\n") + 1]
        ts = int(time.time()) if timestamp is None else timestamp
        message = f"cosignature/v1\ntime {ts}\n".encode() + body.encode()
        blob = self.key_id + struct.pack(">Q", ts) + self.key.sign(message)
        return f"{note}\u2014 {self.name} {base64.b64encode(blob).decode()}\n"


def check_cosignature(note: str, name: str, public: bytes) -> int:
    """Verify `name`'s cosignature in `note` independently; its timestamp."""
    body, sigs = note[: note.rfind("\n\n") + 1], note[note.rfind("\n\n") + 2 :]
    key_id = hashlib.sha256(name.encode() + b"\n\x04" + public).digest()[:4]
    for line in sigs.splitlines():
        sig_name, _, b64 = line[2:].partition(" ")
        blob = base64.b64decode(b64)
        if sig_name == name and blob[:4] == key_id:
            (ts,) = struct.unpack(">Q", blob[4:12])
            Ed25519PublicKey.from_public_bytes(public).verify(
                blob[12:], f"cosignature/v1\ntime {ts}\n".encode() + body.encode()
            )
            return ts
    raise AssertionError(f"no cosignature of {name}")


@pytest.fixture
def witnesses() -> tuple[Witness, Witness]:
    return Witness("witness.example.org/w1"), Witness("saksi.bpk.go.id")


@pytest.fixture
async def wclient(settings, clean, witnesses):
    app = create_app(dataclasses.replace(settings, log_witnesses=tuple(w.vkey for w in witnesses)))
    async with AsyncTestClient(app=app) as c:
        yield c


async def note_of(client) -> str:
    r = await client.get("/api/v1/log/checkpoint.note")
    assert r.status_code == 200
    return r.text


async def post(client, body: str):
    return await client.post(
        "/api/v1/log/cosignatures", content=body.encode(), headers={"Content-Type": "text/plain"}
    )


async def test_cosignatures_are_taken_served_and_verify_independently(wclient, db, witnesses) -> None:
    w1, w2 = witnesses
    await fill(db, 5)
    note = await note_of(wclient)
    r = await post(wclient, w1.cosign(note))
    assert r.status_code == 200, r.text
    assert r.json() == {"tree_size": 5, "witnesses": [w1.name]}
    r = await post(wclient, w2.cosign(note))
    assert r.status_code == 200 and r.json()["witnesses"] == [w2.name]

    served = await note_of(wclient)
    assert served.startswith(note)  # the log's own note, then the cosignature lines
    assert check_cosignature(served, w1.name, w1.public) > 0
    assert check_cosignature(served, w2.name, w2.public) > 0
    open_note(served.encode(), ORIGIN, await log_key_bytes(wclient))  # still a valid note of the log

    # the JSON checkpoint is unchanged by it, and a grown log serves a note not yet witnessed
    await fill(db, 2, start=5)
    grown = await note_of(wclient)
    assert "\n7\n" in grown and w1.name not in grown


async def test_a_newer_cosignature_replaces_the_older(wclient, db, witnesses) -> None:
    w1, _ = witnesses
    await fill(db, 3)
    note = await note_of(wclient)
    now = int(time.time())
    assert (await post(wclient, w1.cosign(note, now - 100))).status_code == 200
    assert (await post(wclient, w1.cosign(note, now))).status_code == 200
    assert (await post(wclient, w1.cosign(note, now - 50))).status_code == 200  # older: kept out
    served = await note_of(wclient)
    assert served.count(w1.name) == 1
    assert check_cosignature(served, w1.name, w1.public) == now


async def test_what_the_log_refuses(wclient, db, witnesses) -> None:
    w1, _ = witnesses
    await fill(db, 4)
    note = await note_of(wclient)

    stranger = Witness("unknown.example/w")
    r = await post(wclient, stranger.cosign(note))
    assert r.status_code == 422 and r.json()["code"] == "cosignature_refused"

    impostor = Witness(w1.name)  # the right name, another key: its key ID differs, so unknown
    assert (await post(wclient, impostor.cosign(note))).json()["code"] == "cosignature_refused"

    # a line with w1's name and key ID whose signature is over another body
    other = note.replace("\n4\n", "\n3\n")
    forged = w1.cosign(other).splitlines()[-1]
    r = await post(wclient, f"{note}{forged}\n")
    assert r.status_code == 422 and r.json()["code"] == "cosignature_invalid"

    future = w1.cosign(note, int(time.time()) + 3600)
    assert (await post(wclient, future)).json()["code"] == "cosignature_invalid"

    # a checkpoint this log never signed: another size, another root, another log
    r = await post(wclient, w1.cosign(other))
    assert r.status_code == 409 and r.json()["code"] == "checkpoint_unknown"
    lines = note.split("\n")
    wrong_root = note.replace(lines[2], base64.b64encode(b"\x00" * 32).decode())
    assert (await post(wclient, w1.cosign(wrong_root))).json()["code"] == "checkpoint_unknown"
    assert (await post(wclient, w1.cosign(note.replace(ORIGIN, "evil.example/log")))).status_code == 409

    for garbage in ("", "no blank line\n", "a\nb\n\nnot a signature\n", "x\n\n\u2014 n ***\n"):
        r = await post(wclient, garbage)
        assert r.status_code == 400 and r.json()["code"] == "invalid_note", garbage
    r = await post(wclient, note + "\u2014 " + "w" * 20_000 + "\n")
    assert r.status_code == 413
    assert w1.name not in await note_of(wclient)  # nothing refused was stored


async def test_a_log_without_witnesses_takes_none(client, db, witnesses) -> None:
    await fill(db, 2)
    note = await note_of(client)
    r = await post(client, witnesses[0].cosign(note))
    assert r.status_code == 422 and r.json()["code"] == "cosignature_refused"


def test_a_bad_witness_key_stops_the_start(settings) -> None:
    with pytest.raises(ConfigError, match="APKD_LOG_WITNESSES"):
        create_app(dataclasses.replace(settings, log_witnesses=("saksi+00000000+AAAA",)))
    w = Witness("w.example")
    wrong_hash = w.vkey.replace(w.key_id.hex(), "00000000")
    with pytest.raises(ConfigError, match="hash"):
        create_app(dataclasses.replace(settings, log_witnesses=(wrong_hash,)))


def failed(report) -> list[str]:
    return [c.name for c in report.checks if not c.ok]


async def test_audit_with_witness_keys(wclient, db, witnesses, tmp_path) -> None:
    w1, w2 = witnesses
    await fill(db, 6)
    note = await note_of(wclient)
    await post(wclient, w1.cosign(note))
    keys = [audit_client.cosign.parse_witness_key(w.vkey) for w in witnesses]

    # both required, one has cosigned: fails (and the state is not saved)
    report = await audit_log(URL, state_path=tmp_path / "a.json", client=wclient, witnesses=keys)
    assert not report.ok and failed(report) == ["witness_quorum"], report.lines()
    assert not report.state_saved
    assert any("[INFO]" in line and w2.name in line for line in report.lines())

    # a quorum of one: passes
    report = await audit_log(URL, state_path=tmp_path / "b.json", client=wclient, witnesses=keys, quorum=1)
    assert report.ok, report.lines()

    # both cosign: passes with both; then the log grows and the note is not yet witnessed
    await post(wclient, w2.cosign(note))
    report = await audit_log(URL, state_path=tmp_path / "c.json", client=wclient, witnesses=keys)
    assert report.ok and report.state_saved, report.lines()
    await fill(db, 1, start=6)
    report = await audit_log(URL, state_path=tmp_path / "c.json", client=wclient, witnesses=keys)
    assert failed(report) == ["witness_quorum"], report.lines()


async def test_audit_catches_a_forged_cosignature(wclient, db, witnesses, tmp_path) -> None:
    w1, _ = witnesses
    await fill(db, 3)
    await post(wclient, w1.cosign(await note_of(wclient)))
    # the served line keeps w1's name and key ID but its signature is altered (as a log that
    # made up a witness's statement would have to)
    await db.execute(
        text("UPDATE log_cosignature SET line = :line"),
        {"line": _tamper((await note_of(wclient)).splitlines()[-1])},
    )
    await db.commit()
    key = audit_client.cosign.parse_witness_key(w1.vkey)
    report = await audit_log(URL, state_path=tmp_path / "s.json", client=wclient, witnesses=[key])
    assert f"witness:{w1.name}" in failed(report) and "TIDAK SAH" in "\n".join(report.lines())


def _tamper(line: str) -> str:
    name, b64 = line[2:].split(" ")
    blob = bytearray(base64.b64decode(b64))
    blob[-1] ^= 0x01
    return f"\u2014 {name} {base64.b64encode(bytes(blob)).decode()}"


def test_cli_refuses_bad_witness_options(tmp_path) -> None:
    import click

    group = click.Group()
    commands.register(group)
    runner = CliRunner()
    r = runner.invoke(group, ["log", "verify", URL, "--witness-key", "not-a-vkey"])
    assert r.exit_code == 2 and "--witness-key" in r.output
    w = Witness("w.example")
    r = runner.invoke(group, ["log", "verify", URL, "--witness-key", w.vkey, "--witness-quorum", "2"])
    assert r.exit_code == 2 and "--witness-quorum" in r.output


# --- the log asks witnesses itself (C2SP tlog-witness add-checkpoint) --------------------------


class WitnessServer:
    """A witness's add-checkpoint per C2SP tlog-witness, as an httpx transport: it trusts the
    log's key for the log's origin, keeps the last size and root it cosigned, and checks the
    consistency proof with the RFC 9162 code written in these tests."""

    def __init__(self, witness: Witness, origin: str, log_key: bytes) -> None:
        self.witness, self.origin, self.log_key = witness, origin, log_key
        self.size, self.root = 0, b""
        self.requests: list[str] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        from rfc9162 import indep_verify_consistency

        body = request.content.decode()
        self.requests.append(body)
        head, _, note = body.partition("\n\n")
        first, *proof_lines = head.split("\n")
        old = int(first.removeprefix("old "))
        text, _, sigs = note.partition("\n\n")
        origin, size_text, root_b64 = text.split("\n")
        if origin != self.origin:
            return httpx.Response(404)
        key_id = hashlib.sha256(origin.encode() + b"\n\x01" + self.log_key).digest()[:4]
        signed = False
        for line in sigs.splitlines():
            name, _, b64 = line[2:].partition(" ")
            blob = base64.b64decode(b64)
            if name == origin and blob[:4] == key_id:
                Ed25519PublicKey.from_public_bytes(self.log_key).verify(blob[4:], (text + "\n").encode())
                signed = True
        if not signed:
            return httpx.Response(403)
        size, root = int(size_text), base64.b64decode(root_b64)
        if old > size:
            return httpx.Response(400)
        if old != self.size:
            return httpx.Response(409, text=f"{self.size}\n", headers={"Content-Type": "text/x.tlog.size"})
        proof = [base64.b64decode(p) for p in proof_lines]
        if old == size and (proof or root != self.root):
            return httpx.Response(422)
        if 0 < old < size and not indep_verify_consistency(old, size, self.root, root, proof):
            return httpx.Response(422)
        self.size, self.root = size, root
        line = self.witness.cosign(text + "\n\n").splitlines()[-1]
        return httpx.Response(200, text=line + "\n")


async def test_witness_push_asks_the_witness_with_a_consistency_proof(
    settings, wclient, db, witnesses
) -> None:
    from apkd.translog.feeder import feed_witness

    w1, _ = witnesses
    wsettings = dataclasses.replace(settings, log_witnesses=tuple(w.vkey for w in witnesses))
    server = WitnessServer(w1, ORIGIN, await log_key_bytes(wclient))
    http = httpx.AsyncClient(transport=httpx.MockTransport(server.handle))
    await fill(db, 5)
    done = await feed_witness(db, wsettings, "https://w1.example/", client=http)
    await db.commit()
    assert done.ok and done.witnesses == (w1.name,), done.detail
    assert server.requests[0].startswith("old 0\n\n") and server.size == 5
    assert check_cosignature(await note_of(wclient), w1.name, w1.public) > 0

    # the log grows: the witness answers 409 with its size, and gets the proof from 5 to 12
    await fill(db, 7, start=5)
    done = await feed_witness(db, wsettings, "https://w1.example", client=http)
    await db.commit()
    assert done.ok, done.detail
    assert server.requests[-1].startswith("old 5\n") and server.requests[-1].count("=\n") >= 1
    assert server.size == 12 and "\n12\n" in await note_of(wclient)
    assert check_cosignature(await note_of(wclient), w1.name, w1.public) > 0

    # a witness that saw a bigger tree of this log raises the alarm; one the log does not know
    # of has its cosignature refused
    server.size = 99
    done = await feed_witness(db, wsettings, "https://w1.example", client=http)
    await db.commit()
    assert not done.ok and "99" in done.detail
    stranger = WitnessServer(Witness("lain.example/w"), ORIGIN, await log_key_bytes(wclient))
    other = httpx.AsyncClient(transport=httpx.MockTransport(stranger.handle))
    done = await feed_witness(db, wsettings, "https://lain.example", client=other)
    await db.commit()
    assert not done.ok and "ditolak" in done.detail


def test_cli_witness_push_refuses_a_bad_url() -> None:
    import click

    group = click.Group()
    commands.register(group)
    r = CliRunner().invoke(group, ["log", "witness-push", "--witness", "ftp://w.example"])
    assert r.exit_code == 1 and "http://" in r.output


async def test_cli_witness_push_stores_the_cosignature(
    settings, wclient, db, witnesses, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    from apkd.config import get_settings

    w1, w2 = witnesses
    await fill(db, 4)
    servers = {
        "w1.example": WitnessServer(w1, ORIGIN, await log_key_bytes(wclient)),
        "w2.example": WitnessServer(w2, ORIGIN, await log_key_bytes(wclient)),
    }
    monkeypatch.setattr(
        commands,
        "TRANSPORT",
        httpx.MockTransport(lambda request: servers[request.url.host].handle(request)),
    )
    env = {
        "APKD_ENV": "test",
        "APKD_DATABASE_URL": settings.database_url,
        "APKD_SECRET_KEY": settings.secret_key,
        "APKD_VAR_DIR": str(settings.var_dir),
        "APKD_BASE_URL": settings.base_url,
        "APKD_LOG_WITNESSES": ",".join(w.vkey for w in witnesses),
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    get_settings.cache_clear()
    try:
        group = click.Group()
        commands.register(group)
        args = ["log", "witness-push", "--witness", "https://w1.example", "--witness", "https://w2.example/"]
        r = await asyncio.to_thread(CliRunner().invoke, group, args)
    finally:
        get_settings.cache_clear()
    assert r.exit_code == 0, r.output
    assert r.output.count("[OK]") == 2 and "ukuran 4" in r.output
    served = await note_of(wclient)
    assert check_cosignature(served, w1.name, w1.public) and check_cosignature(served, w2.name, w2.public)
