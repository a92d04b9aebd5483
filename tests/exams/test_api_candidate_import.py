"""Candidates from a CSV into a session (issue 14): a preview that writes nothing and names each
bad row, then accounts and registrations in one step, initial passwords that work once shown."""

from __future__ import annotations


def nip(i: int) -> str:
    return f"19900101201501{1 + i % 2}{i:03d}"


def candidates_csv(existing_nip: str, sep: str = ",") -> str:
    lines = [sep.join(["NIP", "Nama", "Instansi", "Jabatan", "Email"])]
    for i in range(1, 40):
        lines.append(sep.join([nip(i), f"Pegawai {i}", "BPKAD Kabupaten Alor", "Bendahara Pengeluaran", ""]))
    lines.append(
        sep.join([existing_nip, "Peserta Satu", "BPKAD Kabupaten Alor", "Bendahara", "p1@alor.go.id"])
    )
    lines.append(sep.join(["1990010120150", "NIP Pendek", "BPKAD", "Bendahara", ""]))  # line 42
    lines.append(sep.join([nip(50), "", "BPKAD", "Bendahara", ""]))  # line 43: no name
    lines.append(sep.join([nip(3), "Pegawai Kembar", "BPKAD", "Bendahara", ""]))  # line 44: NIP of line 4
    return "\r\n".join(lines) + "\r\n"


async def test_preview_then_import_forty_with_three_bad_rows(world) -> None:
    c, admin, sid = world.client, world.admin, world.session_id
    existing = world.candidates[0]
    text = candidates_csv(existing.nip)
    url = f"/api/v1/sessions/{sid}/candidates/import"

    r = await c.post(url, json={"csv": text}, headers=admin)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["applied"] is False
    assert [e["line"] for e in body["errors"]] == [42, 43, 44]
    assert "NIP" in body["errors"][0]["message"] and "nama" in body["errors"][1]["message"]
    assert "baris 4" in body["errors"][2]["message"]
    actions = [row["action"] for row in body["rows"]]
    assert len(actions) == 40 and actions.count("create") == 39 and actions.count("register") == 1
    roster = await c.get(f"/api/v1/sessions/{sid}/roster", headers=admin)
    assert roster.json() == []  # the preview wrote nothing
    r = await c.post("/api/v1/auth/login", json={"username": nip(1), "password": "x" * 10})
    assert r.status_code == 401

    r = await c.post(url, json={"csv": text, "apply": True}, headers=admin)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["created"], body["registered"], len(body["errors"])) == (39, 40, 3)
    roster = await c.get(f"/api/v1/sessions/{sid}/roster", headers=admin)
    assert len(roster.json()) == 40
    first = next(row for row in body["rows"] if row["nip"] == nip(1))
    assert first["username"] == nip(1) and first["initial_password"]
    mine = next(row for row in body["rows"] if row["nip"] == existing.nip)
    assert mine["username"] == existing.username and mine["initial_password"] is None
    r = await c.post("/api/v1/auth/login", json={"username": nip(1), "password": first["initial_password"]})
    assert r.status_code == 200 and r.json()["role"] == "candidate"

    # again, semicolon separated: everyone is already there, nothing made twice
    r = await c.post(url, json={"csv": candidates_csv(existing.nip, ";"), "apply": True}, headers=admin)
    body = r.json()
    assert (body["created"], body["registered"], body["skipped"]) == (0, 0, 40)
    assert all(row["initial_password"] is None for row in body["rows"])


async def test_import_refuses_bad_files_and_non_admins(world) -> None:
    c, sid = world.client, world.session_id
    url = f"/api/v1/sessions/{sid}/candidates/import"
    r = await c.post(url, json={"csv": "nip,nama\n199001012015011001,A\n"}, headers=world.admin)
    assert r.status_code == 422 and r.json()["code"] == "csv_missing_columns"
    assert "instansi" in r.json()["detail"]
    r = await c.post(url, json={"csv": ""}, headers=world.admin)
    assert r.status_code == 422 and r.json()["code"] == "csv_empty"
    r = await c.post(url, json={"csv": "nip,nama,instansi,jabatan\n"}, headers=world.proctor)
    assert r.status_code == 403
    r = await c.post("/api/v1/sessions/999999/candidates/import", json={"csv": "x"}, headers=world.admin)
    assert r.status_code == 404


async def test_login_slips_set_passwords_for_who_never_logged_in(world) -> None:
    import io

    from pypdf import PdfReader

    c, admin, sid = world.client, world.admin, world.session_id
    text = "nip,nama,instansi,jabatan\r\n" + "".join(
        f"{nip(i)},Pegawai {i},BPKAD Kabupaten Alor,Bendahara\r\n" for i in (1, 2)
    )
    r = await c.post(
        f"/api/v1/sessions/{sid}/candidates/import", json={"csv": text, "apply": True}, headers=admin
    )
    assert r.json()["registered"] == 2
    await world.register(world.candidates[0])  # peserta1 has logged in already (fixture)

    r = await c.post(f"/api/v1/sessions/{sid}/login-slips", headers=admin)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf" and r.headers["x-slip-count"] == "2"
    page_text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(r.content)).pages)
    assert nip(1) in page_text and "Pegawai 2" in page_text and "peserta1" not in page_text
    password = page_text.split("Kata sandi: ")[1].split()[0]
    ok = await c.post("/api/v1/auth/login", json={"username": nip(1), "password": password})
    assert ok.status_code == 200  # cards in name order: the first is Pegawai 1's

    # peserta1 keeps its own password unless asked for
    assert (
        await c.post("/api/v1/auth/login", json={"username": "peserta1", "password": "rahasia-123"})
    ).status_code == 200
    r = await c.post(
        f"/api/v1/sessions/{sid}/login-slips",
        json={"usernames": ["peserta1"], "include_logged_in": True},
        headers=admin,
    )
    assert r.headers["x-slip-count"] == "1"
    assert (
        await c.post("/api/v1/auth/login", json={"username": "peserta1", "password": "rahasia-123"})
    ).status_code == 401
    r = await c.post(f"/api/v1/sessions/{sid}/login-slips", json={"usernames": ["peserta3"]}, headers=admin)
    assert r.status_code == 422 and r.json()["code"] == "not_in_session"
    assert (await c.post(f"/api/v1/sessions/{sid}/login-slips", headers=world.proctor)).status_code == 403
