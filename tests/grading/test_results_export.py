"""A session's results as CSV for Excel: NIP, name, instansi, score, unit scores, outcome."""

from __future__ import annotations

import csv
import io

from gradingkit import KEYS, WRONG, right

from apkd.grading.export import format_number, safe_text


async def test_results_csv_has_one_row_per_result_with_unit_scores(
    client, make_user, login, factory, recorded_effects
) -> None:
    bank = await factory.bank()
    es = await factory.session(bank)
    people = [
        ("ni_luh", "Ni Luh Putu Ayu Wiraningsih", "198503122010032001", KEYS),
        ("yohanes", "Yohanes Mau", "197701012005011003", WRONG),
        ("formula", '=HYPERLINK("http://x")', "199001012015031002", right("A1", "A2", "B1", "B2")),
    ]
    for username, name, nip, answers in people:
        user = await factory.candidate(
            username, full_name=name, nip=nip, instansi="Dinas Kesehatan Kab. Alor"
        )
        await factory.attempt(es, bank, user, dict(answers))
    es_id = es.id
    await make_user("admin", username="admin1")
    await make_user("auditor", username="auditor1")
    h = await login("admin1")
    assert (await client.post(f"/api/v1/sessions/{es_id}/publish", headers=h)).status_code == 200

    r = await client.get(f"/api/v1/sessions/{es_id}/results.csv", headers=h)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    assert r.content.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel reads the names right
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0] == ["NIP", "Nama", "Instansi", "Nilai", "TST.A", "TST.B", "Hasil"]
    assert rows[1:] == [
        [
            "199001012015031002",
            '\'=HYPERLINK("http://x")',
            "Dinas Kesehatan Kab. Alor",
            "88.88",
            "66.66",
            "100",
            "kompeten",
        ],
        [
            "198503122010032001",
            "Ni Luh Putu Ayu Wiraningsih",
            "Dinas Kesehatan Kab. Alor",
            "100",
            "100",
            "100",
            "kompeten",
        ],
        ["197701012005011003", "Yohanes Mau", "Dinas Kesehatan Kab. Alor", "0", "0", "0", "belum_kompeten"],
    ]

    assert (
        await client.get(f"/api/v1/sessions/{es_id}/results.csv", headers=await login("auditor1"))
    ).status_code == 403
    assert (await client.get("/api/v1/sessions/99999/results.csv", headers=h)).status_code == 404


def test_csv_cells() -> None:
    assert safe_text("=1+1") == "'=1+1" and safe_text("-5") == "'-5" and safe_text("Budi") == "Budi"
    assert safe_text(None) == ""
    assert format_number(100.0) == "100" and format_number(66.66) == "66.66" and format_number(None) == ""
    assert format_number(12.5) == "12.5"
