"""Password hashing, random secrets and CSRF tokens."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

# argon2id with the library's RFC 9106 low-memory defaults (t=3, 64 MiB); ~7 verifies/s/core,
# so hashing runs in a thread and logins are rate-limited.
_hasher = PasswordHasher()
# A fixed hash to verify against when the account does not exist, so a missing user
# costs the same time as a wrong password (no user enumeration by timing).
_DUMMY_HASH = _hasher.hash("shua-dummy-password")


def configure_hashing(*, time_cost: int, memory_kib: int) -> None:
    """Set the argon2id cost. Stored hashes keep their own parameters and are upgraded
    to the current ones at the next successful login (see needs_rehash)."""
    global _hasher, _DUMMY_HASH
    if (_hasher.time_cost, _hasher.memory_cost) == (time_cost, memory_kib):
        return
    _hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib)
    _DUMMY_HASH = _hasher.hash("shua-dummy-password")


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    def verify() -> bool:
        try:
            return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(verify)


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def new_secret(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def digest(secret: str) -> str:
    """Store only a hash of bearer secrets: a leaked table does not leak live sessions."""
    return hashlib.sha256(secret.encode()).hexdigest()


def sign(key: str, message: str) -> str:
    return hmac.new(key.encode(), message.encode(), hashlib.sha256).hexdigest()


def constant_time_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
