"""The wallet API: binding a card with the code sent to its phone (the number never stored or
logged), one card per user, unbinding and the preferred card, the payment password; bad input
gets a clear error and changes nothing; nobody reaches another user's card."""

from __future__ import annotations

import logging
import re
from typing import Any

import httpx2
import pytest
from sqlalchemy import select, text

from shua.core.db import Database
from shua.core.notify import DevMessage
from shua.payments.models import PaymentCard
from tests.helpers import assert_problem
from tests.social.test_graph import User, sign_up

CARD = {"number": "6222 0212 3456 7894", "holder": "张三", "phone": "13800138000", "expiry_month": 12,
        "expiry_year": 2030}


async def last_code(database: Database, phone: str = "13800138000") -> str:
    async with database.transaction(write=False) as db:
        message = await db.scalar(select(DevMessage).where(DevMessage.to == phone).order_by(DevMessage.id.desc()))
    assert message is not None
    found = re.search(r"\b(\d{6})\b", message.text)
    assert found, message.text
    return found.group(1)


async def bind(user: User, database: Database, **changes: Any) -> dict[str, Any]:
    card = {**CARD, **changes}
    r = await user.post("/api/v1/wallet/cards", json=card)
    assert r.status_code == 201, r.text
    r = await user.post(f"/api/v1/wallet/cards/{r.json()['id']}/confirmation",
                        json={"code": await last_code(database, card["phone"])})
    assert r.status_code == 200, r.text
    return dict(r.json())


class TestBinding:
    async def test_bind_with_the_code_and_keep_no_number(self, client: httpx2.AsyncClient, database: Database,
                                                         caplog: pytest.LogCaptureFixture) -> None:
        caplog.set_level(logging.DEBUG)
        alice = await sign_up(client, "alice")
        r = await alice.post("/api/v1/wallet/cards", json=CARD)
        assert r.status_code == 201, r.text
        pending = r.json()
        assert (pending["status"], pending["brand"], pending["last4"], pending["phone"]) == (
            "pending", "unionpay", "7894", "138****8000")
        assert (await alice.get("/api/v1/wallet/cards")).json() == []  # not bound until confirmed
        r = await alice.post(f"/api/v1/wallet/cards/{pending['id']}/confirmation",
                             json={"code": await last_code(database)})
        assert r.status_code == 200 and r.json()["status"] == "active" and r.json()["preferred"] is True
        wallet = (await alice.get("/api/v1/wallet")).json()
        assert wallet == {"currency": "CNY", "balance": 0, "cards": 1, "pin_set": False}
        digits = CARD["number"].replace(" ", "")
        async with database.transaction(write=False) as db:
            for table in ("payment_cards", "dev_messages", "idempotency_keys", "outbox_events", "jobs"):
                dump = str((await db.execute(text(f"SELECT * FROM {table}"))).all())  # noqa: S608 - constants
                assert digits not in dump and "6222 0212" not in dump, table
        assert digits not in caplog.text and "6222 0212" not in caplog.text

    async def test_one_card_one_user(self, client: httpx2.AsyncClient, database: Database) -> None:
        alice, bob = await sign_up(client, "alice"), await sign_up(client, "bob")
        await bind(alice, database)
        assert_problem(await alice.post("/api/v1/wallet/cards", json=CARD), 409, "payments.card_already_bound")
        assert_problem(await bob.post("/api/v1/wallet/cards", json={**CARD, "number": "6222021234567894"}), 409,
                       "payments.card_bound_elsewhere")
        cards = (await alice.get("/api/v1/wallet/cards")).json()
        assert_problem(await bob.delete(f"/api/v1/wallet/cards/{cards[0]['id']}"), 404, "payments.card_not_found")
        assert_problem(await bob.put(f"/api/v1/wallet/cards/{cards[0]['id']}/preferred"), 404,
                       "payments.card_not_found")
        r = await alice.delete(f"/api/v1/wallet/cards/{cards[0]['id']}")
        assert r.status_code == 204
        await bind(bob, database)  # unbound by alice: bob may bind it now
        assert len((await bob.get("/api/v1/wallet/cards")).json()) == 1

    async def test_preferred_card_moves(self, client: httpx2.AsyncClient, database: Database) -> None:
        alice = await sign_up(client, "alice")
        first = await bind(alice, database)
        second = await bind(alice, database, number="4111111111111111", phone="13900139000")
        assert second["preferred"] is False
        r = await alice.put(f"/api/v1/wallet/cards/{second['id']}/preferred")
        assert r.status_code == 200 and r.json()["preferred"] is True
        listed = (await alice.get("/api/v1/wallet/cards")).json()
        assert [(c["id"], c["preferred"]) for c in listed] == [(second["id"], True), (first["id"], False)]
        await alice.delete(f"/api/v1/wallet/cards/{second['id']}")
        assert (await alice.get("/api/v1/wallet/cards")).json()[0]["preferred"] is True  # the other takes over

    async def test_wrong_codes_count_and_five_end_the_attempt(self, client: httpx2.AsyncClient,
                                                              database: Database) -> None:
        alice = await sign_up(client, "alice")
        pending = (await alice.post("/api/v1/wallet/cards", json=CARD)).json()
        right = await last_code(database)
        wrong = "000000" if right != "000000" else "111111"
        url = f"/api/v1/wallet/cards/{pending['id']}/confirmation"
        for left in (4, 3, 2, 1, 0):
            body = assert_problem(await alice.post(url, json={"code": wrong}), 422, "payments.code_wrong")
            assert body["attempts_left"] == left
        assert_problem(await alice.post(url, json={"code": right}), 403, "payments.code_expired")
        async with database.transaction(write=False) as db:
            assert (await db.scalar(select(PaymentCard.status))) == "pending"


class TestBadInput:
    @pytest.mark.parametrize(("change", "status", "code"), [
        ({"number": "6222 0212 3456 7895"}, 422, "payments.card_number_invalid"),  # Luhn
        ({"number": "9999 9999 9999 9995"}, 422, "payments.card_brand_unsupported"),
        ({"number": "abcd efgh ijkl"}, 422, "request.invalid"),
        ({"number": "6" * 31}, 422, "request.invalid"),
        ({"expiry_month": 11, "expiry_year": 2026}, 422, "payments.card_expired"),
        ({"expiry_month": 13}, 422, "request.invalid"),
        ({"phone": "call me"}, 422, "request.invalid"),
        ({"holder": ""}, 422, "request.invalid"),
        ({"holder": "x" * 61}, 422, "request.invalid"),
        ({"cvv": "123"}, 422, "request.invalid"),
    ])
    async def test_card_problems(self, client: httpx2.AsyncClient, database: Database, change: dict[str, Any],
                                 status: int, code: str) -> None:
        alice = await sign_up(client, "alice")
        assert_problem(await alice.post("/api/v1/wallet/cards", json={**CARD, **change}), status, code)
        async with database.transaction(write=False) as db:
            assert (await db.scalars(select(PaymentCard))).all() == []
            assert (await db.scalars(select(DevMessage))).all() == []

    async def test_signed_out_and_codes_of_the_wrong_shape(self, client: httpx2.AsyncClient) -> None:
        assert_problem(await client.post("/api/v1/wallet/cards", json=CARD), 401, "auth.required")
        assert_problem(await client.get("/api/v1/wallet"), 401, "auth.required")
        alice = await sign_up(client, "alice")
        for code in ("12345", "1234567", "abcdef", ""):
            assert_problem(await alice.post("/api/v1/wallet/cards/1/confirmation", json={"code": code}), 422,
                           "request.invalid")
        assert_problem(await alice.post("/api/v1/wallet/cards/1/confirmation", json={"code": "123456"}), 404,
                       "payments.card_not_found")


class TestPaymentPassword:
    async def test_set_change_and_weak_ones(self, client: httpx2.AsyncClient) -> None:
        alice = await sign_up(client, "alice")
        assert_problem(await alice.put("/api/v1/wallet/pin", json={"pin": "123456"}), 422, "payments.pin_invalid")
        assert (await alice.put("/api/v1/wallet/pin", json={"pin": "258147"})).status_code == 204
        assert (await alice.get("/api/v1/wallet")).json()["pin_set"] is True
        assert_problem(await alice.put("/api/v1/wallet/pin", json={"pin": "369258"}), 403, "payments.pin_wrong")
        r = await alice.put("/api/v1/wallet/pin", json={"pin": "369258", "current": "258147"})
        assert r.status_code == 204
