"""Time-ordered 64-bit IDs: 41 bits of milliseconds, 10 bits of node, 12 bits of sequence.

Sorted by creation time, so they double as cursors, and fit a signed BIGINT column.
They travel as strings in JSON because JavaScript numbers lose precision past 2**53.
"""

from __future__ import annotations

import os
import random
import threading
import time
from typing import Annotated

from pydantic import BeforeValidator, Field, PlainSerializer, WithJsonSchema

EPOCH_MS = 1_704_067_200_000  # 2024-01-01T00:00:00Z
NODE_BITS = 10
SEQ_BITS = 12
MAX_NODE = (1 << NODE_BITS) - 1
MAX_SEQ = (1 << SEQ_BITS) - 1


class IdGenerator:
    def __init__(self, node: int | None = None) -> None:
        # Without a configured node, a random one makes collisions between processes
        # astronomically unlikely; scale-out deployments can pin SHUA_NODE_ID.
        self.node = (node if node is not None else random.SystemRandom().randrange(MAX_NODE + 1))
        if not 0 <= self.node <= MAX_NODE:
            raise ValueError(f"node id must be within 0..{MAX_NODE}")
        self._lock = threading.Lock()
        self._last_ms = -1
        self._seq = 0

    def next_id(self) -> int:
        with self._lock:
            now = int(time.time() * 1000) - EPOCH_MS
            if now < self._last_ms:  # the clock went backwards: stay on the last millisecond
                now = self._last_ms
            if now == self._last_ms:
                self._seq = (self._seq + 1) & MAX_SEQ
                if self._seq == 0:  # 4096 ids this millisecond: wait for the next one
                    while now <= self._last_ms:
                        now = int(time.time() * 1000) - EPOCH_MS
            else:
                self._seq = 0
            self._last_ms = now
            return (now << (NODE_BITS + SEQ_BITS)) | (self.node << SEQ_BITS) | self._seq


_generator = IdGenerator()


def _after_fork() -> None:
    # A forked child must not repeat its parent's ids: a node of its own, a fresh sequence. (A
    # hook rather than comparing os.getpid() on every id, which is a system call each time.)
    global _generator
    _generator = IdGenerator()


os.register_at_fork(after_in_child=_after_fork)


def configure(node: int | None) -> None:
    global _generator
    _generator = IdGenerator(node)


def new_id() -> int:
    return _generator.next_id()


def id_timestamp_ms(value: int) -> int:
    return (value >> (NODE_BITS + SEQ_BITS)) + EPOCH_MS


MAX_ID = 2**63 - 1  # a signed BIGINT column


def parse_id(value: object) -> int | None:
    """An id from untrusted input (a path, a token, a cursor), or None if it cannot name a row."""
    if isinstance(value, str):
        # ASCII only: str.isdigit() accepts "²", which int() then refuses.
        if not (value.isascii() and value.isdigit() and len(value) <= 19):
            return None
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID:
        return value
    return None


def _coerce_id(value: object) -> object:
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 19:
        return int(value)
    return value


# The API type for an id: accepts "123" or 123, always emits "123", and is bounded to what a
# BIGINT can hold, so an out-of-range id is a 422 and never reaches the database driver.
ID = Annotated[
    int,
    BeforeValidator(_coerce_id),
    Field(ge=1, le=MAX_ID),
    PlainSerializer(str, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": r"^[0-9]{1,19}$", "examples": ["74827191951360"]}),
]
