"""Money in integer minor units (fen for CNY). Never a float."""

from __future__ import annotations

from dataclasses import dataclass

MINOR_UNITS = {"CNY": 2, "USD": 2, "EUR": 2, "JPY": 0}


class CurrencyMismatch(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Money:
    amount: int  # minor units
    currency: str = "CNY"

    def __post_init__(self) -> None:
        if not isinstance(self.amount, int) or isinstance(self.amount, bool):
            raise TypeError("Money.amount must be an int of minor units")
        if self.currency not in MINOR_UNITS:
            raise ValueError(f"unknown currency {self.currency!r}")

    def _same(self, other: Money) -> None:
        if self.currency != other.currency:
            raise CurrencyMismatch(f"{self.currency} vs {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.amount <= other.amount

    def allocate(self, ratios: list[int]) -> list[Money]:
        """Split without losing a fen: remainders go to the first parts (Fowler's allocate)."""
        total = sum(ratios)
        if total <= 0 or any(r < 0 for r in ratios):
            raise ValueError("ratios must be non-negative and not all zero")
        parts = [self.amount * r // total for r in ratios]
        for i in range(self.amount - sum(parts)):
            parts[i % len(parts)] += 1
        return [Money(p, self.currency) for p in parts]

    def format(self) -> str:
        digits = MINOR_UNITS[self.currency]
        sign = "-" if self.amount < 0 else ""
        whole, frac = divmod(abs(self.amount), 10**digits)
        return f"{sign}{whole}.{frac:0{digits}d} {self.currency}" if digits else f"{sign}{whole} {self.currency}"
