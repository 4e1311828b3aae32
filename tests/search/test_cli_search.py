"""`shua search …`: reindex with a progress bar, the operators' dictionary, the hot list."""

from __future__ import annotations

import asyncio
from pathlib import Path

from shua.core.db import Database
from shua.search import analysis, index
from tests.factories import make_user, make_video
from tests.test_cli import env, run  # noqa: F401 - the fixture

__all__ = ["env"]


async def test_reindex_builds_the_documents(env: None, database: Database) -> None:  # noqa: F811
    async with database.transaction() as db:
        creator = await make_user(db, "creator")
        for n in range(3):
            await make_video(db, creator, caption=f"重建索引 {n}")
    code, out = await asyncio.to_thread(run, "search", "reindex")  # its own event loop
    assert code == 0 and "3 video(s) indexed" in out, out
    async with database.transaction() as db:
        assert await index.document_count(db) == 3


def test_words_are_added_once_and_checked(env: None, tmp_path: Path) -> None:  # noqa: F811
    code, out = run("search", "words", "绝绝子", "城市漫步", "绝绝子")
    assert code == 0 and "2 word(s) added" in out, out
    code, out = run("search", "words", "城市漫步")
    assert code == 0 and "0 word(s) added" in out
    assert (tmp_path / "search" / "words.txt").read_text(encoding="utf-8").split() == ["绝绝子", "城市漫步"]
    code, out = run("search", "words", "x", "hello world")
    assert code == 1 and "not a Chinese word" in out
    assert analysis.load_user_dictionary(tmp_path / "search" / "words.txt") >= 0
    assert "城市漫步" in analysis.SEGMENTER.cut("周末城市漫步")


def test_hot_list_prints(env: None) -> None:  # noqa: F811
    code, out = run("search", "hot", "--refresh")
    assert code == 0 and "term" in out, out
