"""Shua Pay's pages that are documents more than apps: a receipt (回单), a printable monthly
statement (对账单), the page where a payment is paid, followed and refunded, and the operators'
ledger overview. Server-rendered so they print and work before any script runs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from shua.core import audit, clock
from shua.core.errors import InvalidRequest, NotFound
from shua.core.ids import parse_id
from shua.payments import binding, intents, ledger, reconcile, wallet
from shua.payments.connectors import bank_of
from shua.payments.intent_routes import intent_read
from shua.payments.models import WALLET
from shua.payments.routes import entries_read
from shua.web.deps import get_runtime
from shua.web.pages import current_viewer, error_page, login_redirect, pick_locale, render

router = APIRouter(include_in_schema=False)


@router.get("/wallet/receipts/{transfer_id}", response_class=HTMLResponse)
async def show_receipt(request: Request, transfer_id: str) -> Response:
    viewer = await current_viewer(request)
    if viewer is None:
        return login_redirect(request)
    locale = pick_locale(request, viewer)
    async with get_runtime(request).database.transaction(write=False) as db:
        try:
            number = parse_id(transfer_id)
            entry = (await entries_read(db, [await wallet.receipt(db, user_id=viewer.me.id, transfer_id=number)]))[0]
        except NotFound:
            return error_page(request, viewer, locale, status=404, kind="notfound.page", icon="search")
    return render(request, "receipt.html", viewer=viewer, locale=locale, title="receipt.title", tab="me",
                  entry=entry)


@router.get("/wallet/statements/{month}", response_class=HTMLResponse)
async def show_statement(request: Request, month: str) -> Response:
    viewer = await current_viewer(request)
    if viewer is None:
        return login_redirect(request)
    locale = pick_locale(request, viewer)
    try:
        wallet.month_bounds(month)
        if len(month) != 7:
            raise ValueError(month)
    except ValueError:
        return error_page(request, viewer, locale, status=404, kind="notfound.page", icon="search")
    async with get_runtime(request).database.transaction(write=False) as db:
        found = await wallet.statement(db, user_id=viewer.me.id, month=month)
        entries = await entries_read(db, found.entries)
    year, number = int(month[:4]), int(month[5:])
    previous = f"{year - (number == 1)}-{(number - 2) % 12 + 1:02d}"
    following = f"{year + (number == 12)}-{number % 12 + 1:02d}"
    return render(request, "statement.html", viewer=viewer, locale=locale, title="statement.title", tab="me",
                  statement=found, entries=entries, previous=previous,
                  following=following if following <= clock.utcnow().strftime("%Y-%m") else None)


@router.get("/pay/{intent_id}", response_class=HTMLResponse)
async def show_payment(request: Request, intent_id: str,
                       s: Annotated[str | None, Query(max_length=64)] = None) -> Response:
    viewer = await current_viewer(request)
    if viewer is None:
        return login_redirect(request)
    locale = pick_locale(request, viewer)
    async with get_runtime(request).database.transaction(write=False) as db:
        try:
            number = parse_id(intent_id)
            intent = await intents.readable(db, user_id=viewer.me.id, intent_id=number, secret=s)
        except (NotFound, InvalidRequest):
            return error_page(request, viewer, locale, status=404, kind="notfound.page", icon="search")
        shown = await intent_read(db, intent, viewer.me.id)
        cards = await binding.list_cards(db, user_id=viewer.me.id)
        mine = await ledger.find_account(db, WALLET, owner_id=viewer.me.id)
    return render(request, "pay.html", viewer=viewer, locale=locale, title="pay.title", tab="me", intent=shown,
                  secret=s or "", cards=cards, balance=mine.balance if mine else 0)


@router.get("/admin/payments", response_class=HTMLResponse)
async def show_payments_admin(request: Request) -> Response:
    viewer = await current_viewer(request)
    if viewer is None:
        return login_redirect(request)
    locale = pick_locale(request, viewer)
    if not viewer.is_admin:
        return error_page(request, viewer, locale, status=403, kind="forbidden.admin", icon="lock")
    runtime = get_runtime(request)
    async with runtime.database.transaction(write=False) as db:
        rows = await ledger.trial_balance(db)
        accounts = await ledger.accounts(db, limit=100)
        found = await reconcile.reconcile(db, bank_of(runtime), day=clock.utcnow().date())
        log = await audit.entries(db, action_prefix="payments.", limit=20)
    totals: dict[str, int] = {}
    for row in rows:
        totals[row.currency] = totals.get(row.currency, 0) + row.balance
    return render(request, "admin_payments.html", viewer=viewer, locale=locale, title="admin_payments.title",
                  tab="me", rows=rows, totals=totals, accounts=accounts, reconciliation=found, log=log)
