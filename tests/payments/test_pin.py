"""The payment password: 6 digits, weak ones refused, hashed; five wrong tries lock it for an
hour (the count survives the failing request); changing it takes the current one; forgotten or
locked, a code to the bound card's phone resets it."""

from __future__ import annotations

import httpx2
import pytest
from sqlalchemy import select

from shua.core import clock
from shua.core.db import Database
from shua.payments import pin
from tests.factories import make_user
from tests.helpers import assert_problem


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


class TestReset:
    async def test_a_locked_password_is_reset_with_the_code_from_the_cards_phone(
            self, client: httpx2.AsyncClient, database: Database) -> None:
        from tests.payments.test_wallet_routes import bind, last_code
        from tests.social.test_graph import sign_up

        alice = await sign_up(client, "alice")
        assert_problem(await alice.post("/api/v1/wallet/pin/reset"), 404, "payments.pin_not_set")
        await alice.client.put("/api/v1/wallet/pin", json={"pin": "135790"}, headers=alice.headers)
        assert_problem(await alice.post("/api/v1/wallet/pin/reset"), 409, "payments.pin_reset_needs_card")
        await bind(alice, database)
        for _ in range(pin.MAX_ATTEMPTS):
            with pytest.raises((pin.PinWrong, pin.PinLocked)):
                await pin.verify(database, user_id=int(alice.id), pin="000001")
        with pytest.raises(pin.PinLocked):
            await pin.verify(database, user_id=int(alice.id), pin="135790")
        url = "/api/v1/wallet/pin/reset/confirmation"
        assert_problem(await alice.post(url, json={"code": "123456", "pin": "246813"}), 403,
                       "payments.pin_reset_code_expired")  # none asked for yet
        r = await alice.post("/api/v1/wallet/pin/reset")
        assert r.status_code == 202 and r.json() == {"phone": "138****8000"}
        code = await last_code(database)
        wrong = "000000" if code != "000000" else "111111"
        assert_problem(await alice.post(url, json={"code": wrong, "pin": "246813"}), 422,
                       "payments.pin_reset_code_wrong")
        assert_problem(await alice.post(url, json={"code": code, "pin": "111111"}), 422, "payments.pin_invalid")
        r = await alice.post(url, json={"code": code, "pin": "246813"})
        assert r.status_code == 204
        await pin.verify(database, user_id=int(alice.id), pin="246813")  # unlocked, the new one works
        assert_problem(await alice.post(url, json={"code": code, "pin": "246813"}), 403,
                       "payments.pin_reset_code_expired")  # a code works once

    async def test_five_wrong_codes_end_the_attempt(self, client: httpx2.AsyncClient, database: Database) -> None:
        from tests.payments.test_wallet_routes import bind, last_code
        from tests.social.test_graph import sign_up

        alice = await sign_up(client, "alice")
        await alice.client.put("/api/v1/wallet/pin", json={"pin": "135790"}, headers=alice.headers)
        await bind(alice, database)
        await alice.post("/api/v1/wallet/pin/reset")
        code = await last_code(database)
        wrong = "000000" if code != "000000" else "111111"
        url = "/api/v1/wallet/pin/reset/confirmation"
        for _ in range(5):
            await alice.post(url, json={"code": wrong, "pin": "246813"})
        assert_problem(await alice.post(url, json={"code": code, "pin": "246813"}), 403,
                       "payments.pin_reset_code_expired")
