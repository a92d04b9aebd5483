"""Settings from the environment (docs/contract.md, "Environment"; every variable is in the README's
configuration table). Nothing else in apkd reads the environment: code gets ``Settings`` passed in.

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


# Record type -> years kept after the session (docs/decisions/027-archive-bundle-and-retention.md).
RETENTION_DEFAULTS: tuple[tuple[str, int], ...] = (
    ("responses", 5),  # responses with their history, forms, timing events
    ("minutes", 10),  # minutes, incidents, proctor actions, conflicts of interest
    ("results", 10),  # grading, key corrections, decisions
    ("appeals", 10),  # appeals and complaints with their decisions
    ("credentials", 15),  # credentials issued and their status changes
    ("audit", 15),  # the audit chain and the archive bundles themselves
)


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
    # The body's LinkedIn organization id, for "add to LinkedIn profile" links (empty: the
    # links name the body by issuer_name).
    linkedin_organization_id: str = ""
    redis_url: str = ""
    # Connections: SQLAlchemy's pool (PostgreSQL) and the direct asyncpg pool beside it.
    db_pool_size: int = 10
    direct_pool_size: int = 16
    # At a worker's start: open the direct pool's connections and gc.freeze() what start-up
    # built, so the first burst of requests pays neither (decision 048).
    warm_start: bool = True
    # Seconds each worker keeps a rendered public record (0: no cache).
    registry_cache_seconds: float = 5.0
    # Seconds between sweeps closing overdue attempts (0: no sweeper in this process).
    sweep_seconds: float = 15.0
    # Batches of at least this many credentials are signed in a child process while the
    # issuer prepares and stores (decision 054); 0: always sign in the issuer's own process.
    signing_child_min: int = 500
    # argon2id cost: OWASP's Password Storage Cheat Sheet parameters by default (m=19 MiB, t=2, p=1).
    password_hash_time_cost: int = 2
    password_hash_memory_kib: int = 19 * 1024
    password_hash_parallelism: int = 1
    # Addresses or networks of the reverse proxies whose X-Forwarded-For is believed (empty:
    # none; the peer address is the client).
    trusted_proxies: tuple[str, ...] = ()
    # Requests per minute per client on cacheable public documents (JWKS, status lists,
    # checkpoint, proofs, schemes, pages, static files) and on the login route.
    public_document_rate_limit: int = 1200
    login_rate_limit: int = 600
    # Failed logins: free failures per username and per client address within the window,
    # then each further attempt waits a delay growing to login_max_delay_seconds.
    login_user_failures: int = 5
    login_address_failures: int = 100
    login_failure_window_seconds: int = 900
    login_max_delay_seconds: int = 60
    # Password hashes computed at once per worker (each in a thread of its own).
    password_hash_concurrency: int = 2
    # Seconds a worker trusts its last look at a login (user active, token version, logout).
    auth_recheck_seconds: int = 5
    # Appeals and complaints (ISO/IEC 17024): days the body has to decide each, and complaints
    # accepted per client address per hour on the public route (0: no limit).
    appeal_review_days: int = 30
    complaint_review_days: int = 30
    complaint_rate_limit: int = 5
    # Years each record type is kept (stated in every archive bundle; APKD_RETENTION_<TYPE>_YEARS).
    retention_years: tuple[tuple[str, int], ...] = RETENTION_DEFAULTS
    # An exam site server (issue 16): loads packages, refuses what needs the centre.
    site_mode: bool = False
    # A site server's centre (state reports, docs/decisions/042): empty means the URL the
    # package carries (the centre's APKD_BASE_URL at export).
    centre_url: str = ""
    # Seconds between a site server's tries to report a changed state (0: no reporter).
    site_report_seconds: float = 60.0
    # The witnesses whose cosignatures of the log's checkpoints are accepted and served
    # (C2SP vkeys ``name+hash+base64(0x04||key)``, separated by spaces or commas; decision 051).
    log_witnesses: tuple[str, ...] = ()

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


def _float_env(environ: dict[str, str] | os._Environ[str], name: str, default: float) -> float:
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} harus bilangan, bukan {raw!r}") from exc
    if not value >= 0 or value == float("inf"):
        raise ConfigError(f"{name} harus bilangan tidak negatif yang terhingga")
    return value


def _positive_int_env(environ: dict[str, str] | os._Environ[str], name: str, default: int) -> int:
    value = _int_env(environ, name, default)
    if value < 1:
        raise ConfigError(f"{name} minimal 1")
    return value


def _trusted_proxies(raw: str) -> tuple[str, ...]:
    import ipaddress

    out = []
    for part in raw.replace(",", " ").split():
        try:
            out.append(str(ipaddress.ip_network(part, strict=False)))
        except ValueError as exc:
            raise ConfigError(
                f"APKD_TRUSTED_PROXIES: {part!r} bukan alamat IP atau jaringan (contoh: 10.0.0.5, 10.0.0.0/24)"
            ) from exc
    return tuple(out)


def _bool_env(environ: dict[str, str] | os._Environ[str], name: str) -> bool:
    raw = environ.get(name, "").strip().lower()
    if raw in ("", "0", "false", "no"):
        return False
    if raw in ("1", "true", "yes"):
        return True
    raise ConfigError(f"{name} harus 1 atau 0, bukan {raw!r}")


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
    parallelism = _positive_int_env(
        env_map, "APKD_PASSWORD_HASH_PARALLELISM", Settings.password_hash_parallelism
    )
    return Settings(
        env=env,
        database_url=env_map.get("APKD_DATABASE_URL", DEFAULT_DATABASE_URL),
        base_url=base_url,
        secret_key=secret,
        public_rate_limit=_int_env(env_map, "APKD_PUBLIC_RATE_LIMIT", 120),
        var_dir=var_dir,
        access_token_minutes=_int_env(env_map, "APKD_ACCESS_TOKEN_MINUTES", 60) or 60,
        login_max_hours=_positive_int_env(env_map, "APKD_LOGIN_MAX_HOURS", Settings.login_max_hours),
        max_body_bytes=_positive_int_env(env_map, "APKD_MAX_BODY_BYTES", Settings.max_body_bytes),
        issuer_name=env_map.get("APKD_ISSUER_NAME", Settings.issuer_name),
        issuer_place=env_map.get("APKD_ISSUER_PLACE", Settings.issuer_place),
        signatory_name=env_map.get("APKD_SIGNATORY_NAME", Settings.signatory_name),
        signatory_nip=env_map.get("APKD_SIGNATORY_NIP", Settings.signatory_nip),
        signatory_title=env_map.get("APKD_SIGNATORY_TITLE", Settings.signatory_title),
        linkedin_organization_id=env_map.get("APKD_LINKEDIN_ORGANIZATION_ID", "").strip(),
        redis_url=env_map.get("APKD_REDIS_URL", ""),
        db_pool_size=_positive_int_env(env_map, "APKD_DB_POOL_SIZE", Settings.db_pool_size),
        direct_pool_size=_positive_int_env(env_map, "APKD_DIRECT_POOL_SIZE", Settings.direct_pool_size),
        warm_start=_bool_env(env_map, "APKD_WARM_START") if env_map.get("APKD_WARM_START") else True,
        registry_cache_seconds=_float_env(
            env_map, "APKD_REGISTRY_CACHE_SECONDS", Settings.registry_cache_seconds
        ),
        sweep_seconds=_float_env(env_map, "APKD_SWEEP_SECONDS", Settings.sweep_seconds),
        signing_child_min=_int_env(env_map, "APKD_SIGNING_CHILD_MIN", Settings.signing_child_min),
        password_hash_time_cost=_positive_int_env(
            env_map, "APKD_PASSWORD_HASH_TIME_COST", Settings.password_hash_time_cost
        ),
        password_hash_memory_kib=_password_memory(env_map, parallelism),
        password_hash_parallelism=parallelism,
        trusted_proxies=_trusted_proxies(env_map.get("APKD_TRUSTED_PROXIES", "")),
        public_document_rate_limit=_int_env(
            env_map, "APKD_PUBLIC_DOCUMENT_RATE_LIMIT", Settings.public_document_rate_limit
        ),
        login_rate_limit=_int_env(env_map, "APKD_LOGIN_RATE_LIMIT", Settings.login_rate_limit),
        login_user_failures=_positive_int_env(
            env_map, "APKD_LOGIN_USER_FAILURES", Settings.login_user_failures
        ),
        login_address_failures=_positive_int_env(
            env_map, "APKD_LOGIN_ADDRESS_FAILURES", Settings.login_address_failures
        ),
        login_failure_window_seconds=_positive_int_env(
            env_map, "APKD_LOGIN_FAILURE_WINDOW_SECONDS", Settings.login_failure_window_seconds
        ),
        login_max_delay_seconds=_int_env(
            env_map, "APKD_LOGIN_MAX_DELAY_SECONDS", Settings.login_max_delay_seconds
        ),
        password_hash_concurrency=_positive_int_env(
            env_map, "APKD_PASSWORD_HASH_CONCURRENCY", Settings.password_hash_concurrency
        ),
        auth_recheck_seconds=_int_env(env_map, "APKD_AUTH_RECHECK_SECONDS", Settings.auth_recheck_seconds),
        appeal_review_days=_positive_int_env(env_map, "APKD_APPEAL_REVIEW_DAYS", Settings.appeal_review_days),
        complaint_review_days=_positive_int_env(
            env_map, "APKD_COMPLAINT_REVIEW_DAYS", Settings.complaint_review_days
        ),
        complaint_rate_limit=_int_env(env_map, "APKD_COMPLAINT_RATE_LIMIT", Settings.complaint_rate_limit),
        retention_years=tuple(
            (name, _positive_int_env(env_map, f"APKD_RETENTION_{name.upper()}_YEARS", years))
            for name, years in RETENTION_DEFAULTS
        ),
        site_mode=_bool_env(env_map, "APKD_SITE_MODE"),
        centre_url=_centre_url(env_map.get("APKD_CENTRE_URL", "")),
        site_report_seconds=_float_env(env_map, "APKD_SITE_REPORT_SECONDS", Settings.site_report_seconds),
        log_witnesses=tuple(env_map.get("APKD_LOG_WITNESSES", "").replace(",", " ").split()),
    )


def _centre_url(raw: str) -> str:
    value = raw.strip().rstrip("/")
    if value and not value.startswith(("http://", "https://")):
        raise ConfigError("APKD_CENTRE_URL harus diawali http:// atau https://")
    return value


def _password_memory(environ: dict[str, str] | os._Environ[str], parallelism: int) -> int:
    value = _int_env(environ, "APKD_PASSWORD_HASH_MEMORY_KIB", Settings.password_hash_memory_kib)
    if value < 8 * parallelism:
        raise ConfigError(
            f"APKD_PASSWORD_HASH_MEMORY_KIB minimal 8 × APKD_PASSWORD_HASH_PARALLELISM ({8 * parallelism})"
        )
    return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
