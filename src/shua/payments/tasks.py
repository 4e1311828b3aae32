"""Background work of Shua Pay: submitting bank operations, and the simulated bank's webhook
deliveries (which go through the same check as the HTTP endpoint's)."""

from __future__ import annotations

import logging
from typing import Any

from shua import runtime
from shua.core import clock
from shua.core.db import Database
from shua.core.jobs import task
from shua.payments import banking, intents
from shua.payments.bank import DELIVER_TASK, SimulatedBank
from shua.payments.connectors import bank_of

log = logging.getLogger("shua.payments")


@task(banking.SUBMIT_TASK, max_attempts=20, backoff_seconds=10)
async def submit_bank_operation(database: Database, payload: dict[str, Any]) -> None:
    await banking.submit(database, bank_of(runtime.current()), operation_id=int(payload["operation_id"]))


@task(DELIVER_TASK, max_attempts=20, backoff_seconds=5)
async def simbank_deliver(database: Database, payload: dict[str, Any]) -> None:
    bank = bank_of(runtime.current())
    if not isinstance(bank, SimulatedBank):
        return  # a real bank is installed: it sends its own webhooks
    hook = await bank.webhook(str(payload["bank_ref"]), str(payload["event_id"]), now=int(clock.utcnow().timestamp()))
    outcome = await banking.receive_webhook(database, secret=bank.secret, body=hook.body, header=hook.header)
    log.info("simulated bank webhook %s: %s", hook.event_id, outcome)


@task(intents.RELEASE_TASK, max_attempts=10, backoff_seconds=60)
async def release_intent(database: Database, payload: dict[str, Any]) -> None:
    """The escrow period ended: pay the payee unless that already happened."""
    async with database.transaction() as db:
        try:
            await intents.release(db, intent_id=int(payload["intent_id"]),
                                  fee_bps=runtime.current().settings.platform_fee_bps)
        except (intents.AlreadyReleased, intents.NotRefundable, intents.IntentNotFound):
            return
