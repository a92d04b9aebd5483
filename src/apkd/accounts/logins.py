"""Logging in, changing and resetting passwords, deactivating users: the rules, given a session.

Nothing slow runs inside a transaction: the attempt is counted (and committed) by
apkd.accounts.throttle, the password is checked in a worker thread (apkd.accounts.passwords),
and only then is the request's session used to record the login. On SQLite every transaction
holds the database's one write lock, which an argon2 check must never keep from the savers.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from apkd import audit
from apkd.accounts import passwords, sessions, throttle
from apkd.accounts.models import LoginRecord, User
from apkd.accounts.security import Principal, needs_rehash
from apkd.accounts.service import MAX_PASSWORD, MIN_PASSWORD
from apkd.accounts.sessions import TokenPair
from apkd.config import Settings
from apkd.errors import Conflict, NotFound, TooManyRequests, Unauthorized, Unprocessable

__all__ = ["change_password", "login", "reset_password", "set_active"]

BAD_CREDENTIALS = "Nama pengguna atau kata sandi salah."


def _check_new_password(password: str) -> None:
    if not (MIN_PASSWORD <= len(password) <= MAX_PASSWORD):
        raise Unprocessable(
            f"Kata sandi baru harus {MIN_PASSWORD}-{MAX_PASSWORD} karakter.", code="weak_password"
        )


async def _checked(
    factory: async_sessionmaker[AsyncSession], settings: Settings, username: str, password: str, address: str
) -> throttle.Reservation:
    """Count the attempt, check the password; the reservation of a right password, else raise."""
    reservation = await throttle.reserve(factory, settings, username=username, address=address)
    if not reservation.granted:
        raise TooManyRequests(
            f"Terlalu banyak percobaan masuk yang gagal. Coba lagi dalam {reservation.retry_after} detik.",
            code="too_many_login_attempts",
            headers={"Retry-After": str(reservation.retry_after)},
        )
    user = reservation.user
    ok = await passwords.verify_password(user.password_hash if user else None, password)
    if not ok or user is None or not user.is_active:
        raise Unauthorized(BAD_CREDENTIALS, code="invalid_credentials")
    return reservation


async def login(
    session: AsyncSession,
    factory: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    username: str,
    password: str,
    address: str,
) -> TokenPair:
    """Check a login (throttled, see apkd.accounts.throttle); a new login's tokens."""
    username = username.strip().lower()[:64]
    reservation = await _checked(factory, settings, username, password, address)
    snapshot = reservation.user
    assert snapshot is not None
    new_hash = await passwords.hash_password(password) if needs_rehash(snapshot.password_hash) else None
    user = await session.get(User, snapshot.id)
    if (
        user is None
        or not user.is_active
        or user.password_hash != snapshot.password_hash
        or user.token_version != snapshot.token_version
    ):  # changed while the password was being checked
        raise Unauthorized(BAD_CREDENTIALS, code="invalid_credentials")
    await throttle.clear_after_success(session, reservation)
    if new_hash is not None:
        user.password_hash = new_hash
    user.last_login_addr = address[:64]
    session.add(user)
    return await sessions.start_login(session, settings, user)


async def change_password(
    session: AsyncSession,
    factory: async_sessionmaker[AsyncSession],
    settings: Settings,
    principal: Principal,
    *,
    old_password: str,
    new_password: str,
    address: str,
) -> TokenPair:
    """Change one's own password (the old one is checked and throttled like a login). Every
    other login of the user ends; this one goes on with the tokens returned."""
    _check_new_password(new_password)
    if old_password == new_password:
        raise Unprocessable("Kata sandi baru harus berbeda dari yang lama.", code="same_password")
    reservation = await _checked(factory, settings, principal.username, old_password, address)
    assert reservation.user is not None
    if reservation.user.id != principal.user_id:
        raise Unauthorized(BAD_CREDENTIALS, code="invalid_credentials")
    new_hash = await passwords.hash_password(new_password)
    user = await session.get(User, principal.user_id)
    if user is None or not user.is_active:
        raise Unauthorized("Akun tidak aktif.", code="account_inactive")
    await throttle.clear_after_success(session, reservation)
    user.password_hash = new_hash
    await sessions.end_user_tokens(session, user, "password_changed", keep_sid=principal.sid)
    await audit.record(session, "user.password_changed", "user", user.id or 0, actor=user.username)
    return await sessions.continue_login(session, settings, user, principal)


async def _user(session: AsyncSession, user_id: int) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound(f"Pengguna {user_id} tidak ditemukan.", code="user_not_found")
    return user


async def reset_password(session: AsyncSession, user_id: int, new_password: str, *, actor: Principal) -> User:
    """An admin sets a new password for a user; every token of that user ends."""
    _check_new_password(new_password)
    user = await _user(session, user_id)
    user.password_hash = await passwords.hash_password(new_password)
    await sessions.end_user_tokens(session, user, "password_reset")
    await audit.record(session, "user.password_reset", "user", user_id, actor=actor.username)
    return user


async def set_active(session: AsyncSession, user_id: int, active: bool, *, actor: Principal) -> User:
    """An admin deactivates (every token of the user ends) or reactivates a user."""
    if not active and user_id == actor.user_id:
        raise Conflict("Admin tidak dapat menonaktifkan akunnya sendiri.", code="cannot_deactivate_self")
    user = await _user(session, user_id)
    if user.is_active != active:
        user.is_active = active
        if not active:
            await sessions.end_user_tokens(session, user, "deactivated")
        else:
            session.add(user)
        await audit.record(
            session, "user.activated" if active else "user.deactivated", "user", user_id, actor=actor.username
        )
    return user


async def logout(session: AsyncSession, principal: Principal) -> None:
    """End the caller's login: its access and refresh tokens stop working."""
    await sessions.end_login(session, principal.sid, "logout")
    record = await session.get(LoginRecord, principal.sid)
    if record is None:
        # A token from before login records existed: only the version can end it.
        user = await session.get(User, principal.user_id)
        if user is not None:
            await sessions.end_user_tokens(session, user, "logout")
