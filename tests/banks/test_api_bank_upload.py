"""Bank files uploaded from the console (issue 14): checked with errors by line before anything
is imported; a broken file is refused and writes nothing; a good one is imported once."""

from __future__ import annotations

from pathlib import Path

BPG = Path(__file__).parents[2] / "exam_banks" / "bpg.yaml"


async def test_check_then_import_and_a_broken_file_refused(client, make_user, login) -> None:
    await make_user("admin", username="admin1")
    await make_user("auditor", username="auditor1")
    admin, auditor = await login("admin1"), await login("auditor1")
    text = BPG.read_text(encoding="utf-8")
    lines = text.splitlines()
    # break one item's answer: the check names that line
    at = next(i for i, line in enumerate(lines) if line.strip().startswith("answer:"))
    broken = "\n".join([*lines[:at], "    answer: zz", *lines[at + 1 :]]) + "\n"

    r = await client.post(
        "/api/v1/banks/check", json={"filename": "bpg.yaml", "text": broken}, headers=auditor
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["ok"] is False and body["errors"]
    assert body["errors"][0]["line"] == at + 1
    r = await client.post(
        "/api/v1/banks/import", json={"filename": "bpg.yaml", "text": broken}, headers=admin
    )
    assert r.status_code == 422 and r.json()["code"] == "bank_invalid"
    assert r.json()["errors"][0]["line"] == at + 1
    assert (await client.get("/api/v1/schemes")).json() == []

    r = await client.post("/api/v1/banks/check", json={"filename": "bpg.yaml", "text": text}, headers=admin)
    good = r.json()
    assert good["ok"] is True and good["scheme_code"] == "BPG"
    assert sum(u["items"] for u in good["units"]) == good["items"] > 0
    r = await client.post("/api/v1/banks/import", json={"filename": "bpg.yaml", "text": text}, headers=admin)
    assert r.status_code == 200 and "skema baru" in r.json()["imported"]
    assert [s["code"] for s in (await client.get("/api/v1/schemes")).json()] == ["BPG"]
    again = await client.post(
        "/api/v1/banks/import", json={"filename": "bpg.yaml", "text": text}, headers=admin
    )
    assert "tidak ada perubahan" in again.json()["imported"]
    r = await client.post(
        "/api/v1/banks/import", json={"filename": "bpg.yaml", "text": text}, headers=auditor
    )
    assert r.status_code == 403
