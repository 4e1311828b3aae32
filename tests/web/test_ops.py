"""Operator endpoints and structured logs."""

from __future__ import annotations

import json
import logging

import httpx2
import pytest

from shua.config import Settings
from shua.core import jobs
from shua.core.logging import configure_logging
from shua.web.app import create_app
from tests.helpers import Browser


class TestHealth:
    async def test_live_and_ready(self, client: httpx2.AsyncClient) -> None:
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        ready = await client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["database"] == "ok"

    async def test_not_ready_when_redis_is_down(self, settings: Settings) -> None:
        broken = settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"})
        app = create_app(broken, configure_logs=False)
        transport = httpx2.ASGITransport(app=app)
        async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as c:
            r = await c.get("/readyz")
        await app.state.runtime.close()
        assert r.status_code == 503
        assert r.json()["redis"].startswith("error")
        assert r.json()["database"] == "ok"


class TestMetrics:
    async def test_requests_by_route_and_queue_depth(self, client: httpx2.AsyncClient, database) -> None:  # type: ignore[no-untyped-def]
        b = Browser(client)
        await b.signup("metrics_user")
        await client.get("/api/v1/me")
        await client.get("/api/v1/users/12345")  # a 404 on a templated route
        async with database.transaction() as db:
            await jobs.enqueue(db, "accounts.delete_file", {"key": "avatars/none.jpg"})
        text = (await client.get("/metrics")).text
        assert 'shua_http_requests_total{method="GET",route="/api/v1/me",status="200"}' in text
        assert 'route="/api/v1/users/{ref}",status="404"' in text  # the template, not the raw path
        assert "shua_http_request_duration_seconds_bucket" in text
        depth = [line for line in text.splitlines() if line.startswith("shua_job_queue_depth")]
        assert depth and float(depth[0].split()[-1]) >= 1.0
        assert "shua_jobs_failed" in text


class TestLogs:
    async def test_json_line_per_request_with_request_id(
        self, client: httpx2.AsyncClient, capsys: pytest.CaptureFixture[str]
    ) -> None:
        root = logging.getLogger()
        saved = (root.handlers[:], root.level)
        configure_logging(json=True, level="INFO")
        try:
            r = await client.get("/healthz", headers={"X-Request-ID": "trace-abc-123"})
        finally:
            root.handlers[:], _ = saved
            root.setLevel(saved[1])
        assert r.headers["x-request-id"] == "trace-abc-123"
        lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
        request_lines = [line for line in lines if line.get("event") == "request"]
        assert request_lines, lines
        assert request_lines[-1]["request_id"] == "trace-abc-123"
        assert request_lines[-1]["route"] == "/healthz"
        assert request_lines[-1]["status"] == 200


class TestDatabaseOutage:
    @pytest.mark.parametrize("url", [
        "postgresql+asyncpg://postgres@127.0.0.1:1/nowhere",  # nothing listens: connection refused
        "sqlite+aiosqlite:////nonexistent-dir/shua.db",  # the file cannot be opened
    ])
    async def test_outage_is_a_503_not_a_500(self, settings: Settings, url: str) -> None:
        app = create_app(settings.model_copy(update={"database_url": url}), configure_logs=False)
        transport = httpx2.ASGITransport(app=app)
        async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as c:
            r = await c.get("/api/v1/me", headers={"Authorization": "Bearer 123.secret"})
            ready = await c.get("/readyz")
        await app.state.runtime.close()
        assert r.status_code == 503, r.text
        assert r.json()["code"] == "unavailable"
        assert r.headers["retry-after"] == "2"
        assert ready.status_code == 503
