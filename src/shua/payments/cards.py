"""Bank cards as Shua Pay may know them: checked (digits, Luhn, a known BIN range, not expired),
then reduced to what may be stored — brand, last four digits, and a keyed fingerprint that tells
whether two bindings are the same card without the number ever reaching the database or logs.
The number itself only travels on to the bank connector, which returns its own token."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import date
from hashlib import sha256

from shua.core.errors import InvalidRequest

# Issuer identification number ranges (ISO/IEC 7812 prefixes) and the lengths each network
# issues. UnionPay first: it is what most cards in China are.
BRANDS: tuple[tuple[str, tuple[tuple[int, int], ...], tuple[int, ...]], ...] = (
    ("unionpay", ((62, 62), (81, 81)), (16, 17, 18, 19)),
    ("visa", ((4, 4),), (13, 16, 19)),
    ("mastercard", ((51, 55), (2221, 2720)), (16,)),
    ("amex", ((34, 34), (37, 37)), (15,)),
    ("jcb", ((3528, 3589),), (16, 17, 18, 19)),
)


class CardNumberInvalid(InvalidRequest):
    code = "payments.card_number_invalid"
    title = "This is not a valid card number"


class CardBrandUnsupported(InvalidRequest):
    code = "payments.card_brand_unsupported"
    title = "Cards of this network are not accepted"


class CardExpired(InvalidRequest):
    code = "payments.card_expired"
    title = "This card has expired"


def digits_of(number: str) -> str:
    """The digits of a number as people type it (spaces and dashes allowed, nothing else)."""
    cleaned = number.replace(" ", "").replace("-", "")
    if not (cleaned.isascii() and cleaned.isdigit()) or not 12 <= len(cleaned) <= 19:
        raise CardNumberInvalid()
    return cleaned


def luhn_ok(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def brand_of(digits: str) -> str | None:
    for brand, ranges, lengths in BRANDS:
        if len(digits) not in lengths:
            continue
        for low, high in ranges:
            width = len(str(low))
            if low <= int(digits[:width]) <= high:
                return brand
    return None


@dataclass(frozen=True)
class CheckedCard:
    digits: str  # never stored: for the bank connector only
    brand: str
    last4: str
    expiry_month: int
    expiry_year: int

    def __repr__(self) -> str:  # a card in a log line or a traceback shows no number
        return f"CheckedCard({self.brand} ••••{self.last4}, {self.expiry_month:02d}/{self.expiry_year})"


def check(number: str, expiry_month: int, expiry_year: int, *, today: date) -> CheckedCard:
    digits = digits_of(number)
    if not luhn_ok(digits):
        raise CardNumberInvalid()
    brand = brand_of(digits)
    if brand is None:
        raise CardBrandUnsupported()
    if not 1 <= expiry_month <= 12 or not 2000 <= expiry_year <= 2100:
        raise CardExpired()
    if (expiry_year, expiry_month) < (today.year, today.month):  # valid through the end of its month
        raise CardExpired()
    return CheckedCard(digits=digits, brand=brand, last4=digits[-4:], expiry_month=expiry_month,
                       expiry_year=expiry_year)


def fingerprint(secret: str, digits: str) -> str:
    """The same card always gives the same value, and the value gives nothing back (keyed, so
    a stolen table cannot be matched against a list of numbers)."""
    return hmac.new(secret.encode(), f"card:{digits}".encode(), sha256).hexdigest()


def masked(brand: str, last4: str) -> str:
    return f"{brand} ••••{last4}"
