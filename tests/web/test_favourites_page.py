"""The /me/favourites page: for its owner only, one collection at a time, escaped names."""

from __future__ import annotations

import httpx2

from shua.core.db import Database
from tests.helpers import Browser
from tests.social.test_engagement import video_of
from tests.social.test_graph import sign_up


class TestFavouritesPage:
    async def test_logged_out_goes_to_login(self, client: httpx2.AsyncClient) -> None:
        r = await client.get("/me/favourites")
        assert r.status_code == 303 and r.headers["location"] == "/login?next=%2Fme%2Ffavourites"

    async def test_collections_and_videos(self, client: httpx2.AsyncClient, database: Database) -> None:
        alice = await sign_up(client, "alice")
        vid = await video_of(database, alice)
        me = Browser(client)
        await me.signup("bob")
        assert "还没有收藏" in (await me.get("/me/favourites")).text
        assert (await me.post(f"/api/v1/videos/{vid}/favourite")).status_code == 200
        r = await me.post("/api/v1/me/collections", json={"name": "<b>猫</b>"})
        folder = r.json()["id"]
        html = (await me.get("/me/favourites")).text
        assert f'href="/v/{vid}"' in html and "&lt;b&gt;猫&lt;/b&gt;" in html and "<b>猫</b>" not in html
        html = (await me.get("/me/favourites", params={"c": folder})).text
        assert f'href="/v/{vid}"' not in html and 'aria-current="page"' in html
        for bad in ({"c": "123"}, {"c": "x\x00"}, {"cursor": "nope"}):
            assert (await me.get("/me/favourites", params=bad)).status_code == 404
        assert (await me.get("/me")).status_code == 200
        assert 'href="/me/favourites"' in (await me.get("/me")).text
