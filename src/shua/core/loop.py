"""Running a coroutine on the event loop the API runs on: uvloop when installed (uvicorn's
`--loop auto` picks it), so the job worker, the CLI and the benchmarks run what production runs —
measured, the plain asyncio loop made an empty database transaction cost 1.6× as much."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run(main: Coroutine[Any, Any, T]) -> T:
    try:
        import uvloop
    except ImportError:  # an install without uvicorn[standard]: the standard loop does the same work
        return asyncio.run(main)
    return uvloop.run(main)


def freeze_startup_objects() -> None:
    """What a long-lived process (an API worker, `shua worker`, a benchmark's client process)
    imported and built at startup lives as long as the process: move it out of the collector's
    reach (CPython `gc.freeze`), so a full collection walks only what requests made. Measured
    with bench/feed.py: full collections in a request were the p99 tail (190 ms). Not in
    `create_app`: a test suite builds many apps, and frozen cycles are never freed."""
    import gc

    gc.collect()
    gc.freeze()
