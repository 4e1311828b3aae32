"""Rate limits in process and, when configured, shared through Redis."""

from __future__ import annotations

import os
import secrets

import pytest

from shua.core.errors import RateLimited
from shua.core.ratelimit import RateLimiter

REDIS_URL = os.environ.get("SHUA_TEST_REDIS_URL", "")
NO_REDIS = pytest.mark.skipif(not REDIS_URL, reason="SHUA_TEST_REDIS_URL not set")
BACKENDS = ["memory", pytest.param("redis", marks=NO_REDIS)]


@pytest.mark.parametrize("backend", BACKENDS)
class TestRateLimiter:
    async def test_limits_after_budget_with_retry_after(self, backend: str) -> None:
        limiter = RateLimiter(REDIS_URL if backend == "redis" else "")
        key = secrets.token_hex(4)
        for _ in range(3):
            await limiter.hit("3/minute", "t", key)
        with pytest.raises(RateLimited) as caught:
            await limiter.hit("3/minute", "t", key)
        assert 1 <= int(caught.value.headers["Retry-After"]) <= 60
        await limiter.hit("3/minute", "t", "someone-else")  # budgets are per key
        await limiter.close()

    async def test_processes_share_a_redis_budget(self, backend: str) -> None:
        if backend != "redis":
            pytest.skip("only Redis shares a budget between processes")
        key = secrets.token_hex(4)
        first, second = RateLimiter(REDIS_URL), RateLimiter(REDIS_URL)  # two API processes
        await first.hit("2/minute", "t", key)
        await second.hit("2/minute", "t", key)
        with pytest.raises(RateLimited):
            await first.hit("2/minute", "t", key)
        await first.close()
        await second.close()
