"""Settings from the environment (see CONTRACT.md, "Environment").

Fail fast: in production a missing APKD_SECRET_KEY stops the process with a clear message.
In development a secret is generated once and kept in ``var/secret_key`` so that every worker
process (and every restart) signs and checks tokens with the same key.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///var/apkd.db"
DEFAULT_BASE_URL = "http://127.0.0.1:8000"


class ConfigError(RuntimeError):
    """A setting is missing or wrong; the message says what to set."""


@dataclass(frozen=True)
class Settings:
    env: str = "development"
    database_url: str = DEFAULT_DATABASE_URL
    base_url: str = DEFAULT_BASE_URL
    secret_key: str = field(default="", repr=False)
    public_rate_limit: int = 120
    var_dir: Path = Path("var")
    access_token_minutes: int = 60
    login_max_hours: int = 12
    max_body_bytes: int = 1_000_000
    issuer_name: str = "Lembaga Sertifikasi Profesi Aparatur Pengelola Keuangan Daerah"
    issuer_place: str = "Kalabahi"
    signatory_name: str = "Dr. Maria Goreti Lany, S.E., M.Si."
    signatory_nip: str = "197203151998032004"
    signatory_title: str = "Ketua Lembaga Sertifikasi"
    redis_url: str = ""

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def issuer_id(self) -> str:
        return f"{self.base_url.rstrip('/')}/issuer"


def _int_env(environ: dict[str, str] | os._Environ[str], name: str, default: int) -> int:
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} harus bilangan bulat, bukan {raw!r}") from exc
    if value < 0:
        raise ConfigError(f"{name} tidak boleh negatif")
    return value


def _dev_secret(var_dir: Path) -> str:
    """Return the development secret, creating it once; safe when several workers race."""
    path = var_dir / "secret_key"
    var_dir.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48))
    # A racing worker may read before the writer has written: wait for content.
    for _ in range(100):
        value = path.read_text().strip()
        if value:
            return value
        import time

        time.sleep(0.01)
    raise ConfigError(f"{path} kosong; hapus berkas itu lalu jalankan ulang")


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    env_map: dict[str, str] | os._Environ[str] = os.environ if environ is None else environ
    env = env_map.get("APKD_ENV", "development").strip() or "development"
    if env not in {"development", "production", "test"}:
        raise ConfigError("APKD_ENV harus 'development', 'production' atau 'test'")
    var_dir = Path(env_map.get("APKD_VAR_DIR", "var"))
    secret = env_map.get("APKD_SECRET_KEY", "")
    if not secret:
        if env == "production":
            raise ConfigError(
                "APKD_SECRET_KEY wajib diisi saat APKD_ENV=production "
                "(contoh: export APKD_SECRET_KEY=$(python -c 'import secrets;print(secrets.token_urlsafe(48))'))"
            )
        secret = _dev_secret(var_dir)
    elif len(secret) < 32 and env == "production":
        raise ConfigError("APKD_SECRET_KEY terlalu pendek: minimal 32 karakter")
    base_url = env_map.get("APKD_BASE_URL", DEFAULT_BASE_URL).rstrip("/")
    if not base_url.startswith(("http://", "https://")):
        raise ConfigError("APKD_BASE_URL harus diawali http:// atau https://")
    return Settings(
        env=env,
        database_url=env_map.get("APKD_DATABASE_URL", DEFAULT_DATABASE_URL),
        base_url=base_url,
        secret_key=secret,
        public_rate_limit=_int_env(env_map, "APKD_PUBLIC_RATE_LIMIT", 120),
        var_dir=var_dir,
        access_token_minutes=_int_env(env_map, "APKD_ACCESS_TOKEN_MINUTES", 60) or 60,
        issuer_name=env_map.get("APKD_ISSUER_NAME", Settings.issuer_name),
        issuer_place=env_map.get("APKD_ISSUER_PLACE", Settings.issuer_place),
        signatory_name=env_map.get("APKD_SIGNATORY_NAME", Settings.signatory_name),
        signatory_nip=env_map.get("APKD_SIGNATORY_NIP", Settings.signatory_nip),
        signatory_title=env_map.get("APKD_SIGNATORY_TITLE", Settings.signatory_title),
        redis_url=env_map.get("APKD_REDIS_URL", ""),
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
