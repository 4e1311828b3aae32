"""The one place that reads the wall clock, so tests can move time."""

from __future__ import annotations

from datetime import UTC, datetime

_offset_seconds = 0.0


def utcnow() -> datetime:
    now = datetime.now(UTC)
    if _offset_seconds:
        from datetime import timedelta

        now += timedelta(seconds=_offset_seconds)
    return now


def travel(seconds: float) -> None:
    """Move this process's clock forward (tests of expiry and purge jobs)."""
    global _offset_seconds
    _offset_seconds += seconds


def reset() -> None:
    global _offset_seconds
    _offset_seconds = 0.0
