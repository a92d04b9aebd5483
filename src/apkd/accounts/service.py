"""Users: the rules, given a session (logins and passwords: apkd.accounts.logins)."""

from __future__ import annotations

import re

from sqlalchemy.exc import IntegrityError
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from apkd import audit
from apkd.accounts.models import ROLES, Role, User
from apkd.accounts.nip import NipError, validate_nip
from apkd.accounts.passwords import hash_password
from apkd.accounts.schemas import UserCreate
from apkd.errors import Conflict, Unprocessable

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")
MIN_PASSWORD = 8
MAX_PASSWORD = 256


def validate_new_user(data: UserCreate) -> UserCreate:
    """Check a new user's fields; raise Unprocessable with a message that says what to fix."""
    username = data.username.strip().lower()
    if not USERNAME_RE.match(username):
        raise Unprocessable(
            "Nama pengguna harus 3-64 karakter: huruf kecil, angka, titik, garis bawah atau tanda hubung.",
            code="invalid_username",
        )
    if data.role not in ROLES:
        raise Unprocessable(f"Peran harus salah satu dari: {', '.join(ROLES)}.", code="invalid_role")
    if not (MIN_PASSWORD <= len(data.password) <= MAX_PASSWORD):
        raise Unprocessable(f"Kata sandi minimal {MIN_PASSWORD} karakter.", code="weak_password")
    if not data.full_name.strip():
        raise Unprocessable("Nama lengkap wajib diisi.", code="invalid_full_name")
    nip = None
    if data.nip is not None and data.nip.strip():
        try:
            nip = validate_nip(data.nip).nip
        except NipError as exc:
            raise Unprocessable(exc.message, code="invalid_nip", extra={"nip_part": exc.part}) from exc
    region = (data.region_code or "").strip() or None
    if region is not None and not re.fullmatch(r"[0-9]{4}", region):
        raise Unprocessable(
            "Kode wilayah harus 4 digit angka (kode kabupaten/kota).", code="invalid_region_code"
        )
    if data.role == Role.VIEWER and region is None:
        raise Unprocessable(
            "Akun peninjau (viewer) wajib diberi kode wilayah kabupaten/kota yang boleh dilihatnya.",
            code="invalid_region_code",
        )
    return UserCreate(
        username=username,
        password=data.password,
        role=data.role,
        full_name=data.full_name.strip(),
        nip=nip,
        instansi=(data.instansi or "").strip() or None,
        jabatan=(data.jabatan or "").strip() or None,
        region_code=region,
    )


async def create_user(session: AsyncSession, data: UserCreate, *, actor: str | None) -> User:
    clean = validate_new_user(data)
    password_hash = await hash_password(clean.password)  # before the transaction: it is slow
    taken = (await session.exec(select(User).where(User.username == clean.username))).first()
    if taken is not None:
        raise Conflict(f"Nama pengguna '{clean.username}' sudah dipakai.", code="username_taken")
    if clean.nip is not None:
        nip_taken = (await session.exec(select(User).where(User.nip == clean.nip))).first()
        if nip_taken is not None:
            raise Conflict("NIP ini sudah terdaftar pada pengguna lain.", code="nip_taken")
    user = User(
        username=clean.username,
        password_hash=password_hash,
        role=clean.role,
        full_name=clean.full_name,
        nip=clean.nip,
        instansi=clean.instansi,
        jabatan=clean.jabatan,
        region_code=clean.region_code,
        can_decide=bool(data.can_decide) and clean.role == Role.PROCTOR,
    )
    try:
        # A savepoint: a name taken meanwhile by another worker fails only this insert, and the
        # caller's unit of work stays usable (the demo seeding goes on past a taken account).
        async with session.begin_nested():
            session.add(user)
    except IntegrityError as exc:
        raise Conflict("Nama pengguna atau NIP sudah dipakai.", code="username_taken") from exc
    await audit.record(
        session,
        "user.created",
        "user",
        user.id or 0,
        actor=actor,
        details={"username": user.username, "role": user.role, "can_decide": user.can_decide},
    )
    return user


async def holds_decision_permission(session: AsyncSession, user_id: int) -> bool:
    """The certification-decision permission: every active admin; an active proctor when
    granted (``can_decide``: a senior assessor who examines some sessions and decides others)."""
    user = await session.get(User, user_id)
    if user is None or not user.is_active:
        return False
    return user.role == Role.ADMIN or (user.role == Role.PROCTOR and user.can_decide)


async def username_of(session: AsyncSession, user_id: int | None) -> str | None:
    if user_id is None:
        return None
    user = await session.get(User, user_id)
    return user.username if user is not None else None
