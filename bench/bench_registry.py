"""Public registry benchmarks.

1. ``GET /api/v1/registry/{number}`` throughput against a Litestar hello-world endpoint, both
   served by the same uvicorn command (2 workers), loaded by wrk (bench/common.py) in
   alternating windows of the same run. Targets: the cached record (production's
   configuration, decision 006) and the uncached lookup on PostgreSQL (every request reads
   the database) >= 0.5 of hello-world. SQLite (a temporary file) is shown beside it.
2. Offline verification (``apkd verify`` without network: apkd.registry.offline.verify_offline)
   tokens per second on one core, with the bare Ed25519 verification rate as the baseline.
   Target: >= 2000 tokens/s.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import HELLO_APP, Server, WrkResult, apkd_env, scratch_database, wrk

PG_DB = "apkd_bench_registry"


async def seed(db_url: str, settings: Any) -> str:
    """One issued credential (through the real issuing code); returns its number."""
    from tests.factories import passed_results, sample_scheme

    from apkd.accounts.schemas import UserCreate
    from apkd.accounts.service import create_user
    from apkd.credentials.issuing import issue_for_results
    from apkd.db import create_engine, session_factory

    engine = create_engine(db_url)
    now = datetime.now(UTC).replace(microsecond=0)
    try:
        async with session_factory(engine)() as s:
            user = await create_user(
                s,
                UserCreate(
                    username="bench",
                    password="rahasia-bench-1",
                    role="candidate",
                    full_name="Yohanes Mau Bench",
                    instansi="BPKAD Kabupaten Alor",
                    jabatan="Bendahara Pengeluaran",
                    region_code="5305",
                ),
                actor="bench",
            )
            scheme = await sample_scheme(s)
            outcomes = await passed_results(s, scheme, [user.id or 0], now=now, score=90)
            batch = await issue_for_results(s, outcomes.result_ids, settings=settings, actor=None, now=now)
            await s.commit()
            return batch.numbers[0]
    finally:
        await engine.dispose()


async def http_bench(args: argparse.Namespace) -> list[str]:
    from apkd.config import load_settings
    from apkd.migrate import upgrade

    quick = getattr(args, "quick", False)
    seconds = 3.0 if quick else 5.0
    rounds = 1 if quick else 3
    conns = 64
    lines: list[str] = []
    servers: list[Server] = []
    async with contextlib.AsyncExitStack() as stack:
        tmpdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="apkd_bench_registry_")))
        databases = [("SQLite", f"sqlite+aiosqlite:///{tmpdir / 'apkd.db'}")]
        try:
            databases.append(
                ("PostgreSQL", await stack.enter_async_context(scratch_database(PG_DB, migrate=False)))
            )
        except Exception as exc:  # no server: the SQLite figures still run
            lines.append(f"PostgreSQL skipped: {type(exc).__name__}: {exc}")
        try:
            hello = Server.app("hello_app", HELLO_APP, apkd_env("", tmpdir), tmpdir)
            servers.append(hello)
            targets: list[tuple[str, Server, str]] = []  # (label, server, path)
            for label, db_url in databases:
                # counted per request as in production, never reached
                env = apkd_env(db_url, tmpdir / "var", APKD_PUBLIC_RATE_LIMIT="1000000000")
                await asyncio.to_thread(upgrade, db_url)
                number = await seed(db_url, load_settings(env))
                for cache in ("5", "0"):
                    app = Server.apkd({**env, "APKD_REGISTRY_CACHE_SECONDS": cache})
                    servers.append(app)
                    what = (
                        "record cache on" if cache != "0" else "cache off, every request reads the database"
                    )
                    targets.append((f"{label}, {what}", app, f"/api/v1/registry/{number}"))
            await hello.wait_up("/hello")
            for _, app, path in targets:
                await app.wait_up(path)
                (await wrk(app.port, "get", [f"{path} -"], 1, connections=conns)).check(
                    "registry warm-up", ok=(200,)
                )
            await wrk(hello.port, "get", ["/hello -"], 1, connections=conns)
            hello_runs: list[WrkResult] = []
            runs: list[list[WrkResult]] = [[] for _ in targets]
            for _ in range(rounds):
                for i, (_, app, path) in enumerate(targets):
                    # alternate windows: the baseline is measured next to every target, so a
                    # noisy neighbour slows both
                    hello_runs.append(await wrk(hello.port, "get", ["/hello -"], seconds, connections=conns))
                    runs[i].append(await wrk(app.port, "get", [f"{path} -"], seconds, connections=conns))
            for r in hello_runs + [r for rs in runs for r in rs]:
                r.check("registry load", ok=(200,))
        finally:
            for srv in servers:
                srv.stop()
    best_hello = max(r.rate for r in hello_runs)
    lines.append(
        f"Litestar hello-world: {best_hello:,.0f} req/s (2 uvicorn workers, wrk with {conns} keep-alive "
        f"connections, best of {len(hello_runs)} x {seconds:.0f} s, alternating with each target)"
    )
    for (label, _, _), rs in zip(targets, runs, strict=True):
        rps = max(r.rate for r in rs)
        ratio = rps / best_hello
        verdict = ""
        if "cache on" in label or label.startswith("PostgreSQL"):
            verdict = " (meets the 0.5 target)" if ratio >= 0.5 else " (BELOW the 0.5 target)"
        lines.append(
            f"GET /api/v1/registry/{{number}} ({label}): {rps:,.0f} req/s; ratio to hello-world {ratio:.2f}{verdict}"
        )
    return lines


def offline_bench(args: argparse.Namespace) -> list[str]:
    from apkd.credentials import qrtoken
    from apkd.credentials.number import format_number
    from apkd.credentials.statuslist import StatusEntryRef
    from apkd.credentials.vc import HolderInfo, SchemeInfo, build_credential, jwt_claims
    from apkd.registry import offline, policy
    from apkd.signing import keys as keylib
    from apkd.signing.jws import sign_compact

    seconds = 1.0 if getattr(args, "quick", False) else 3.0
    base, issuer = "https://apkd.example", "https://apkd.example/issuer"
    key = keylib.generate_key()
    kid = keylib.thumbprint(keylib.public_jwk(key))
    keys = policy.keyinfos_from_jwks(keylib.jwks([keylib.public_jwk(key)]))
    now = datetime.now(UTC).replace(microsecond=0)
    doc = build_credential(
        credential_id="urn:uuid:00000000-0000-4000-8000-000000000001",
        base_url=base,
        issuer_id=issuer,
        issuer_name="LSP APKD",
        scheme=SchemeInfo("BPG", "2026.1", "Bendahara Pengeluaran", "Bendahara Pengeluaran SKPD", 70),
        holder=HolderInfo("Yohanes Mau", "Bendahara Pengeluaran", "BPKAD Kabupaten Alor"),
        subject_id="urn:uuid:00000000-0000-4000-8000-000000000002",
        score=90,
        valid_from=now,
        validity_months=36,
        revocation=StatusEntryRef(base + "/api/v1/status-lists/1", 5),
    )
    vc_jwt = sign_compact(jwt_claims(doc, issuer), key, kid, "vc+jwt")
    number = format_number("BPG", "5305", 2026, 1)
    claims = qrtoken.build_qr_claims(
        number=number,
        holder_name="Yohanes Mau",
        instansi="BPKAD Kabupaten Alor",
        valid_from=now,
        valid_until=now + timedelta(days=1000),
        revocation=qrtoken.QRStatusRef(1, 5),
        suspension=qrtoken.QRStatusRef(2, 9),
        vc_jwt=vc_jwt,
    )
    qr_text = qrtoken.make_qr_text(base, number, claims, key, kid)
    at = now + timedelta(seconds=1)

    def rate(fn: Any) -> float:
        n = 0
        start = time.perf_counter()
        while True:
            for _ in range(200):
                fn()
            n += 200
            elapsed = time.perf_counter() - start
            if elapsed >= seconds:
                return n / elapsed

    assert offline.verify_offline(qr_text, keys, issuer, at).valid
    assert offline.verify_offline(vc_jwt, keys, issuer, at).valid
    pub = key.public_key()
    head, payload, sig = qr_text.split("?t=")[1].split(".")
    message, signature = f"{head}.{payload}".encode(), keylib.b64url_decode(sig)
    bare = rate(lambda: pub.verify(signature, message))
    qr_rate = rate(lambda: offline.verify_offline(qr_text, keys, issuer, at))
    vc_rate = rate(lambda: offline.verify_offline(vc_jwt, keys, issuer, at))
    verdict = "meets" if min(qr_rate, vc_rate) >= 2000 else "BELOW"
    return [
        f"offline verify, 1 core: QR text {qr_rate:,.0f}/s, vc+jwt {vc_rate:,.0f}/s; "
        f"bare Ed25519 verify {bare:,.0f}/s; ratio QR/bare {qr_rate / bare:.2f}, vc/bare {vc_rate / bare:.2f} "
        f"({verdict} the 2000/s target)"
    ]


async def main(args: argparse.Namespace) -> list[str]:
    lines = offline_bench(args)
    lines.extend(await http_bench(args))
    return lines


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    for line in asyncio.run(main(parser.parse_args())):
        print(line)
