"""A national exam session on one box: ``make bench BENCH_ARGS=--national`` (not in CI).

600 rooms of 40 candidates (24,000), ``apkd serve --workers 2`` on PostgreSQL, wrk as the
load (bench/common.py), for ``--minutes`` minutes (10 by default), one wrk run per operation
per minute:

- minute 1: every candidate presses "start" (24,000 starts spread over the minute, 400/s);
  whoever has no attempt yet at the start of a later minute presses it again;
- then: every candidate who has started saves an answer every 30 s (800 saves/s for all);
- the last minute: every candidate submits (400/s);
- all along: each room's proctor polls the roster every 5 s (120 roster reads/s).

Each operation runs at a constant rate, latency counted from each request's scheduled time.
Every minute prints p50/p99 per operation; at the end a plot of latency over time per
operation (p50 and p99 per 5 s) is written to bench/out/national-<time>.png, with the same
figures as CSV beside it (drawn with matplotlib when installed, else with Pillow). ``--quick``:
60 rooms and 3 minutes; ``--minutes 2`` (the least) has no minute of saves: starts, then
submits; 3 is the shortest run with every operation.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from bench.bench_exams import Room, seed_rooms
from bench.common import Server, WrkResult, apkd_env, pct, scratch_database, vacuum_analyze, wrk

DB_NAME = "apkd_bench_national"
OUT = Path(__file__).resolve().parent / "out"
BIN_SECONDS = 5.0


async def _attempt_ids(url: str) -> dict[int, int]:
    """user id -> attempt id."""
    import asyncpg

    from bench.common import dsn

    conn = await asyncpg.connect(dsn(url))
    try:
        return {r["user_id"]: r["id"] for r in await conn.fetch("SELECT id, user_id FROM attempt")}
    finally:
        await conn.close()


def _line(minute: int, results: dict[str, WrkResult]) -> str:
    parts = []
    for op in ("start", "save", "roster", "submit"):
        r = results.get(op)
        if r is None:
            continue
        failed = r.bad(ok=(200, 201))
        parts.append(
            f"{op} {r.rate:,.0f}/s p50 {r.sched_p50:.0f} ms p99 {r.sched_p99:.0f} ms"
            + (f" ({failed} failed: {dict(r.status)})" if failed else "")
        )
    return f"minute {minute:2d}: " + " | ".join(parts)


def _plot(samples: dict[str, list[tuple[float, float]]], title: str, stem: Path) -> Path:
    """p50 and p99 per BIN_SECONDS per operation over the run; CSV beside the PNG."""
    bins: dict[str, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    for op, points in samples.items():
        for t, ms in points:
            bins[op][int(t // BIN_SECONDS)].append(ms)
    rows = []
    for op, by_bin in bins.items():
        for b, values in sorted(by_bin.items()):
            rows.append((op, b * BIN_SECONDS, len(values), pct(values, 0.5), pct(values, 0.99)))
    stem.parent.mkdir(parents=True, exist_ok=True)
    csv = stem.with_suffix(".csv")
    csv.write_text(
        "operation,second,requests,p50_ms,p99_ms\n"
        + "".join(f"{op},{s:.0f},{n},{p50:.2f},{p99:.2f}\n" for op, s, n, p50, p99 in rows)
    )
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # not a dependency: Pillow (the QR codes' own) draws the same plot
        return _plot_pillow(rows, title, stem.with_suffix(".png"))
    fig, ax = plt.subplots(figsize=(12, 6))
    colors = {"start": "tab:green", "save": "tab:blue", "roster": "tab:orange", "submit": "tab:red"}
    for op in ("start", "save", "roster", "submit"):
        mine = [r for r in rows if r[0] == op]
        if not mine:
            continue
        xs = [r[1] / 60 for r in mine]
        ax.plot(xs, [r[4] for r in mine], color=colors[op], label=f"{op} p99")
        ax.plot(xs, [r[3] for r in mine], color=colors[op], linestyle="--", alpha=0.7, label=f"{op} p50")
    ax.set_yscale("log")
    ax.set_xlabel("minute of the session")
    ax.set_ylabel(f"latency from the schedule, ms (p50 and p99 per {BIN_SECONDS:.0f} s)")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(ncol=4, fontsize="small")
    png = stem.with_suffix(".png")
    fig.savefig(png, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return png


COLORS = {"start": (44, 160, 44), "save": (31, 119, 180), "roster": (255, 127, 14), "submit": (214, 39, 40)}


def _plot_pillow(rows: list[tuple[str, float, int, float, float]], title: str, png: Path) -> Path:
    """The latency plot drawn with Pillow: minutes across, log-scale milliseconds up, p99 solid
    and p50 thin per operation."""
    import math

    from PIL import Image, ImageDraw

    width, height, left, right, top, bottom = 1320, 660, 80, 20, 50, 60
    img = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(img)
    values = [v for r in rows for v in (r[3], r[4]) if v > 0] or [1.0]
    lo = 10 ** math.floor(math.log10(max(0.1, min(values))))
    hi = 10 ** math.ceil(math.log10(max(values) * 1.01))
    t_max = max((r[1] for r in rows), default=0.0) + BIN_SECONDS
    minutes = max(1, math.ceil(t_max / 60))

    def x(seconds: float) -> float:
        return left + (width - left - right) * seconds / (minutes * 60)

    def y(ms: float) -> float:
        ms = min(max(ms, lo), hi)
        share = (math.log10(ms) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))
        return height - bottom - (height - top - bottom) * share

    decade = lo
    while decade <= hi:
        draw.line([(left, y(decade)), (width - right, y(decade))], fill=(220, 220, 220))
        draw.text((5, y(decade) - 6), f"{decade:g} ms", fill="black")
        decade *= 10
    for m in range(minutes + 1):
        draw.line([(x(m * 60), top), (x(m * 60), height - bottom)], fill=(235, 235, 235))
        draw.text((x(m * 60) - 4, height - bottom + 6), str(m), fill="black")
    draw.rectangle([left, top, width - right, height - bottom], outline="black")
    draw.text((left, 15), title, fill="black")
    draw.text(
        (width // 2 - 200, height - 25),
        "minute of the session; latency from the schedule, "
        f"p99 (thick) and p50 (thin) per {BIN_SECONDS:.0f} s",
        fill="black",
    )
    legend_x = left + 10
    for op, color in COLORS.items():
        mine = sorted((r for r in rows if r[0] == op), key=lambda r: r[1])
        if not mine:
            continue
        for idx, w in ((4, 3), (3, 1)):
            points = [(x(r[1] + BIN_SECONDS / 2), y(r[idx])) for r in mine]
            if len(points) == 1:
                draw.ellipse(
                    [points[0][0] - 3, points[0][1] - 3, points[0][0] + 3, points[0][1] + 3], fill=color
                )
            else:
                draw.line(points, fill=color, width=w)
        draw.line([(legend_x, top + 12), (legend_x + 25, top + 12)], fill=color, width=3)
        draw.text((legend_x + 30, top + 6), op, fill="black")
        legend_x += 100
    png.parent.mkdir(parents=True, exist_ok=True)
    img.save(png)
    return png


async def main(args: argparse.Namespace) -> list[str]:
    quick = bool(getattr(args, "quick", False))
    minutes = int(getattr(args, "minutes", 0) or (3 if quick else 10))
    if minutes < 2:
        raise ValueError("--minutes must be at least 2 (starts and saves, then submits)")
    rooms, per_room = (60, 40) if quick else (600, 40)
    n = rooms * per_room
    minute = 60.0
    start_rate = submit_rate = n / minute
    save_rate = n / 30.0
    roster_rate = rooms / 5.0
    conns = {"start": 64, "save": 64, "roster": 24, "submit": 64}
    lines: list[str] = []
    samples: dict[str, list[tuple[float, float]]] = defaultdict(list)
    totals: dict[str, list[WrkResult]] = defaultdict(list)
    tmp = Path(tempfile.mkdtemp(prefix="apkd_bench_national_"))
    async with scratch_database(DB_NAME) as url:
        national: list[Room] = await seed_rooms(url, rooms, per_room, prefix="n")
        await vacuum_analyze(url)
        app = Server.apkd(apkd_env(url, tmp))
        try:
            await app.wait_up("/healthz")
            rosters = [f"/api/v1/sessions/{r.session_id}/roster {r.proctor_token}" for r in national]
            cands = [(r.session_id, c) for r in national for c in r.candidates]
            random.Random(3).shuffle(cands)
            print(
                f"national session: {rooms} rooms x {per_room} = {n:,} candidates, {minutes} minutes; "
                f"starts {start_rate:.0f}/s in minute 1, saves {save_rate:.0f}/s, rosters {roster_rate:.0f}/s, "
                f"submits {submit_rate:.0f}/s in the last minute",
                flush=True,
            )

            def run(
                jobs: dict[str, asyncio.Task[WrkResult]],
                op: str,
                mode: str,
                targets: list[str],
                rate: float,
                *,
                once: bool = False,
            ) -> None:
                jobs[op] = asyncio.create_task(
                    wrk(
                        app.port,
                        mode,
                        targets,
                        minute,
                        connections=conns[op],
                        rate=rate,
                        once=once,
                        samples=True,
                    )
                )

            ids: dict[int, int] = {}
            t0 = time.monotonic()
            for m in range(1, minutes + 1):
                offset = time.monotonic() - t0
                jobs: dict[str, asyncio.Task[WrkResult]] = {}
                run(jobs, "roster", "get", rosters, roster_rate)
                if m > 1:
                    ids = await _attempt_ids(url)
                if m < minutes:
                    # who has no attempt yet presses "start" (again): everyone in minute 1, and
                    # whoever the server did not reach in time after that
                    waiting = [
                        f"/api/v1/sessions/{sid}/attempts {c.token}"
                        for sid, c in cands
                        if c.user_id not in ids
                    ]
                    if waiting:
                        run(jobs, "start", "post", waiting, start_rate, once=True)
                    # who has started saves an answer every 30 s
                    saves = [f"{ids[c.user_id]} {c.token}" for _, c in cands if c.user_id in ids]
                    if saves:
                        run(jobs, "save", "save", saves, len(saves) / 30.0)
                else:
                    submits = [
                        f"/api/v1/attempts/{ids[c.user_id]}/submit {c.token}"
                        for _, c in cands
                        if c.user_id in ids
                    ]
                    run(jobs, "submit", "post", submits, submit_rate, once=True)
                results = {op: await task for op, task in jobs.items()}
                for op, r in results.items():
                    totals[op].append(r)
                    samples[op] += [(offset + t, ms) for t, ms in r.samples]
                line = _line(m, results)
                print(line, flush=True)
                lines.append(line)
        finally:
            app.stop()
    for op in ("start", "save", "roster", "submit"):
        values = [ms for _, ms in samples.get(op, [])]
        if values:
            failed = sum(r.bad(ok=(200, 201)) for r in totals[op])
            lines.append(
                f"whole run, {op}: {len(values):,} requests, p50 {pct(values, 0.5):.0f} ms, p99 "
                f"{pct(values, 0.99):.0f} ms, max {max(values):.0f} ms, {failed} failed"
            )
    stamp = time.strftime("%Y%m%d-%H%M%S")
    png = _plot(
        samples,
        f"apkd national session: {n:,} candidates, {rooms} rooms, 2 workers, PostgreSQL",
        OUT / f"national-{stamp}",
    )
    lines.append(f"plot: {png} (figures in {png.with_suffix('.csv')})")
    lines.append(json.dumps({"rooms": rooms, "per_room": per_room, "minutes": minutes}))
    return lines
