"""Passwords (argon2id) and access tokens (JWT, HS256 pinned, issuer/audience/expiry checked).

A token carries ``sid``, the id of the login it came from: refreshing keeps the same ``sid``
(and the original ``auth_time``), so an exam attempt bound to a login survives refreshes.
It also carries ``ver``, the user's token version when it was issued: bumping the version
(deactivation, password change or reset) ends every token issued before (apkd.accounts.sessions).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from apkd.config import Settings
from apkd.db import utcnow

ALGORITHM = "HS256"
ISSUER = "apkd"
AUDIENCE = "apkd-api"


class _Hashing:
    """The process's argon2id hasher, with its cost from the settings (see
    :func:`configure_password_hashing`); by default OWASP's Password Storage Cheat Sheet
    parameters: 19 MiB of memory, 2 passes, 1 lane (about 20-30 ms of one core). Called through
    apkd.accounts.passwords, which runs it in worker threads, a bounded number at a time."""

    def __init__(self, time_cost: int = 2, memory_kib: int = 19 * 1024, parallelism: int = 1) -> None:
        self.hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)
        self.dummy_hash = self.hasher.hash("apkd-dummy-password-for-timing")


_hashing = _Hashing()


def configure_password_hashing(settings: Settings) -> None:
    """Use the argon2 cost of ``settings`` (APKD_PASSWORD_HASH_*) from now on in this process.

    Called where the process is wired: ``create_app`` and the CLI. Hashes made with another cost
    still verify (argon2 hashes carry their parameters) and are rehashed at the next login."""
    global _hashing
    params = (
        settings.password_hash_time_cost,
        settings.password_hash_memory_kib,
        settings.password_hash_parallelism,
    )
    current = _hashing.hasher
    if params == (current.time_cost, current.memory_cost, current.parallelism):
        return
    _hashing = _Hashing(*params)


def hash_password(password: str) -> str:
    return _hashing.hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Constant-time check; an unknown user still costs one argon2 verification."""
    hashing = _hashing
    try:
        return (
            hashing.hasher.verify(password_hash or hashing.dummy_hash, password) and password_hash is not None
        )
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hashing.hasher.check_needs_rehash(password_hash)


@dataclass(frozen=True)
class Principal:
    user_id: int
    username: str
    role: str
    sid: str
    auth_time: int
    version: int = 0


class TokenError(Exception):
    pass


def _signing_key(settings: Settings) -> bytes:
    # A key of its own, derived from the secret: the raw secret signs nothing directly.
    return hmac.new(settings.secret_key.encode(), b"apkd access token v1", hashlib.sha256).digest()


def issue_token(
    settings: Settings,
    *,
    user_id: int,
    username: str,
    role: str,
    sid: str | None = None,
    auth_time: int | None = None,
    version: int = 0,
    now: datetime | None = None,
) -> tuple[str, int]:
    now = now or utcnow()
    ttl = settings.access_token_minutes * 60
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": str(user_id),
        "name": username,
        "role": role,
        "sid": sid or secrets.token_urlsafe(16),
        "auth_time": auth_time if auth_time is not None else int(now.timestamp()),
        "ver": version,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(seconds=ttl)).timestamp()),
    }
    return jwt.encode(claims, _signing_key(settings), algorithm=ALGORITHM), ttl


def decode_token(settings: Settings, token: str) -> Principal:
    return decode_token_with_expiry(settings, token)[0]


def decode_token_with_expiry(settings: Settings, token: str) -> tuple[Principal, float]:
    try:
        claims = jwt.decode(
            token,
            _signing_key(settings),
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": ["exp", "iat", "iss", "aud", "sub", "sid", "role"]},
        )
        principal = Principal(
            user_id=int(claims["sub"]),
            username=str(claims.get("name", "")),
            role=str(claims["role"]),
            sid=str(claims["sid"]),
            auth_time=int(claims.get("auth_time", claims["iat"])),
            version=int(claims.get("ver", 0)),
        )
        return principal, float(claims["exp"])
    except (jwt.PyJWTError, ValueError, KeyError) as exc:
        raise TokenError(str(exc)) from exc
