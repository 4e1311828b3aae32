"""Account operations. Plain functions: the session first, the rest keyword-only; they never commit."""

from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from typing import Any

from PIL import Image, ImageOps
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from shua.accounts.errors import (
    HandleTaken,
    InvalidCredentials,
    InvalidImage,
    PhoneTaken,
    SessionNotFound,
    UserNotFound,
)
from shua.accounts.models import ACTIVE, DELETED, ROLE_ADMIN, AuthSession, User
from shua.accounts.passwords import check_password
from shua.accounts.schemas import AdminUserRead, MeRead, UserRead, normalise_handle, normalise_phone
from shua.core import clock, jobs, security
from shua.core.errors import InvalidRequest
from shua.core.ids import new_id, parse_id
from shua.core.pagination import decode_cursor, encode_cursor
from shua.core.storage import Storage

AVATAR_SIZE = 256
AVATAR_FORMATS = ("JPEG", "PNG", "WEBP", "GIF")  # no other decoder ever sees an upload
# Refuse decompression bombs from the header, before decoding. Pillow only *warns* between 1x and
# 2x its limit (and decodes anyway); as an error the warning is caught like any other bad image.
Image.MAX_IMAGE_PIXELS = 40_000_000
warnings.simplefilter("error", Image.DecompressionBombWarning)

# Other contexts add what they hold about a user to the export: name -> async fn(db, user_id).
Exporter = Callable[[AsyncSession, int], Awaitable[Any]]
EXPORTERS: dict[str, Exporter] = {}


async def _handle_free(db: AsyncSession, handle: str, *, except_user: int | None = None) -> bool:
    found = await db.scalar(select(User.id).where(User.handle == handle))
    return found is None or found == except_user


async def _unique_handle_for_phone(db: AsyncSession, phone: str) -> str:
    base = "u" + phone[-4:]
    while True:
        candidate = f"{base}{new_id() % 1_000_000:06d}"
        if await _handle_free(db, candidate):
            return candidate


async def signup(
    db: AsyncSession, *, password: str, username: str | None = None, phone: str | None = None,
    nickname: str | None = None, role: str = "user",
) -> User:
    """Create an account with a handle or a phone number as its login."""
    check_password(password, handle=username, phone=phone)
    if username and not await _handle_free(db, username):
        raise HandleTaken(handle=username)
    if phone and await db.scalar(select(User.id).where(User.phone == phone)) is not None:
        raise PhoneTaken()
    handle = username or await _unique_handle_for_phone(db, phone or "")
    now = clock.utcnow()
    user = User(
        id=new_id(), handle=handle, phone=phone, password_hash=await security.hash_password(password),
        nickname=nickname or handle, bio="", role=role, status=ACTIVE, created_at=now, updated_at=now,
    )
    db.add(user)
    try:
        await db.flush()
    except IntegrityError as exc:  # a concurrent signup won the race for the same name
        raise (PhoneTaken() if phone and "phone" in str(exc.orig) else HandleTaken(handle=handle)) from exc
    await jobs.publish(db, "account.created", {"user_id": str(user.id)})
    return user


def _login_clause(login: str) -> Any:
    clauses = []
    with contextlib.suppress(ValueError):
        clauses.append(User.handle == normalise_handle(login))
    with contextlib.suppress(ValueError):
        clauses.append(User.phone == normalise_phone(login))
    return or_(*clauses) if clauses else None


def login_key(login: str) -> str:
    """One rate-limit key per account however its name is spelled ("138 0013 8000", "+8613800138000")."""
    for normalise in (normalise_phone, normalise_handle):
        with contextlib.suppress(ValueError):
            return normalise(login)
    return login.strip().lower()


async def authenticate(db: AsyncSession, *, login: str, password: str) -> User:
    """Check a login name and password; the same error and cost whether the user exists or not."""
    clause = _login_clause(login)
    user = await db.scalar(select(User).where(clause, User.status == ACTIVE)) if clause is not None else None
    if not await security.verify_password(user.password_hash if user else None, password) or user is None:
        raise InvalidCredentials()
    if security.needs_rehash(user.password_hash):
        user.password_hash = await security.hash_password(password)
    return user


async def create_session(
    db: AsyncSession, *, user: User, kind: str, user_agent: str, ip: str, days: int
) -> tuple[AuthSession, str]:
    """Open a device session; returns it and the bearer value `{id}.{secret}` (shown once)."""
    secret = security.new_secret()
    now = clock.utcnow()
    session = AuthSession(
        id=new_id(), user_id=user.id, secret_hash=security.digest(secret), kind=kind,
        user_agent=user_agent[:300], ip=ip[:64], created_at=now, last_seen_at=now,
        expires_at=now + timedelta(days=days),
    )
    db.add(session)
    return session, f"{session.id}.{secret}"


async def resolve_session(db: AsyncSession, *, token: str) -> tuple[AuthSession, User] | None:
    """The live session and user behind a cookie or bearer value, or None."""
    raw_id, _, secret = token.partition(".")
    session_id = parse_id(raw_id)
    if session_id is None or not secret or len(secret) > 100:
        return None
    # One round trip for both rows: this runs on every authenticated request.
    query = select(AuthSession, User).join(User, User.id == AuthSession.user_id).where(AuthSession.id == session_id)
    row = (await db.execute(query)).first()
    if row is None:
        return None
    session, user = row
    if not security.constant_time_equal(session.secret_hash, security.digest(secret)):
        return None
    if session.revoked_at is not None or session.expires_at <= clock.utcnow() or user.status != ACTIVE:
        return None
    return session, user


async def touch_session(db: AsyncSession, *, session_id: int) -> None:
    await db.execute(update(AuthSession).where(AuthSession.id == session_id).values(last_seen_at=clock.utcnow()))


async def list_sessions(db: AsyncSession, *, user: User) -> list[AuthSession]:
    query = (
        select(AuthSession)
        .where(AuthSession.user_id == user.id, AuthSession.revoked_at.is_(None),
               AuthSession.expires_at > clock.utcnow())
        .order_by(AuthSession.last_seen_at.desc())
    )
    return list((await db.scalars(query)).all())


async def revoke_session(db: AsyncSession, *, user: User, session_id: int) -> None:
    """End one of the user's own sessions; someone else's is reported as not found."""
    session = await db.get(AuthSession, session_id) if parse_id(session_id) else None
    if session is None or session.user_id != user.id or session.revoked_at is not None:
        raise SessionNotFound()
    session.revoked_at = clock.utcnow()


async def revoke_all_sessions(db: AsyncSession, *, user_id: int, keep: int | None = None) -> None:
    query = update(AuthSession).where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
    if keep is not None:
        query = query.where(AuthSession.id != keep)
    await db.execute(query.values(revoked_at=clock.utcnow()))


async def update_profile(
    db: AsyncSession, *, user: User, nickname: str | None = None, handle: str | None = None,
    bio: str | None = None, birthday: date | None = None, clear_birthday: bool = False,
    locale: str | None = None,
) -> User:
    """Edit the fields that were given."""
    named = (user.handle, user.nickname)
    if handle is not None and handle != user.handle:
        if not await _handle_free(db, handle, except_user=user.id):
            raise HandleTaken(handle=handle)
        user.handle = handle
    if nickname is not None:
        user.nickname = nickname
    if bio is not None:
        user.bio = bio
    if birthday is not None:
        if birthday > clock.utcnow().date() or birthday.year < 1900:
            raise InvalidRequest("The birthday must be a past date after 1900", field="birthday")
        user.birthday = birthday
    if clear_birthday:
        user.birthday = None
    if locale is not None:
        user.locale = locale
    user.updated_at = clock.utcnow()
    try:
        await db.flush()
    except IntegrityError as exc:
        raise HandleTaken(handle=handle) from exc
    await jobs.publish(db, "account.updated", {"user_id": str(user.id),
                                               "renamed": named != (user.handle, user.nickname)})
    return user


def _normalise_avatar(data: bytes) -> bytes:
    try:
        with Image.open(io.BytesIO(data), formats=AVATAR_FORMATS) as img:
            img.seek(0)
            # Turn phone photos upright first: re-encoding drops the EXIF that said how.
            upright = ImageOps.exif_transpose(img)
            # Re-encode: strips EXIF (GPS!) and any payload hidden in the original bytes.
            rgb = upright.convert("RGB")
            side = min(rgb.size)
            left, top = (rgb.width - side) // 2, (rgb.height - side) // 2
            square = rgb.crop((left, top, left + side, top + side)).resize((AVATAR_SIZE, AVATAR_SIZE))
            out = io.BytesIO()
            square.save(out, "JPEG", quality=88, optimize=True)
            return out.getvalue()
    except Exception as exc:
        # Decoders of hostile files fail in many ways (OSError, SyntaxError, struct.error,
        # EOFError, the bomb warning...); for the client every one means "not an image".
        raise InvalidImage() from exc


async def set_avatar(db: AsyncSession, storage: Storage, *, user: User, data: bytes) -> User:
    """Store a square 256 px JPEG made from the uploaded image."""
    import asyncio

    jpeg = await asyncio.to_thread(_normalise_avatar, data)
    old = user.avatar_key
    user.avatar_key = f"avatars/{user.id}/{new_id()}.jpg"
    await storage.put(user.avatar_key, jpeg, content_type="image/jpeg")
    user.updated_at = clock.utcnow()
    if old:
        await jobs.enqueue(db, "accounts.delete_file", {"key": old})
    return user


async def remove_avatar(db: AsyncSession, *, user: User) -> User:
    if user.avatar_key:
        await jobs.enqueue(db, "accounts.delete_file", {"key": user.avatar_key})
        user.avatar_key = None
    return user


async def change_password(
    db: AsyncSession, *, user: User, current_password: str, new_password: str, keep_session: int | None
) -> None:
    """Change the password and sign out every other device."""
    if not await security.verify_password(user.password_hash, current_password):
        raise InvalidCredentials("The current password is wrong")
    check_password(new_password, handle=user.handle, phone=user.phone)
    user.password_hash = await security.hash_password(new_password)
    user.updated_at = clock.utcnow()
    await revoke_all_sessions(db, user_id=user.id, keep=keep_session)


async def get_user(db: AsyncSession, *, ref: str) -> User:
    """An active user by id or handle."""
    user_id = parse_id(ref)
    if user_id is not None:
        clause = User.id == user_id
    else:
        # Only a well-formed handle reaches the database: PostgreSQL refuses text with a NUL byte.
        try:
            clause = User.handle == normalise_handle(ref)
        except ValueError as exc:
            raise UserNotFound() from exc
    user = await db.scalar(select(User).where(clause, User.status == ACTIVE))
    if user is None:
        raise UserNotFound()
    return user


async def user_by_phone(db: AsyncSession, *, phone: str) -> User | None:
    """The active user with this (normalised) phone number, for friend search by phone."""
    return await db.scalar(select(User).where(User.phone == phone, User.status == ACTIVE))


async def users_by_id(db: AsyncSession, *, ids: list[int]) -> dict[int, User]:
    """Active users by id, in one query (the creators on a feed page, a follower list)."""
    if not ids:
        return {}
    rows = await db.scalars(select(User).where(User.id.in_(set(ids)), User.status == ACTIVE))
    return {user.id: user for user in rows}


async def users_by_handle(db: AsyncSession, *, handles: list[str]) -> dict[str, User]:
    """Active users by (lower-case) handle, in one query (the @mentions in a comment)."""
    if not handles:
        return {}
    rows = await db.scalars(select(User).where(User.handle.in_(set(handles)), User.status == ACTIVE))
    return {user.handle: user for user in rows}


async def export_data(db: AsyncSession, *, user: User) -> dict[str, Any]:
    """Everything Shua holds about the user, as one JSON document."""
    sessions = (await db.scalars(select(AuthSession).where(AuthSession.user_id == user.id))).all()
    data: dict[str, Any] = {
        "format": "shua.export.v1",
        "exported_at": clock.utcnow().isoformat(),
        "account": {
            "id": str(user.id), "handle": user.handle, "phone": user.phone, "nickname": user.nickname,
            "bio": user.bio, "birthday": user.birthday.isoformat() if user.birthday else None,
            "avatar_key": user.avatar_key, "locale": user.locale, "role": user.role,
            "created_at": user.created_at.isoformat(), "updated_at": user.updated_at.isoformat(),
        },
        "sessions": [
            {
                "id": str(s.id), "kind": s.kind, "user_agent": s.user_agent, "ip": s.ip,
                "created_at": s.created_at.isoformat(), "last_seen_at": s.last_seen_at.isoformat(),
                "expires_at": s.expires_at.isoformat(),
                "revoked_at": s.revoked_at.isoformat() if s.revoked_at else None,
            }
            for s in sessions
        ],
    }
    for name, exporter in EXPORTERS.items():
        data[name] = await exporter(db, user.id)
    return data


async def request_deletion(db: AsyncSession, *, user: User, password: str, grace_days: int) -> User:
    """Soft-delete now (invisible, logged out everywhere); a job purges the data after the grace period."""
    if not await security.verify_password(user.password_hash, password):
        raise InvalidCredentials("The password is wrong")
    now = clock.utcnow()
    user.status, user.deleted_at, user.updated_at = DELETED, now, now
    await revoke_all_sessions(db, user_id=user.id)
    await jobs.publish(db, "account.deleted", {"user_id": str(user.id)})
    await jobs.enqueue(db, "accounts.purge", {"user_id": str(user.id)}, run_at=now + timedelta(days=grace_days))
    return user


async def purge(db: AsyncSession, storage: Storage, *, user_id: int) -> bool:
    """Erase a soft-deleted account for good. Idempotent: a second run finds nothing to do."""
    user = await db.get(User, user_id)
    if user is None or user.status != DELETED:
        return False
    await jobs.publish(db, "account.purged", {"user_id": str(user_id)})
    if user.avatar_key:
        await storage.delete(user.avatar_key)
    await db.delete(user)
    return True


async def list_users(db: AsyncSession, *, cursor: str | None, limit: int) -> tuple[list[User], str | None]:
    query = select(User).order_by(User.id.desc()).limit(limit + 1)
    after = decode_cursor(cursor)
    if after is not None:
        after_id = parse_id(after.get("id"))
        if after_id is None:
            raise InvalidRequest("The cursor is not valid", field="cursor")
        query = query.where(User.id < after_id)
    users = list((await db.scalars(query)).all())
    next_cursor = encode_cursor({"id": users[limit - 1].id}) if len(users) > limit else None
    return users[:limit], next_cursor


async def set_role(db: AsyncSession, *, user_id: int, role: str) -> User:
    user = await db.get(User, user_id) if parse_id(user_id) else None
    if user is None:
        raise UserNotFound()
    user.role = role
    user.updated_at = clock.utcnow()
    return user


async def ensure_admin(db: AsyncSession, *, username: str, password: str) -> User:
    """Create an administrator, or promote an existing user of that handle (CLI)."""
    existing = await db.scalar(select(User).where(User.handle == username))
    if existing is not None:
        existing.role = ROLE_ADMIN
        return existing
    return await signup(db, username=username, password=password, role=ROLE_ADMIN)


def avatar_url(user: User) -> str | None:
    return f"/media/{user.avatar_key}" if user.avatar_key else None


def mask_phone(phone: str | None) -> str | None:
    if not phone:
        return None
    return phone[:-8] + "****" + phone[-4:] if len(phone) > 8 else "****"


def to_user_read(user: User) -> UserRead:
    return UserRead(
        id=user.id, handle=user.handle, nickname=user.nickname, bio=user.bio,
        avatar_url=avatar_url(user), created_at=user.created_at,
    )


def to_me_read(user: User) -> MeRead:
    return MeRead(
        **to_user_read(user).model_dump(), phone_masked=mask_phone(user.phone),
        birthday=user.birthday, locale=user.locale, role=user.role,
    )


def to_admin_read(user: User) -> AdminUserRead:
    return AdminUserRead(**to_me_read(user).model_dump(), status=user.status, deleted_at=user.deleted_at)
