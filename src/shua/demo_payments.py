"""Shua Pay in the demo: two demo users with bound test cards, a payment password and money
topped up through the simulated bank; one of them has paid 小刷 (demo) and sent 小刷 a payment
request to pay. Idempotent: skipped once 张三 has a wallet."""

from __future__ import annotations

from shua.accounts import service as accounts
from shua.core import clock, jobs
from shua.payments import banking, binding, intents, ledger, pin, wallet
from shua.payments.bank import SimulatedBank
from shua.payments.connectors import bank_of, notifier_of
from shua.payments.models import ACTIVE, WALLET
from shua.runtime import Runtime

DEMO_PIN = "258147"  # the demo users' payment password (小刷 sets their own)
# (handle, card number, phone): Luhn-valid test numbers the simulated bank accepts.
CARDS = [("zhangsan", "4111 1111 1111 1111", "13800000001"), ("lisi", "5555 5555 5555 4444", "13800000002")]


async def seed_payments(rt: Runtime) -> int:
    bank = bank_of(rt)
    async with rt.database.transaction(write=False) as db:
        people = {h: (await accounts.get_user(db, ref=h)).id for h in ("demo", "zhangsan", "lisi")}
        if await ledger.find_account(db, WALLET, owner_id=people["zhangsan"]) is not None:
            return 0
    delay = bank.delay if isinstance(bank, SimulatedBank) else 0.0
    if isinstance(bank, SimulatedBank):
        bank.delay = 0.0  # settle the seed's top-ups now
    try:
        for handle, number, phone in CARDS:
            async with rt.database.transaction() as db:
                card = await binding.start(db, bank=bank, notifier=notifier_of(rt), secret=rt.settings.secret_key,
                                           user_id=people[handle], number=number, holder=handle, phone=phone,
                                           expiry_month=12, expiry_year=clock.utcnow().year + 3)
                # The seed stands in for its owner typing the code from the dev inbox.
                card.status, card.preferred, card.verified_at, card.code_digest = ACTIVE, True, clock.utcnow(), None
            await pin.set_pin(rt.database, user_id=people[handle], pin=DEMO_PIN)
            async with rt.database.transaction() as db:
                await banking.top_up(db, user_id=people[handle], card_id=card.id, amount=50_000)
        for _ in range(3):
            await jobs.drain(rt.database)
    finally:
        if isinstance(bank, SimulatedBank):
            bank.delay = delay
    async with rt.database.transaction() as db:
        await wallet.pay_user(db, payer_id=people["zhangsan"], payee_id=people["demo"], amount=6_666, memo="生日快乐🎂")
        await wallet.pay_user(db, payer_id=people["lisi"], payee_id=people["zhangsan"], amount=3_500, memo="火锅 AA")
        await intents.create(db, payee_id=people["zhangsan"], payer_id=people["demo"], amount=1_990,
                             description="周末爬山拼车费")
    return 5
