"""Account service functions against the real database."""

from __future__ import annotations

from shua.accounts import service
from shua.accounts.models import User
from shua.core import security
from shua.core.db import Database
from tests.helpers import PASSWORD


class TestPasswordHashing:
    async def test_hashes_are_argon2id(self, database: Database) -> None:
        async with database.transaction() as db:
            user = await service.signup(db, username="hashy", password=PASSWORD)
        assert user.password_hash.startswith("$argon2id$")
        assert PASSWORD not in user.password_hash

    async def test_login_upgrades_an_old_hash_to_the_current_cost(self, database: Database) -> None:
        async with database.transaction() as db:
            user = await service.signup(db, username="upgrader", password=PASSWORD)
        old_hash = user.password_hash
        security.configure_hashing(time_cost=2, memory_kib=2048)  # the operator raised the cost
        try:
            async with database.transaction() as db:
                await service.authenticate(db, login="upgrader", password=PASSWORD)
            async with database.transaction(write=False) as db:
                stored = (await db.get(User, user.id)).password_hash  # type: ignore[union-attr]
            assert stored != old_hash
            assert "m=2048,t=2" in stored
            assert await security.verify_password(stored, PASSWORD)
        finally:
            security.configure_hashing(time_cost=1, memory_kib=1024)
