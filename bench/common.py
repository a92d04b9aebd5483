"""What the benchmarks share: servers served the same way, scratch PostgreSQL databases, the
baseline apps, and the load generator (Debian's ``wrk`` with ``bench/lua/apkd.lua``).

Every HTTP figure compares apkd with a baseline app served by the same uvicorn command
(``WORKERS`` workers, same log level) in the same run, on the same machine, loaded by the same
client: absolute numbers on a shared machine mean little, ratios do.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LUA = Path(__file__).resolve().parent / "lua" / "apkd.lua"
SECRET = "bench-secret-" + "z" * 40
WORKERS = 2
PG_DEFAULT = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"

# The baseline for saves: a bare Litestar + asyncpg endpoint doing one UPSERT (no auth, no
# checks, asyncpg's default pool), the shape of the work a save cannot avoid.
BARE_UPSERT_APP = textwrap.dedent(
    '''
    import json, os
    import asyncpg
    from litestar import Litestar, get, put
    from litestar.datastructures import State
    from msgspec import Struct

    DSN = os.environ["BENCH_DSN"]
    SQL = """INSERT INTO bench_upsert (attempt_id, position, response, seq, saved_at)
             VALUES ($1, $2, $3::json, $4, now())
             ON CONFLICT (attempt_id, position) DO UPDATE
             SET response = excluded.response, seq = excluded.seq, saved_at = excluded.saved_at
             WHERE bench_upsert.seq < excluded.seq"""

    class Body(Struct):
        seq: int
        response: object = None
        current_position: int | None = None

    async def startup(app: Litestar) -> None:
        app.state.pool = await asyncpg.create_pool(DSN, min_size=4, max_size=8)

    @put("/save/{aid:int}/{pos:int}")
    async def save(aid: int, pos: int, data: Body, state: State) -> dict:
        await state.pool.execute(SQL, aid, pos, json.dumps(data.response), data.seq)
        return {"position": pos, "seq": data.seq}

    @get("/")
    async def root() -> str:
        return "ok"

    app = Litestar([save, root], on_startup=[startup])
    '''
)

BARE_UPSERT_TABLE = (
    "CREATE TABLE IF NOT EXISTS bench_upsert (attempt_id integer, position integer, response json, "
    "seq bigint, saved_at timestamptz, PRIMARY KEY (attempt_id, position))"
)

# The baseline for public reads: Litestar's hello-world.
HELLO_APP = textwrap.dedent(
    """
    from litestar import Litestar, get

    @get("/hello")
    async def hello() -> dict[str, str]:
        return {"hello": "world"}

    app = Litestar([hello])
    """
)


def pct(values: Sequence[float], q: float) -> float:
    """The q-quantile (0..1) of ``values``, nearest rank; NaN when empty."""
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- PostgreSQL -------------------------------------------------------------------------------


def admin_url() -> str:
    url = os.environ.get("APKD_BENCH_POSTGRES_URL", PG_DEFAULT)
    if url.startswith("postgresql://"):
        url = "postgresql+asyncpg://" + url[len("postgresql://") :]
    return url


async def admin_exec(url: str, sql: str) -> None:
    """One statement in autocommit (CREATE/DROP DATABASE cannot run in a transaction)."""
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    eng = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with asyncio.timeout(30):
            async with eng.connect() as conn:
                await conn.execute(text(sql))
    finally:
        await eng.dispose()


@contextlib.asynccontextmanager
async def scratch_database(name: str, *, migrate: bool = True) -> AsyncIterator[str]:
    """A fresh PostgreSQL database of our own (migrated), dropped afterwards; yields its URL."""
    admin = admin_url()
    await admin_exec(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin_exec(admin, f'CREATE DATABASE "{name}"')
    url = admin.rsplit("/", 1)[0] + "/" + name
    try:
        if migrate:
            from apkd.migrate import upgrade

            await asyncio.to_thread(upgrade, url)
        yield url
    finally:
        with contextlib.suppress(Exception):
            await admin_exec(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def vacuum_analyze(url: str) -> None:
    """Statistics gathered and no autovacuum woken by the bulk-loaded fixtures mid-run."""
    await admin_exec(url, "VACUUM ANALYZE")


def dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


# --- servers ---------------------------------------------------------------------------------


def apkd_env(url: str, var_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("APKD_")}
    env.update(
        {
            "APKD_DATABASE_URL": url,
            "APKD_SECRET_KEY": SECRET,
            "APKD_ENV": "test",
            "APKD_VAR_DIR": str(var_dir),
            "APKD_BASE_URL": "http://127.0.0.1:8000",
            "APKD_PUBLIC_RATE_LIMIT": "0",
            "BENCH_DSN": dsn(url),
            # PostgreSQL here has max_connections = 100, shared with other work: 2 workers of
            # apkd (engine pool 10 + 10 overflow, direct pool 8) and of a baseline (8) fit.
            "APKD_DIRECT_POOL_SIZE": "8",
        }
    )
    env.update(extra)
    return env


@dataclass
class Server:
    """A server process on 127.0.0.1:``port``."""

    name: str
    port: int
    proc: subprocess.Popen[bytes]
    log: Path

    @classmethod
    def start(cls, name: str, cmd: list[str], env: dict[str, str], cwd: Path, port: int) -> Server:
        log = Path(tempfile.mkstemp(prefix=f"apkd_bench_{name}_", suffix=".log")[1])
        with log.open("wb") as out:
            proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=out)
        return cls(name, port, proc, log)

    @classmethod
    def apkd(cls, env: dict[str, str], *, workers: int = WORKERS) -> Server:
        """``apkd serve``, exactly as deployed."""
        port = free_port()
        cmd = [sys.executable, "-m", "apkd", "serve", "--port", str(port), "--workers", str(workers)]
        return cls.start("apkd", cmd, env, ROOT, port)

    @classmethod
    def app(
        cls, name: str, source: str, env: dict[str, str], workdir: Path, *, workers: int = WORKERS
    ) -> Server:
        """A baseline app served by the same uvicorn command as ``apkd serve``."""
        (workdir / f"{name}.py").write_text(source)
        port = free_port()
        cmd = [
            sys.executable,
            "-m",
            "uvicorn",
            f"{name}:app",
            "--app-dir",
            str(workdir),
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--proxy-headers",
            "--log-level",
            "info",
        ]
        return cls.start(name, cmd, env, workdir, port)

    async def wait_up(self, path: str) -> None:
        for _ in range(600):
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited at start-up: {self.log.read_text()[-2000:]}")
            with contextlib.suppress(OSError, ValueError, IndexError, asyncio.IncompleteReadError):
                status, _ = await http_request(self.port, "GET", path)
                if status < 500:
                    return
            await asyncio.sleep(0.1)
        raise RuntimeError(f"{self.name} on :{self.port} did not come up")

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        with contextlib.suppress(OSError):
            self.log.unlink()


async def http_request(
    port: int, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    """One request on a connection of its own (set-up and checks, not load)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        return await Conn(reader, writer).request(method, path, body, headers)
    finally:
        writer.close()


class Conn:
    """A minimal keep-alive HTTP/1.1 client connection, for scenarios wrk cannot express
    (every candidate pressing "start" at the same instant) and for set-up."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> Conn:
        return cls(*await asyncio.open_connection("127.0.0.1", port))

    async def request(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n"
        if body:
            head += "Content-Type: application/json\r\n"
        for k, v in (headers or {}).items():
            head += f"{k}: {v}\r\n"
        self.writer.write(head.encode() + b"\r\n" + body)
        await self.writer.drain()
        head_bytes = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head_bytes[9:12])
        length = 0
        for line in head_bytes.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:].strip())
        data = await self.reader.readexactly(length) if length else b""
        return status, data

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(Exception):
            await self.writer.wait_closed()


# --- the load generator: wrk ------------------------------------------------------------------


def ensure_wrk() -> str:
    """The path of ``wrk``; installs Debian's package when it is missing and we are root."""
    path = shutil.which("wrk")
    if path:
        return path
    if os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "wrk"]):
            subprocess.run(cmd, env=env, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        path = shutil.which("wrk")
        if path:
            return path
    raise RuntimeError("wrk is missing: install it (Debian/Ubuntu: sudo apt-get install wrk) and run again")


@dataclass
class WrkResult:
    """One wrk run. Latencies in milliseconds. ``sched_*`` are counted from each request's
    scheduled time (constant-rate runs only); ``wrk_*`` from when it was sent."""

    requests: int
    seconds: float
    status: dict[int, int]
    socket_errors: int
    wrk_p50: float
    wrk_p99: float
    sched_p50: float
    sched_p90: float
    sched_p99: float
    sched_max: float
    offered: float = 0.0  # requests/s asked for; 0 = closed loop
    samples: list[tuple[float, float]] = field(default_factory=list)  # (scheduled s from start, ms)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def bad(self, ok: Sequence[int] = (200, 201)) -> int:
        return self.socket_errors + sum(c for s, c in self.status.items() if s not in ok)

    def check(self, what: str, ok: Sequence[int] = (200, 201)) -> None:
        if self.bad(ok):
            raise RuntimeError(
                f"{what}: {self.bad(ok)} failed requests (status {self.status}, "
                f"socket errors {self.socket_errors})"
            )


async def wrk(
    port: int,
    mode: str,
    lines: Sequence[str],
    seconds: float,
    *,
    connections: int = 64,
    threads: int = 1,
    rate: float = 0.0,
    once: bool = False,
    samples: bool = False,
    answer_within: float = 10.0,
) -> WrkResult:
    """Run wrk against 127.0.0.1:``port`` (see bench/lua/apkd.lua for ``mode`` and ``lines``).

    ``rate`` > 0: constant rate over ``connections`` connections, one wrk thread each, latency
    counted from the schedule. ``once``: each line is requested once, then that thread stops.
    ``samples``: keep every request's (scheduled time, latency) for plots (constant rate).
    ``answer_within``: seconds after which wrk counts a request as timed out.
    """
    binary = ensure_wrk()
    if rate > 0 or once:  # one connection per thread (each thread owns its schedule / lines)
        threads = connections = max(1, min(connections, len(lines)))
    threads = max(1, min(threads, connections, len(lines)))
    with tempfile.TemporaryDirectory(prefix="apkd_wrk_") as tmp:
        targets = Path(tmp) / "targets.txt"
        targets.write_text("\n".join(lines) + "\n")
        sample_file = Path(tmp) / "samples.txt" if samples else None
        cmd = [
            binary,
            "-t",
            str(threads),
            "-c",
            str(connections),
            "-d",
            f"{max(1, round(seconds))}s",
            "--timeout",
            f"{answer_within:.0f}s",
            "-s",
            str(LUA),
            f"http://127.0.0.1:{port}",
            "--",
            mode,
            str(targets),
            f"{rate:.3f}",
            str(threads),
            "once" if once else "loop",
            str(sample_file or "-"),
            str(time.time_ns() // 1000),  # seqs above every earlier run's
        ]
        proc = await asyncio.create_subprocess_exec(
            *cmd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        out, err = await proc.communicate()
        text = out.decode(errors="replace")
        marker = next((ln for ln in text.splitlines() if ln.startswith("APKD-WRK ")), None)
        if proc.returncode != 0 or marker is None:
            raise RuntimeError(
                f"wrk failed ({proc.returncode}): {err.decode(errors='replace')[-1500:]} {text[-500:]}"
            )
        d = json.loads(marker[len("APKD-WRK ") :])
        points: list[tuple[float, float]] = []
        if sample_file is not None and sample_file.exists():
            for ln in sample_file.read_text().splitlines():
                t, lat = ln.split()
                points.append((int(t) / 1e6, int(lat) / 1e3))
    ms = 1e-3
    return WrkResult(
        requests=int(d["requests"]),
        seconds=d["duration_us"] / 1e6,
        status={int(k): int(v) for k, v in d["status"].items()},
        socket_errors=int(d["connect_errors"] + d["read_errors"] + d["write_errors"] + d["timeouts"]),
        wrk_p50=d["wrk_p50_us"] * ms,
        wrk_p99=d["wrk_p99_us"] * ms,
        sched_p50=d["sched_p50_us"] * ms,
        sched_p90=d["sched_p90_us"] * ms,
        sched_p99=d["sched_p99_us"] * ms,
        sched_max=d["sched_max_us"] * ms,
        offered=rate,
        samples=points,
    )


# --- CPU per request: a figure that a busy neighbour does not move much --------------------------

_TICK = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK  # utime + stime


def _children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            out += [int(p) for p in (task / "children").read_text().split()]
    except OSError:
        pass
    return out


class CpuMeter:
    """CPU seconds used by a server (its process and its workers) and by the PostgreSQL
    backends serving database ``db``, between :meth:`start` and :meth:`stop`.

    Throughput on a shared machine moves with the neighbours' load; the CPU a request costs
    moves much less, and on a CPU-bound box it is what sets the throughput ratio.
    """

    def __init__(self, server: Server, db_url: str | None) -> None:
        self.server, self.db_url = server, db_url
        self.app_cpu = self.db_cpu = 0.0

    async def _backends(self) -> list[int]:
        if self.db_url is None:
            return []
        import asyncpg

        name = self.db_url.rsplit("/", 1)[1]
        conn = await asyncpg.connect(dsn(admin_url()))
        try:
            rows = await conn.fetch(
                "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", name
            )
        finally:
            await conn.close()
        return [r["pid"] for r in rows]

    def _app(self) -> float:
        pid = self.server.proc.pid
        return _cpu_seconds(pid) + sum(_cpu_seconds(c) for c in _children(pid))

    async def start(self) -> None:
        self._app0 = self._app()
        self._db0 = {p: _cpu_seconds(p) for p in await self._backends()}

    async def stop(self) -> None:
        self.app_cpu = self._app() - self._app0
        # backends opened during the run count from zero; those closed during it are lost
        self.db_cpu = sum(_cpu_seconds(p) - self._db0.get(p, 0.0) for p in await self._backends())

    def per_request_us(self, requests: int) -> tuple[float, float]:
        """(server µs, PostgreSQL µs) per request."""
        n = max(1, requests)
        return self.app_cpu / n * 1e6, self.db_cpu / n * 1e6
