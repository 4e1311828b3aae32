"""Shua Pay: the double-entry ledger every balance lives in, and (to come) wallets, bound
cards, payment intents, escrow and refunds that post through it."""
