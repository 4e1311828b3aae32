"""Shua Pay's errors, each with a stable code."""

from __future__ import annotations

from shua.core.errors import Forbidden, InvalidRequest, NotFound, ShuaError


class InvalidAmount(InvalidRequest):
    code = "payments.invalid_amount"
    title = "Amounts are whole fen (minor units), more than zero and at most 10^13"


class CurrencyMismatch(InvalidRequest):
    code = "payments.currency_mismatch"
    title = "The accounts are not all in this currency"


class UnbalancedTransfer(InvalidRequest):
    code = "payments.unbalanced_transfer"
    title = "A transfer's postings must sum to zero"


class InsufficientFunds(ShuaError):
    code = "payments.insufficient_funds"
    status = 402  # Payment Required: the request was fine, the money is not there
    title = "Not enough money in the account"


class AccountFrozen(Forbidden):
    code = "payments.account_frozen"
    title = "This account is frozen"


class LedgerAccountNotFound(NotFound):
    code = "payments.account_not_found"
    title = "No such ledger account"
