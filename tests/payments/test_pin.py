"""The payment password: 6 digits, weak ones refused, hashed; five wrong tries lock it for an
hour (the count survives the failing request); changing it takes the current one."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from shua.core import clock
from shua.core.db import Database
from shua.payments import pin
from tests.factories import make_user


async def user(database: Database) -> int:
    async with database.transaction() as db:
        return (await make_user(db, "payer")).id


class TestPaymentPassword:
    async def test_set_verify_and_never_stored_plain(self, database: Database) -> None:
        uid = await user(database)
        with pytest.raises(pin.PinNotSet):
            await pin.verify(database, user_id=uid, pin="135790")
        await pin.set_pin(database, user_id=uid, pin="135790")
        await pin.verify(database, user_id=uid, pin="135790")
        async with database.transaction(write=False) as db:
            stored = await db.scalar(select(pin.PaymentPassword.password_hash))
        assert stored and "135790" not in stored and stored.startswith("$argon2id$")

    @pytest.mark.parametrize("bad", ["12345", "1234567", "abcdef", "12 456", "１３５７９０", "111111", "123456",
                                     "987654", ""])
    async def test_weak_or_malformed_are_refused(self, database: Database, bad: str) -> None:
        uid = await user(database)
        with pytest.raises(pin.PinInvalid):
            await pin.set_pin(database, user_id=uid, pin=bad)

    async def test_five_wrong_lock_it_even_for_the_right_one(self, database: Database) -> None:
        uid = await user(database)
        await pin.set_pin(database, user_id=uid, pin="246810")
        for left in (4, 3, 2, 1):
            with pytest.raises(pin.PinWrong) as wrong:
                await pin.verify(database, user_id=uid, pin="000001")
            assert wrong.value.details["attempts_left"] == left
        with pytest.raises(pin.PinLocked):
            await pin.verify(database, user_id=uid, pin="000001")
        with pytest.raises(pin.PinLocked):
            await pin.verify(database, user_id=uid, pin="246810")
        clock.travel(pin.LOCKOUT.total_seconds() + 1)
        await pin.verify(database, user_id=uid, pin="246810")  # the lock ran out
        with pytest.raises(pin.PinWrong) as wrong:
            await pin.verify(database, user_id=uid, pin="000001")
        assert wrong.value.details["attempts_left"] == 4  # counted afresh after a success

    async def test_changing_it_takes_the_current_one(self, database: Database) -> None:
        uid = await user(database)
        await pin.set_pin(database, user_id=uid, pin="246810")
        with pytest.raises(pin.PinWrong):
            await pin.set_pin(database, user_id=uid, pin="975310", current="000001")
        await pin.set_pin(database, user_id=uid, pin="975310", current="246810")
        await pin.verify(database, user_id=uid, pin="975310")
        with pytest.raises(pin.PinWrong):
            await pin.verify(database, user_id=uid, pin="246810")
