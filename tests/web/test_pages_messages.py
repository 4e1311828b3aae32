"""The 消息 pages as HTML: they render in both languages under the strict CSP, the tab bar carries
the unread badge, other people's chats are 404 pages, user text is escaped, /inbox/new redirects."""

from __future__ import annotations

import json
import re

import httpx2
import pytest

from tests.helpers import Browser
from tests.web.test_pages import html_lang, use_lang

INBOX_PAGES = ["/inbox", "/inbox/requests", "/inbox/notifications", "/inbox/notifications?category=followers",
               "/inbox/notifications?category=interactions", "/inbox/notifications?category=nonsense"]


async def pair(client: httpx2.AsyncClient) -> tuple[Browser, Browser, httpx2.AsyncClient]:
    """alice in `client`'s cookie jar; bob in a second client of the same app."""
    alice = Browser(client)
    await alice.signup("alice", nickname="小爱")
    other = httpx2.AsyncClient(transport=client._transport, base_url="http://testserver")
    bob = Browser(other)
    await bob.signup("bob", nickname="小波")
    for me, them in ((alice, "bob"), (bob, "alice")):
        assert (await me.post(f"/api/v1/users/{them}/follow")).status_code == 200
    return alice, bob, other


async def conversation_with(me: Browser, handle: str) -> str:
    r = await me.post("/api/v1/conversations", json={"to": handle})
    assert r.status_code == 200, r.text
    return str(r.json()["id"])


def badge(html: str) -> str | None:
    """The unread count in the tab bar, or None when the badge is hidden."""
    match = re.search(r'<span class="tabbar__badge" data-unread-badge ?(hidden)?>\s*<span data-unread-count>([^<]*)<',
                      html)
    assert match, "no badge in the tab bar"
    return None if match.group(1) else match.group(2)


class TestInboxPages:
    @pytest.mark.parametrize("locale", ["zh-CN", "en"])
    async def test_render_for_a_user_under_the_strict_csp(self, client: httpx2.AsyncClient, locale: str) -> None:
        alice = Browser(client)
        await alice.signup("alice")
        use_lang(client, locale)
        for path in INBOX_PAGES:
            r = await client.get(path)
            assert r.status_code == 200, path
            assert html_lang(r.text) == locale and r.headers["cache-control"] == "no-store", path
            for tag in re.findall(r"<script\b[^>]*>", r.text):
                assert "src=" in tag or 'type="application/json"' in tag, (path, tag)
            assert not re.search(r"<style\b|\sstyle=|\son[a-z]+=", r.text), path
            assert "/static/js/live.js" in r.text, path

    async def test_logged_out_goes_to_login(self, client: httpx2.AsyncClient) -> None:
        for path in [*INBOX_PAGES, "/inbox/c/123", "/inbox/new?to=bob"]:
            r = await client.get(path)
            assert r.status_code == 303 and r.headers["location"].startswith("/login?next="), path
        assert "/static/js/live.js" not in (await client.get("/")).text  # no stream when logged out

    async def test_the_tab_bar_shows_the_unread_total(self, client: httpx2.AsyncClient) -> None:
        alice, bob, other = await pair(client)
        convo = await conversation_with(bob, "alice")
        assert badge((await client.get("/me")).text) is None  # follows become notifications by job only
        for text in ("一", "二"):
            assert (await bob.post(f"/api/v1/conversations/{convo}/messages", json={"body": text})).status_code == 201
        assert badge((await client.get("/me")).text) == "2"
        assert badge((await client.get("/")).text) == "2"
        assert badge((await other.get("/me")).text) is None
        await other.aclose()

    async def test_inbox_lists_the_conversation(self, client: httpx2.AsyncClient) -> None:
        alice, bob, other = await pair(client)
        convo = await conversation_with(bob, "alice")
        await bob.post(f"/api/v1/conversations/{convo}/messages", json={"body": "周末见"})
        html = (await client.get("/inbox")).text
        first = json.loads(re.search(r'<script type="application/json" id="inbox-first">(.*?)</script>', html,
                                     re.S).group(1))  # type: ignore[union-attr]
        rows = [(c["id"], c["unread_count"], c["last_message"]["body"]) for c in first["items"]]
        assert rows == [(convo, 1, "周末见")]
        await other.aclose()


class TestChatPage:
    async def test_a_participant_sees_it_and_html_stays_text(self, client: httpx2.AsyncClient) -> None:
        alice, bob, other = await pair(client)
        convo = await conversation_with(bob, "alice")
        evil = "</script><script>alert(1)</script><img src=x onerror=alert(2)>"
        await bob.post(f"/api/v1/conversations/{convo}/messages", json={"body": evil})
        r = await client.get(f"/inbox/c/{convo}")
        assert r.status_code == 200
        assert "<script>alert(1)" not in r.text and "<img src=x" not in r.text
        data = json.loads(re.search(r'<script type="application/json" id="chat-first">(.*?)</script>', r.text,
                                    re.S).group(1))  # type: ignore[union-attr]
        assert data["page"]["items"][0]["body"] == evil and data["conversation"]["peer"]["handle"] == "bob"
        assert "小波" in r.text  # the header names the peer
        await other.aclose()

    @pytest.mark.parametrize("ref", ["999999999", "abc", "1" * 30, "%00"])
    async def test_someone_elses_or_no_conversation_is_a_404_page(self, client: httpx2.AsyncClient,
                                                                  ref: str) -> None:
        alice, bob, other = await pair(client)
        eve = Browser(httpx2.AsyncClient(transport=client._transport, base_url="http://testserver"))
        await eve.signup("eve")
        convo = await conversation_with(alice, "bob")
        for r in (await eve.get(f"/inbox/c/{convo}"), await client.get(f"/inbox/c/{ref}")):
            assert r.status_code == 404 and "text/html" in r.headers["content-type"]
            assert "会话不存在" in r.text or "No such conversation" in r.text
        await other.aclose()
        await eve.client.aclose()


class TestStartChat:
    async def test_redirects_to_the_one_conversation(self, client: httpx2.AsyncClient) -> None:
        alice, bob, other = await pair(client)
        first = await client.get("/inbox/new?to=bob")
        again = await client.get("/inbox/new?to=BOB")
        assert first.status_code == again.status_code == 303
        convo = await conversation_with(bob, "alice")
        assert first.headers["location"] == again.headers["location"] == f"/inbox/c/{convo}"
        await other.aclose()

    async def test_refusals_are_pages(self, client: httpx2.AsyncClient) -> None:
        alice, bob, other = await pair(client)
        await bob.patch("/api/v1/me/privacy", json={"who_can_message": "nobody"})
        assert (await client.get("/inbox/new?to=bob")).status_code == 403
        assert (await client.get("/inbox/new?to=alice")).status_code == 403  # yourself
        for ref in ("nobody_here", "", "x" * 60, "a\x00b", "../../etc"):
            assert (await client.get("/inbox/new", params={"to": ref})).status_code == 404, ref
        await other.aclose()
