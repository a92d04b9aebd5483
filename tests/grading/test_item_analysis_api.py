"""Item analysis through the API and the CLI, checked against an independent numpy computation."""

from __future__ import annotations

import csv
import io
import random

import numpy as np
import pytest
from gradingkit import FORM_ORDER, KEYS, WRONG

OPTIONS = {"A1": "abcd", "A2": "abcd", "A3": "abcd", "B1": "abcd"}
POINTS = {"A1": 1, "A2": 1, "A3": 1, "B1": 3, "B2": 3}


def _simulate(n: int, seed: int, orders: list[tuple[str, ...]]):
    """Candidates of varying ability; A3 is very hard (a wrong key, say), A2 very easy."""
    rng = random.Random(seed)
    people = []
    for i in range(n):
        ability = rng.random()
        order = orders[i % len(orders)]
        answers: dict[str, object] = {}
        for name in order:
            chance = {"A2": 0.99, "A3": 0.08}.get(name, 0.15 + 0.8 * ability)
            if name != "A2" and rng.random() < 0.06:
                continue  # left unanswered
            if rng.random() < chance:
                answers[name] = KEYS[name]
            elif name in ("A1", "A2", "A3"):
                answers[name] = rng.choice([o for o in "bcd"])
            elif name == "B1":
                answers[name] = rng.choice([["a"], ["c"], ["a", "b"], ["b", "d"]])
            else:
                answers[name] = rng.choice([1000000, 110000, 1210000])
        people.append((order, answers))
    return people


def _is_right(name: str, answer: object) -> int:
    if answer is None:
        return 0
    if name == "B1":
        return int(sorted(answer) == ["a", "c"])
    return int(answer == KEYS[name])


def _numpy_items(people):
    """Per item: (n, p, corrected point-biserial with the rest score as a proportion of the
    other items' points, option counts) over the candidates who saw it."""
    out = {}
    for name in FORM_ORDER:
        xs, rests, counts = [], [], {o: 0 for o in OPTIONS.get(name, "")}
        for order, answers in people:
            if name not in order:
                continue
            earned = {m: _is_right(m, answers.get(m)) * POINTS[m] for m in order}
            other = [m for m in order if m != name]
            xs.append(earned[name] / POINTS[name])
            rests.append(sum(earned[m] for m in other) / sum(POINTS[m] for m in other))
            a = answers.get(name)
            if name in OPTIONS and a is not None:
                for o in a if isinstance(a, list) else [a]:
                    counts[o] += 1
        x, rest = np.array(xs, dtype=float), np.array(rests, dtype=float)
        r = float(np.corrcoef(x, rest)[0, 1]) if x.std() > 0 and rest.std() > 0 else None
        out[name] = (len(xs), float(x.mean()), r, counts)
    return out


def _numpy_form(people):
    matrix = np.array([[_is_right(m, a.get(m)) for m in FORM_ORDER] for _o, a in people], dtype=float)
    k = matrix.shape[1]
    totals = matrix.sum(axis=1)
    p = matrix.mean(axis=0)
    var = totals.var()  # population, as KR-20 is defined
    kr20 = k / (k - 1) * (1 - (p * (1 - p)).sum() / var)
    sd = totals.std()
    return totals.mean(), sd, kr20, sd * np.sqrt(1 - kr20)


def _flags(p: float, r: float | None) -> set[str]:
    flags = set()
    if p < 0.20:
        flags.add("terlalu_sukar")
    if p > 0.95:
        flags.add("terlalu_mudah")
    if r is not None and r < 0.10:
        flags.add("daya_beda_rendah")
    return flags


async def _sit(factory, people, *, extra_status: str | None = None):
    bank = await factory.bank()
    es = await factory.session(bank)
    for order, answers in people:
        await factory.attempt(es, bank, await factory.candidate(), answers, order=order)
    if extra_status:  # not analysed: terminated
        await factory.attempt(es, bank, await factory.candidate(), dict(WRONG), status=extra_status)
    return bank, es.id


async def test_item_analysis_matches_numpy_on_one_form(client, make_user, login, factory) -> None:
    people = _simulate(60, seed=7, orders=[FORM_ORDER])
    bank, es_id = await _sit(factory, people, extra_status="terminated")
    await make_user("auditor", username="auditor1")
    r = await client.get(f"/api/v1/sessions/{es_id}/item-analysis", headers=await login("auditor1"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["attempts"] == 60  # the terminated attempt is left out
    expected = _numpy_items(people)
    by_id = {i["item_version_id"]: i for i in body["items"]}
    for name, (n, p, rpb, counts) in expected.items():
        got = by_id[bank.versions[name].id]
        assert got["external_id"] == name and got["n"] == n
        assert got["p"] == pytest.approx(p, abs=1e-9)
        assert got["point_biserial"] == pytest.approx(rpb, abs=1e-9)
        if name in OPTIONS:
            assert got["option_counts"] == counts
        assert set(got["flags"]) == _flags(p, rpb), name
    assert "terlalu_sukar" in by_id[bank.versions["A3"].id]["flags"]
    assert "terlalu_mudah" in by_id[bank.versions["A2"].id]["flags"]

    mean, sd, kr20, sem = _numpy_form(people)
    [form] = body["forms"]
    assert (form["n"], form["k"]) == (60, 5)
    assert form["mean"] == pytest.approx(mean, abs=1e-9)
    assert form["sd"] == pytest.approx(sd, abs=1e-9)
    assert form["kr20"] == pytest.approx(kr20, abs=1e-9)
    assert form["sem"] == pytest.approx(sem, abs=1e-9)
    assert body["pooled"] is None


async def test_item_analysis_over_random_forms_uses_only_who_saw_the_item(
    client, make_user, login, factory
) -> None:
    orders = [FORM_ORDER, ("A1", "A2", "B1", "B2"), ("A2", "A3", "B2")]
    people = _simulate(45, seed=11, orders=orders)
    bank, _es_id = await _sit(factory, people)
    await make_user("admin", username="admin1")
    r = await client.get("/api/v1/schemes/TST/item-analysis", headers=await login("admin1"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["scope"] == "scheme" and body["attempts"] == 45
    by_id = {i["item_version_id"]: i for i in body["items"]}
    for name, (n, p, rpb, _counts) in _numpy_items(people).items():
        got = by_id[bank.versions[name].id]
        assert got["n"] == n == sum(1 for o, _ in people if name in o)
        assert got["p"] == pytest.approx(p, abs=1e-9)
        assert got["point_biserial"] == pytest.approx(rpb, abs=1e-9)
    assert sorted(f["n"] for f in body["forms"]) == [15, 15, 15]


async def test_item_analysis_csv_and_access(client, make_user, login, factory) -> None:
    people = _simulate(12, seed=3, orders=[FORM_ORDER])
    bank, es_id = await _sit(factory, people)
    await make_user("admin", username="admin1")
    await make_user("proctor", username="pengawas1")
    h = await login("admin1")
    for kwargs in ({"params": {"format": "csv"}}, {"headers": {**h, "Accept": "text/csv"}}):
        r = await client.get(f"/api/v1/sessions/{es_id}/item-analysis", **({"headers": h} | kwargs))
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
        assert r.content.startswith(b"\xef\xbb\xbf")
        rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
        assert [row["kode_soal"] for row in rows] == list(FORM_ORDER)
        a1 = next(row for row in rows if row["kode_soal"] == "A1")
        assert int(a1["n"]) == 12 and a1["item_version_id"] == str(bank.versions["A1"].id)
    r = await client.get(f"/api/v1/sessions/{es_id}/item-analysis?format=xml", headers=h)
    assert r.status_code == 400
    r = await client.get(f"/api/v1/sessions/{es_id}/item-analysis", headers=await login("pengawas1"))
    assert r.status_code == 403
    assert (await client.get("/api/v1/sessions/99999/item-analysis", headers=h)).status_code == 404
    assert (await client.get("/api/v1/schemes/NOPE/item-analysis", headers=h)).status_code == 404


async def test_report_items_command_prints_a_table(factory, db_url, monkeypatch) -> None:
    from click.testing import CliRunner

    from apkd import config
    from apkd.cli import main

    people = _simulate(10, seed=5, orders=[FORM_ORDER])
    _bank, es_id = await _sit(factory, people)
    monkeypatch.setenv("APKD_DATABASE_URL", db_url)
    monkeypatch.setenv("APKD_SECRET_KEY", "x" * 40)
    config.get_settings.cache_clear()
    try:
        import asyncio

        result = await asyncio.to_thread(
            CliRunner().invoke, main, ["report", "items", "--session", str(es_id)]
        )
    finally:
        config.get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "10 peserta" in lines[0]
    assert any(line.startswith("A3") for line in lines)
    assert any("KR-20=" in line for line in lines)
    bad = await asyncio.to_thread(CliRunner().invoke, main, ["report", "items"])
    assert bad.exit_code == 1
