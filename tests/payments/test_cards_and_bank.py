"""Card checks (Luhn, BIN ranges, expiry) that keep numbers out of storage and logs, and the
simulated bank: declines by test card, signed webhooks that may repeat or come out of order,
and signatures that refuse forgeries, edits and replays."""

from __future__ import annotations

import json
import random
from datetime import date

import pytest
from sqlalchemy import select

from shua.core import clock
from shua.core.db import Database
from shua.core.jobs import Job
from shua.payments import bank, cards
from shua.payments.models import SimulatedBankOperation

TODAY = date(2026, 12, 1)
UNIONPAY = "6222 0212 3456 7894"  # a Luhn-valid 62… number
VISA = "4111111111111111"


def valid(prefix: str, length: int) -> str:
    """A Luhn-valid number of that prefix and length."""
    body = prefix + "0" * (length - len(prefix) - 1)
    return next(body + d for d in "0123456789" if cards.luhn_ok(body + d))


class TestCards:
    @pytest.mark.parametrize(("number", "brand"), [
        (UNIONPAY, "unionpay"), (VISA, "visa"), ("5555555555554444", "mastercard"),
        ("2223003122003222", "mastercard"), ("378282246310005", "amex"), ("3530111333300000", "jcb"),
        (valid("62", 19), "unionpay"),
    ])
    def test_brands_by_bin(self, number: str, brand: str) -> None:
        card = cards.check(number, 12, 2030, today=TODAY)
        assert card.brand == brand and card.last4 == cards.digits_of(number)[-4:]
        assert cards.digits_of(number) not in repr(card) and card.last4 in repr(card)

    @pytest.mark.parametrize("number", ["4111111111111112", "6222021234567895", "", "abcd efgh ijkl",
                                        "4111-1111-1111-111x", "41111111111", "4" * 20,
                                        "４１１１１１１１１１１１１１１１"])
    def test_invalid_numbers(self, number: str) -> None:
        with pytest.raises(cards.CardNumberInvalid):
            cards.check(number, 12, 2030, today=TODAY)

    def test_unknown_network(self) -> None:
        with pytest.raises(cards.CardBrandUnsupported):
            cards.check(valid("9", 16), 12, 2030, today=TODAY)

    @pytest.mark.parametrize(("month", "year"), [(11, 2026), (12, 2025), (0, 2030), (13, 2030), (1, 1999)])
    def test_expired_or_impossible_dates(self, month: int, year: int) -> None:
        with pytest.raises(cards.CardExpired):
            cards.check(VISA, month, year, today=TODAY)

    def test_valid_through_the_end_of_its_month(self) -> None:
        assert cards.check(VISA, 12, 2026, today=TODAY).expiry_year == 2026

    def test_fingerprints_match_the_same_card_only(self) -> None:
        one, same, other = (cards.fingerprint("k", cards.digits_of(n)) for n in (UNIONPAY, "6222021234567894", VISA))
        assert one == same != other and cards.digits_of(UNIONPAY) not in one
        assert cards.fingerprint("another key", "6222021234567894") != one


class TestWebhooks:
    def test_a_signature_verifies_and_nothing_else_does(self) -> None:
        body = b'{"id":"evt_1","type":"operation.succeeded"}'
        header = bank.sign("whsec", body, 1_000)
        bank.verify("whsec", body, header, now=1_100)
        for bad_body, bad_header, now in [
            (body + b" ", header, 1_100),  # edited
            (body, bank.sign("forged", body, 1_000), 1_100),  # another secret
            (body, header, 1_000 + bank.TOLERANCE_SECONDS + 1),  # replayed later
            (body, None, 1_100), (body, "v1=abc", 1_100), (body, "t=x,v1=abc", 1_100), (body, "t=1000", 1_100),
        ]:
            with pytest.raises(bank.WebhookSignatureInvalid):
                bank.verify("whsec", bad_body, bad_header, now=now)


class TestSimulatedBank:
    async def test_charges_settle_by_webhook_and_test_cards_decline(self, database: Database) -> None:
        sim = bank.SimulatedBank(secret="whsec", database=database)
        good = await sim.tokenize(cards.digits_of(VISA), "张三")
        declined = await sim.tokenize("4000000000000002", "李四")  # a test card ending 0002
        first = await sim.charge(token=good, amount=10_000, currency="CNY", reference="top_up:1")
        second = await sim.charge(token=declined, amount=10_000, currency="CNY", reference="top_up:2")
        big = await sim.charge(token=good, amount=bank.LIMIT + 1, currency="CNY", reference="top_up:3")
        unknown = await sim.charge(token="card_nope", amount=1, currency="CNY", reference="top_up:4")
        assert (first.status, second.status, big.status) == ("pending", "pending", "pending")
        assert unknown.status == "failed" and unknown.failure_code == "unknown_card"
        again = await sim.charge(token=good, amount=10_000, currency="CNY", reference="top_up:1")
        assert again == first  # one reference, one operation: resubmitting is safe
        deliveries = await due_deliveries(database)
        assert len(deliveries) == 3  # one webhook each (the resubmission sent none)
        events = []
        for payload in deliveries:
            hook = await sim.webhook(payload["bank_ref"], payload["event_id"], now=2_000)
            bank.verify("whsec", hook.body, hook.header, now=2_000)
            events.append(json.loads(hook.body))
        assert sorted((e["reference"], e["type"], e["failure_code"]) for e in events) == [
            ("top_up:1", "operation.succeeded", None), ("top_up:2", "operation.failed", "card_declined"),
            ("top_up:3", "operation.failed", "limit_exceeded")]
        today = clock.utcnow().date()
        assert [line.reference for line in await sim.report(today)] == ["top_up:1"]  # settled ones only

    async def test_webhooks_can_repeat_and_arrive_out_of_order(self, database: Database) -> None:
        sim = bank.SimulatedBank(secret="s", database=database, delay=60, duplicate=1.0, rng=random.Random(4))
        token = await sim.tokenize(cards.digits_of(UNIONPAY), "王五")
        for n in range(5):
            await sim.payout(token=token, amount=100 + n, currency="CNY", reference=f"withdrawal:{n}")
        deliveries = await due_deliveries(database)
        assert len(deliveries) == 10 and len({d["event_id"] for d in deliveries}) == 5  # a repeat, same event id
        async with database.transaction(write=False) as db:
            order = list((await db.scalars(select(Job.payload).where(Job.name == bank.DELIVER_TASK)
                                           .order_by(Job.run_at))).all())
        books = [d["bank_ref"] for d in order]
        assert books != sorted(books, key=[d["bank_ref"] for d in deliveries].index)  # due out of order


    async def test_declines_by_chance_when_configured(self, database: Database) -> None:
        sim = bank.SimulatedBank(secret="s", database=database, decline=0.5, rng=random.Random(1))
        token = await sim.tokenize(cards.digits_of(VISA), "张三")
        for n in range(40):
            await sim.charge(token=token, amount=100, currency="CNY", reference=f"r:{n}")
        async with database.transaction(write=False) as db:
            outcomes = list((await db.scalars(select(SimulatedBankOperation.outcome))).all())
        assert 10 < outcomes.count("failed") < 30 and len(outcomes) == 40


async def due_deliveries(database: Database) -> list[dict[str, str]]:
    async with database.transaction(write=False) as db:
        return [dict(p) for p in (await db.scalars(select(Job.payload).where(Job.name == bank.DELIVER_TASK)
                                                   .order_by(Job.id))).all()]
