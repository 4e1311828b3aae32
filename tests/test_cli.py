"""The operator's `shua` command, run in process against the test database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shua import cli
from shua.config import get_settings

runner = CliRunner()


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path) -> Iterator[None]:
    monkeypatch.setenv("SHUA_DATABASE_URL", database_url)
    monkeypatch.setenv("SHUA_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("SHUA_LOG_JSON", "false")
    monkeypatch.delenv("SHUA_REDIS_URL", raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def run(*args: str, input: str | None = None) -> tuple[int, str]:
    result = runner.invoke(cli.app, list(args), input=input)
    return result.exit_code, result.output


class TestCli:
    def test_migrate_is_idempotent(self, env: None) -> None:
        for _ in range(2):
            code, out = run("migrate")
            assert code == 0, out
            assert "migrated" in out

    def test_user_create_admin_then_login(self, env: None) -> None:
        code, out = run("user", "create", "opsboss", "--admin", "--password", "Long-Enough-99")
        assert code == 0, out
        assert "opsboss (admin)" in out
        code, out = run("user", "create", "opsboss", "--password", "Long-Enough-99")
        assert code == 1 and "accounts.handle_taken" in out
        code, out = run("user", "create", "weakling", "--password", "12345678")
        assert code == 1 and "accounts.weak_password" in out
        code, out = run("user", "create", "no way!", "--password", "Long-Enough-99")
        assert code == 2

    def test_password_from_stdin(self, env: None) -> None:
        code, out = run("user", "create", "piped", input="Through-A-Pipe-7\n")
        assert code == 0, out

    def test_demo_seeds_once(self, env: None) -> None:
        code, out = run("demo", "--no-serve", "--no-videos")
        assert code == 0, out
        assert "new users" in out and "demo" in out
        code, out = run("demo", "--no-serve", "--no-videos")
        assert code == 0 and "(0 new users)" in out

    def test_doctor_healthy(self, env: None) -> None:
        run("migrate")
        code, out = run("doctor")
        assert code == 0, out
        assert "all good" in out
        assert "libx264" in out

    def test_doctor_explains_problems(self, env: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
        monkeypatch.setenv("SHUA_REDIS_URL", "redis://127.0.0.1:1/0")
        monkeypatch.setenv("SHUA_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/empty.db")
        get_settings.cache_clear()
        code, out = run("doctor")
        assert code == 1
        assert "run `shua migrate`" in out
        assert "is redis-server running?" in out

    def test_jobs_commands(self, env: None) -> None:
        code, out = run("jobs", "failed")
        assert code == 0 and "no failed jobs" in out
        code, out = run("jobs", "retry", "12345")
        assert code == 1 and "No failed job" in out
        code, out = run("jobs", "stats")
        assert code == 0
