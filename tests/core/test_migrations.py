"""The migrations build exactly the schema the models describe (a model changed without its
migration is caught here, not on a user's database), and the shop's and payments' latest ones
step down and up again."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from shua.contexts import load_all
from shua.core.db import Base
from shua.core.migrate import alembic_config, upgrade


def drift(path: Path) -> list[object]:
    load_all()
    engine = create_engine(f"sqlite:///{path}")
    with engine.connect() as connection:
        found = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata)
    engine.dispose()
    # The FTS5 index is made by hand in its migration (a virtual table the models cannot describe).
    return [d for d in found if "search_fts" not in repr(d)]


def test_head_matches_the_models(tmp_path: Path) -> None:
    path = tmp_path / "schema.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    assert drift(path) == []


def test_the_latest_migrations_go_down_and_up_again(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'steps.db'}"
    upgrade(url)
    command.downgrade(alembic_config(url), "0014")
    upgrade(url)
    assert drift(tmp_path / "steps.db") == []
