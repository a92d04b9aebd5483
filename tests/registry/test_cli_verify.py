"""`apkd verify`: offline with a JWKS file (and saved status lists), from QR text, a QR image
or a vc+jwt; online with a URL. Offline never touches the database."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import apkd.app  # noqa: F401  (binds the real create_engine before the cli fixture breaks it)
from apkd.credentials.qr import qr_png


@pytest.fixture
def cli(settings, monkeypatch) -> Any:
    from apkd.config import get_settings

    monkeypatch.setenv("APKD_ENV", "test")
    monkeypatch.setenv("APKD_SECRET_KEY", "cli-secret-" + "y" * 40)
    monkeypatch.setenv("APKD_BASE_URL", settings.base_url)
    monkeypatch.setenv("APKD_VAR_DIR", str(settings.var_dir))
    # Offline must not touch the database: point it nowhere and make engines explode.
    monkeypatch.setenv("APKD_DATABASE_URL", "postgresql+asyncpg://nobody@127.0.0.1:1/none")
    get_settings.cache_clear()

    def no_db(*a: Any, **k: Any) -> Any:
        raise AssertionError("apkd verify touched the database")

    monkeypatch.setattr("apkd.db.create_engine", no_db)
    from apkd.cli import main

    def run(*args: str) -> Any:
        return CliRunner().invoke(main, list(args), catch_exceptions=False)

    yield run
    get_settings.cache_clear()


async def _files(tmp_path: Path, jwks_doc, status_list_jwt, cred) -> tuple[str, str, str]:
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps(await jwks_doc()))
    rev = tmp_path / "rev.jwt"
    rev.write_text(await status_list_jwt(cred.revocation_list_id))
    sus = tmp_path / "sus.jwt"
    sus.write_text(await status_list_jwt(cred.suspension_list_id))
    return str(jwks), str(rev), str(sus)


async def test_offline_valid_from_text_image_and_vc(cli, issue, jwks_doc, status_list_jwt, tmp_path) -> None:
    cred, user = await issue()
    jwks, rev, sus = await _files(tmp_path, jwks_doc, status_list_jwt, cred)
    png = tmp_path / "qr.png"
    png.write_bytes(qr_png(cred.qr_text))
    vc = tmp_path / "vc.jwt"
    vc.write_text(cred.vc_jwt)
    for source in (cred.qr_text, str(png), str(vc)):
        res = cli("verify", source, "--jwks", jwks)
        assert res.exit_code == 0, res.output
        assert "[OK] Tanda tangan digital" in res.output
        assert "Sah per " in res.output
        assert "TIDAK diperiksa" in res.output and "pencabutan" in res.output
        assert user.nip not in res.output
    res = cli("verify", str(png), "--jwks", jwks, "--status-list", rev, "--status-list", sus)
    assert res.exit_code == 0, res.output
    assert "[OK] Pencabutan" in res.output and "TIDAK diperiksa: pencabutan" not in res.output


@pytest.mark.parametrize(("action", "word"), [("revoke", "DICABUT"), ("suspend", "DIBEKUKAN")])
async def test_offline_with_status_lists_sees_revoked_and_suspended(
    cli, issue, change_status, jwks_doc, status_list_jwt, tmp_path, action, word
) -> None:
    cred, _ = await issue()
    await change_status(cred.number, action)
    jwks, rev, sus = await _files(tmp_path, jwks_doc, status_list_jwt, cred)
    for source in (cred.qr_text, cred.vc_jwt):
        res = cli("verify", source, "--jwks", jwks, "--status-list", rev, "--status-list", sus)
        if source == cred.vc_jwt and action == "suspend":
            # The credential names only its revocation entry (OB 3.0: one credentialStatus);
            # suspension is in the QR token and the registry, and is said to be unchecked.
            assert res.exit_code == 0 and "TIDAK diperiksa: pembekuan" in res.output, res.output
            continue
        assert res.exit_code == 1, res.output
        assert f"Hasil: {word}" in res.output and "[GAGAL]" in res.output


async def test_offline_expired_and_forged(cli, issue, jwks_doc, status_list_jwt, tmp_path) -> None:
    cred, _ = await issue(issued_at=datetime.now(UTC) - timedelta(days=37 * 31))
    jwks, _, _ = await _files(tmp_path, jwks_doc, status_list_jwt, cred)
    res = cli("verify", cred.qr_text, "--jwks", jwks)
    assert res.exit_code == 1 and "Hasil: KEDALUWARSA" in res.output
    forged = cred.vc_jwt[:-6] + ("AAAAAA" if not cred.vc_jwt.endswith("AAAAAA") else "BBBBBB")
    res = cli("verify", forged, "--jwks", jwks, "--json")
    assert res.exit_code == 1
    out = json.loads(res.output)
    assert out["valid"] is False and out["status"] == "invalid"
    assert not next(c for c in out["checks"] if c["name"] == "signature")["ok"]
    res = cli("verify", "sampah", "--jwks", jwks)
    assert res.exit_code == 1 and "[GAGAL] Format" in res.output
    res = cli("verify", cred.qr_text, "--jwks", str(tmp_path / "tidak-ada.json"))
    assert res.exit_code == 1 and "JWKS" in res.output


async def test_online_fetches_jwks_and_status_lists(cli, issue, change_status, app, monkeypatch) -> None:
    from litestar.testing import TestClient

    from apkd.registry import commands

    cred, _ = await issue()
    fetched: list[str] = []
    with TestClient(app=app, base_url="https://apkd.test") as http:

        def fetch(url: str, accept: str) -> str:
            fetched.append(url)
            r = http.get(url, headers={"Accept": accept})
            if r.status_code != 200:
                raise commands.InputError(f"HTTP {r.status_code}")
            return r.text

        monkeypatch.setattr(commands, "_fetch", fetch)
        res = cli("verify", cred.qr_text, "--jwks", "https://apkd.test")
        assert res.exit_code == 0, res.output
        assert "[OK] Pencabutan" in res.output and "[OK] Pembekuan" in res.output
        assert fetched[0] == "https://apkd.test/.well-known/jwks.json"
        assert any("/api/v1/status-lists/" in u for u in fetched)
        await change_status(cred.number, "revoke")
        res = cli("verify", cred.vc_jwt, "--jwks", "https://apkd.test/.well-known/jwks.json")
        assert res.exit_code == 1 and "Hasil: DICABUT" in res.output


async def test_offline_refuses_the_issuers_status_list_credential(
    cli, issue, jwks_doc, status_list_jwt, tmp_path
) -> None:
    """The status-list credential is signed by the issuer too, but it is no certificate: no
    holder, no number. Offline verification says so and exits 1 (issue 11, point 12)."""
    cred, _ = await issue()
    jwks, rev, _ = await _files(tmp_path, jwks_doc, status_list_jwt, cred)
    res = cli("verify", Path(rev).read_text(), "--jwks", jwks, "--json")
    assert res.exit_code == 1, res.output
    out = json.loads(res.output)
    assert out["valid"] is False
    signature = next(c for c in out["checks"] if c["name"] == "signature")
    assert not signature["ok"] and "bukan sertifikat" in signature["detail"]
    res = cli("verify", Path(rev).read_text(), "--jwks", jwks)
    assert res.exit_code == 1 and "Sah per" not in res.output
    # the credential itself still verifies
    assert cli("verify", cred.vc_jwt, "--jwks", jwks).exit_code == 0
