from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from apkd.config import ConfigError, load_settings


def test_production_without_secret_refuses(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="APKD_SECRET_KEY"):
        load_settings({"APKD_ENV": "production", "APKD_VAR_DIR": str(tmp_path)})


def test_production_with_secret_starts(tmp_path: Path) -> None:
    s = load_settings({"APKD_ENV": "production", "APKD_SECRET_KEY": "s" * 48, "APKD_VAR_DIR": str(tmp_path)})
    assert s.is_production and s.secret_key == "s" * 48
    assert not (tmp_path / "secret_key").exists()


def _read_secret(var_dir: str) -> str:
    return load_settings({"APKD_VAR_DIR": var_dir}).secret_key


def test_development_secret_generated_once_and_shared_by_workers(tmp_path: Path) -> None:
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        secrets = pool.map(_read_secret, [str(tmp_path)] * 8)
    assert len(set(secrets)) == 1 and len(secrets[0]) > 40
    assert _read_secret(str(tmp_path)) == secrets[0]


def test_bad_settings_are_clear(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="APKD_PUBLIC_RATE_LIMIT"):
        load_settings({"APKD_VAR_DIR": str(tmp_path), "APKD_PUBLIC_RATE_LIMIT": "banyak"})
    with pytest.raises(ConfigError, match="APKD_BASE_URL"):
        load_settings({"APKD_VAR_DIR": str(tmp_path), "APKD_BASE_URL": "apkd.example"})
