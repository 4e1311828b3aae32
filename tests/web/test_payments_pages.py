"""Shua Pay's server-rendered pages: a receipt, a statement, a payment's page and the operators'
ledger page — each only for whom it belongs to (anyone else gets the not-found page), in both
languages."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx2
import pytest

from shua.accounts import service as accounts
from shua.core.db import Database
from shua.payments import intents, ledger, wallet
from shua.payments.models import BANK_CLEARING, WALLET
from tests.helpers import Browser


@pytest.fixture
async def other(app: Any) -> AsyncIterator[httpx2.AsyncClient]:
    """A second device: its own cookies."""
    transport = httpx2.ASGITransport(app=app, client=("127.0.0.1", 50001))
    async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture
async def third(app: Any) -> AsyncIterator[httpx2.AsyncClient]:
    transport = httpx2.ASGITransport(app=app, client=("127.0.0.1", 50002))
    async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


async def fund(database: Database, handle: str, amount: int) -> int:
    async with database.transaction() as db:
        user = await accounts.get_user(db, ref=handle)
        bank = await ledger.account(db, BANK_CLEARING)
        await ledger.move(db, kind="top_up", source=bank, target=await ledger.account(db, WALLET, owner_id=user.id),
                          amount=amount)
        return user.id


async def test_receipts_statements_and_payment_pages(client: httpx2.AsyncClient, other: httpx2.AsyncClient,
                                                      third: httpx2.AsyncClient, database: Database) -> None:
    alice, bob = Browser(client), Browser(other)
    await alice.signup("alice")
    await bob.signup("bob")
    alice_id = await fund(database, "alice", 10_000)
    async with database.transaction() as db:
        bob_id = (await accounts.get_user(db, ref="bob")).id
        paid = await wallet.pay_user(db, payer_id=alice_id, payee_id=bob_id, amount=1_234, memo="<b>午饭</b>")
        request = await intents.create(db, payee_id=bob_id, amount=5_000, description="二手书")
    r = await alice.get(f"/wallet/receipts/{paid.transfer.id}")
    assert r.status_code == 200 and "−¥12.34" in r.text and "&lt;b&gt;午饭&lt;/b&gt;" in r.text
    assert "¥87.66" in r.text  # the balance after
    assert (await bob.get(f"/wallet/receipts/{paid.transfer.id}")).status_code == 200  # bob's side of it
    carol = Browser(third)
    await carol.signup("carol")
    assert (await carol.get(f"/wallet/receipts/{paid.transfer.id}")).status_code == 404
    assert (await carol.get("/wallet/receipts/not-a-number")).status_code == 404

    month = paid.transfer.created_at.strftime("%Y-%m")
    r = await alice.get(f"/wallet/statements/{month}")
    assert r.status_code == 200 and "¥87.66" in r.text and f"/api/v1/wallet/statements/{month}/csv" in r.text
    assert (await alice.get("/wallet/statements/2026-13")).status_code == 404

    r = await bob.get(f"/pay/{request.id}")
    assert r.status_code == 200 and "你的收款" in r.text and f"?s={request.secret}" in r.text
    assert (await alice.get(f"/pay/{request.id}")).status_code == 404  # no link, no page
    client.cookies.set("shua_lang", "en")
    r = await alice.get(f"/pay/{request.id}", params={"s": request.secret})
    assert r.status_code == 200 and "Pay bob" in r.text and "Pay ¥50.00" in r.text

    assert (await alice.get("/admin/payments")).status_code == 403
    async with database.transaction() as db:
        await accounts.set_role(db, user_id=alice_id, role="admin")
    r = await alice.get("/admin/payments")
    assert r.status_code == 200 and "Trial balance" in r.text and "balanced" in r.text
    r = await alice.get("/admin/shop")
    assert r.status_code == 200 and "After-sales disputes" in r.text and "Closed-loop GMV" in r.text


async def test_page_ids_that_are_no_ids_are_404s_not_500s(client: httpx2.AsyncClient) -> None:
    """"²" and "٣" are digits to str.isdigit() and not to int(): a page id is parsed by parse_id."""
    await Browser(client).signup("digits")
    for bad in ("²", "٣", "1" * 25, "-1", "abc"):
        for url in (f"/p/{bad}", f"/s/{bad}", f"/go/{bad}", f"/pay/{bad}", f"/wallet/receipts/{bad}"):
            r = await client.get(url, follow_redirects=False)
            assert r.status_code == 404, (url, r.status_code)
        assert (await client.get(f"/p/1?v={bad}")).status_code in (404, 422)  # no such product (or v too long)
