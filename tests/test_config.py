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


def test_every_knob_is_a_setting(tmp_path: Path) -> None:
    base = {"APKD_VAR_DIR": str(tmp_path), "APKD_SECRET_KEY": "k" * 40}
    defaults = load_settings(base)
    assert (defaults.direct_pool_size, defaults.registry_cache_seconds, defaults.sweep_seconds) == (
        16,
        5.0,
        15.0,
    )
    s = load_settings(
        {
            **base,
            "APKD_DB_POOL_SIZE": "4",
            "APKD_DIRECT_POOL_SIZE": "3",
            "APKD_REGISTRY_CACHE_SECONDS": "0",
            "APKD_SWEEP_SECONDS": "0.5",
            "APKD_PASSWORD_HASH_TIME_COST": "1",
            "APKD_PASSWORD_HASH_MEMORY_KIB": "8",
            "APKD_PASSWORD_HASH_PARALLELISM": "1",
            "APKD_LOGIN_MAX_HOURS": "8",
            "APKD_MAX_BODY_BYTES": "2000",
        }
    )
    assert (s.db_pool_size, s.direct_pool_size, s.registry_cache_seconds, s.sweep_seconds) == (4, 3, 0.0, 0.5)
    assert (s.password_hash_time_cost, s.password_hash_memory_kib, s.password_hash_parallelism) == (1, 8, 1)
    assert (s.login_max_hours, s.max_body_bytes) == (8, 2000)


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("APKD_SWEEP_SECONDS", "sering", "APKD_SWEEP_SECONDS harus bilangan"),
        ("APKD_REGISTRY_CACHE_SECONDS", "-1", "tidak negatif"),
        ("APKD_DIRECT_POOL_SIZE", "0", "APKD_DIRECT_POOL_SIZE minimal 1"),
        ("APKD_PASSWORD_HASH_MEMORY_KIB", "4", "minimal 8 ×"),
    ],
)
def test_bad_knobs_are_clear(tmp_path: Path, name: str, value: str, says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        load_settings({"APKD_VAR_DIR": str(tmp_path), "APKD_SECRET_KEY": "k" * 40, name: value})


def test_password_hash_cost_follows_the_settings(tmp_path: Path) -> None:
    from argon2 import extract_parameters

    from apkd.accounts import security

    cheap = load_settings(
        {
            "APKD_VAR_DIR": str(tmp_path),
            "APKD_SECRET_KEY": "k" * 40,
            "APKD_PASSWORD_HASH_TIME_COST": "2",
            "APKD_PASSWORD_HASH_MEMORY_KIB": "16",
            "APKD_PASSWORD_HASH_PARALLELISM": "2",
        }
    )
    before = security._hashing
    try:
        security.configure_password_hashing(cheap)
        h = security.hash_password("rahasia-123")
        params = extract_parameters(h)
        assert (params.time_cost, params.memory_cost, params.parallelism) == (2, 16, 2)
        assert security.verify_password(h, "rahasia-123")
        assert not security.needs_rehash(h)
    finally:
        security._hashing = before
