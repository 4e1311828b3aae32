"""The search page rendered on the server: before typing, results, hand-edited URLs."""

from __future__ import annotations

import httpx2

from shua.core.db import Database
from shua.search import hot, service
from tests.factories import make_user
from tests.helpers import Browser
from tests.search.test_search import post


async def test_discover_then_results(client: httpx2.AsyncClient, database: Database) -> None:
    async with database.transaction() as db:
        creator = await make_user(db, "creator", nickname="阿猫")
        for _ in range(5):
            await service.log_search(db, user_id=None, query="流星雨", tab="all", results=1)
    await post(database, creator, "小猫咪晒太阳 #猫咪日常")
    await hot.refresh(database)
    html = (await client.get("/search")).text
    assert "热搜榜" in html and "流星雨" in html and 'class="hot__badge hot__badge--new"' in html
    html = (await client.get("/search", params={"q": "小猫咪"})).text
    assert "小猫咪晒太阳" in html and 'aria-current="page">综合' in html
    assert 'data-search-id="' in html and 'data-search-id=""' not in html  # logged, clicks can be attributed
    html = (await client.get("/search", params={"q": "小猫咪", "tab": "hashtags"})).text
    assert "猫咪日常" in html and "1个视频" in html and "小猫咪晒太阳" not in html


async def test_hand_edited_urls_fall_back_instead_of_failing(client: httpx2.AsyncClient) -> None:
    for params in ({"q": "猫", "tab": "shops"}, {"q": "猫", "sort": "random", "period": "x", "length": "y"},
                   {"q": '"; DROP TABLE search_docs; --'}, {"q": "a\x00b"}, {"q": "😺"}, {"q": ""}):
        r = await client.get("/search", params=params)
        assert r.status_code == 200, (params, r.text[:200])
    r = await client.get("/search", params={"q": "nothing-matches-this"})
    assert "没有找到相关结果" in r.text
    assert (await client.get("/search", params={"q": "x" * 10_001})).status_code == 422


async def test_every_app_page_has_a_way_to_search(client: httpx2.AsyncClient) -> None:
    await Browser(client).signup("viewer")
    for path in ("/", "/friends", "/inbox", "/me", "/me/edit", "/settings", "/search?q=x"):
        html = (await client.get(path)).text
        assert 'href="/search"' in html or 'role="search"' in html, path
