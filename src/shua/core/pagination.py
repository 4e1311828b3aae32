"""Opaque cursors for keyset pagination. Lists never use offsets: an offset skips or repeats
rows when new ones arrive, and gets slower the deeper one scrolls."""

from __future__ import annotations

import base64
import json
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from shua.core.errors import InvalidRequest

T = TypeVar("T")


def encode_cursor(values: dict[str, Any]) -> str:
    raw = json.dumps(values, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> dict[str, Any] | None:
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidRequest("The cursor is not valid", field="cursor") from exc
    if not isinstance(value, dict):
        raise InvalidRequest("The cursor is not valid", field="cursor")
    return value


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None
