"""Direct messages through the API: friends chat, message requests (accept, ignore, the limit),
privacy settings, blocks, other people's conversations, idempotent retries, concurrency, video
shares, reports, export and deleted accounts."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx2
import pytest
import uvicorn
from sqlalchemy import func, select

from shua.config import Settings
from shua.core import clock, jobs
from shua.core.db import Database
from shua.social.messaging_models import ConversationMember, InboxStats, Message
from shua.web.app import create_app
from tests.conftest import table_count
from tests.factories import make_user, make_video
from tests.helpers import PASSWORD, assert_problem
from tests.social.test_graph import User, sign_up, sign_up_all
from tests.web.conftest import live_server  # noqa: F401 - the fixture, for the SSE tests

REDIS_URL = os.environ.get("SHUA_TEST_REDIS_URL", "")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"message_rate": "1000/minute"})  # TestEverythingElse tests the limit


async def befriend(a: User, b: User) -> None:
    assert (await a.follow(b)).status_code == 200
    assert (await b.follow(a)).status_code == 200


async def open_with(a: User, b: User | str) -> dict[str, Any]:
    r = await a.post("/api/v1/conversations", json={"to": b.handle if isinstance(b, User) else b})
    assert r.status_code == 200, r.text
    return dict(r.json())


async def send(a: User, conversation_id: str, body: str = "你好", **extra: Any) -> httpx2.Response:
    return await a.post(f"/api/v1/conversations/{conversation_id}/messages", json={"body": body, **extra})


async def say(a: User, conversation_id: str, body: str = "你好", **extra: Any) -> dict[str, Any]:
    r = await send(a, conversation_id, body, **extra)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def unread(u: User) -> dict[str, int]:
    r = await u.get("/api/v1/me/unread")
    assert r.status_code == 200, r.text
    return dict(r.json())


async def listed(u: User, requests: bool = False) -> list[dict[str, Any]]:
    r = await u.get("/api/v1/conversations/requests" if requests else "/api/v1/conversations")
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


async def stored_unread(database: Database, user_id: str) -> tuple[int, int]:
    """(sum of member unread counts, the badge counter) straight from the tables."""
    async with database.transaction(write=False) as db:
        members = await db.scalar(select(func.coalesce(func.sum(ConversationMember.unread_count), 0))
                                  .where(ConversationMember.user_id == int(user_id)))
        badge = await db.scalar(select(InboxStats.unread_messages + InboxStats.unread_requests)
                                .where(InboxStats.user_id == int(user_id)))
    return int(members or 0), int(badge or 0)


class TestFriendsChat:
    async def test_send_list_read_and_receipts(self, client: httpx2.AsyncClient, database: Database) -> None:
        a, b = await sign_up_all(client, "alice", "bob")
        await befriend(a, b)
        convo = await open_with(a, b)
        assert convo["peer"]["handle"] == "bob" and convo["is_request"] is False
        assert await listed(a) == []  # nothing to list until someone says something
        first = await say(a, convo["id"], "在吗")
        second = await say(a, convo["id"], "周末一起拍日常？")
        assert first["mine"] is True and first["kind"] == "text"

        rows = await listed(b)
        assert [r["id"] for r in rows] == [convo["id"]]
        assert rows[0]["unread_count"] == 2 and rows[0]["is_request"] is False
        assert rows[0]["last_message"]["body"] == "周末一起拍日常？" and rows[0]["last_message"]["mine"] is False
        assert (await unread(b))["messages"] == 2 and (await unread(b))["total"] == 2
        assert await listed(b, requests=True) == []

        page = (await b.get(f"/api/v1/conversations/{convo['id']}/messages")).json()
        assert [m["id"] for m in page["items"]] == [second["id"], first["id"]]  # newest first
        assert (await a.get(f"/api/v1/conversations/{convo['id']}")).json()["peer_last_read_id"] is None

        r = await b.post(f"/api/v1/conversations/{convo['id']}/read", json={"up_to": first["id"]})
        assert r.json()["unread_count"] == 1
        assert (await a.get(f"/api/v1/conversations/{convo['id']}")).json()["peer_last_read_id"] == first["id"]
        r = await b.post(f"/api/v1/conversations/{convo['id']}/read", json={"up_to": second["id"]})
        assert r.json()["unread_count"] == 0 and (await unread(b))["total"] == 0
        r = await b.post(f"/api/v1/conversations/{convo['id']}/read", json={"up_to": first["id"]})
        assert r.json()["last_read_id"] == second["id"]  # never backwards
        assert (await a.get(f"/api/v1/conversations/{convo['id']}")).json()["peer_last_read_id"] == second["id"]
        assert await stored_unread(database, b.id) == (0, 0)

    async def test_a_reply_marks_the_conversation_read(self, client: httpx2.AsyncClient) -> None:
        a, b = await sign_up_all(client, "alice", "bob")
        await befriend(a, b)
        convo = await open_with(a, b)
        await say(a, convo["id"], "一")
        await say(a, convo["id"], "二")
        await say(b, convo["id"], "收到")
        assert (await unread(b))["messages"] == 0 and (await unread(a))["messages"] == 1
        assert (await listed(a))[0]["unread_count"] == 1

    async def test_opening_twice_is_one_conversation(self, client: httpx2.AsyncClient) -> None:
        a, b = await sign_up_all(client, "alice", "bob")
        await befriend(a, b)
        first, again, theirs = await open_with(a, b), await open_with(a, "BOB"), await open_with(b, a)
        assert first["id"] == again["id"] == theirs["id"]

    async def test_older_messages_by_cursor(self, client: httpx2.AsyncClient) -> None:
        a, b = await sign_up_all(client, "alice", "bob")
        await befriend(a, b)
        convo = await open_with(a, b)
        sent = [(await say(a, convo["id"], f"第{n}条"))["id"] for n in range(35)]
        page = (await b.get(f"/api/v1/conversations/{convo['id']}/messages")).json()
        assert len(page["items"]) == 30 and page["next_cursor"]
        older = (await b.get(f"/api/v1/conversations/{convo['id']}/messages",
                             params={"cursor": page["next_cursor"]})).json()
        assert [m["id"] for m in page["items"] + older["items"]] == sent[::-1]
        assert older["next_cursor"] is None

    async def test_conversations_by_last_activity_with_a_cursor(self, client: httpx2.AsyncClient) -> None:
        me = await sign_up(client, "alice")
        others = await sign_up_all(client, *[f"friend{n}" for n in range(22)])
        for other in others:
            await befriend(me, other)
            await say(other, (await open_with(other, me))["id"])
        page = (await me.get("/api/v1/conversations")).json()
        older = (await me.get("/api/v1/conversations", params={"cursor": page["next_cursor"]})).json()
        names = [c["peer"]["handle"] for c in page["items"] + older["items"]]
        assert names == [o.handle for o in reversed(others)] and older["next_cursor"] is None
        await say(me, page["items"][-1]["id"], "回到最上面")
        assert (await listed(me))[0]["id"] == page["items"][-1]["id"]


class TestMessageRequests:
    async def test_request_then_accept(self, client: httpx2.AsyncClient) -> None:
        b, stranger = await sign_up_all(client, "bob", "stranger")
        convo = await open_with(stranger, b)
        await say(stranger, convo["id"], "你好，我是你的粉丝")
        assert await listed(b) == []
        requests = await listed(b, requests=True)
        assert [r["id"] for r in requests] == [convo["id"]] and requests[0]["is_request"] is True
        assert await unread(b) == {"messages": 0, "requests": 1, "followers": 0, "interactions": 0,
                                   "notifications": 0, "total": 1}
        assert [c["id"] for c in await listed(stranger)] == [convo["id"]]  # the sender sees a normal chat

        r = await b.post(f"/api/v1/conversations/{convo['id']}/accept")
        assert r.status_code == 200 and r.json()["is_request"] is False
        assert [c["id"] for c in await listed(b)] == [convo["id"]] and await listed(b, requests=True) == []
        assert (await unread(b))["messages"] == 1 and (await unread(b))["requests"] == 0
        for n in range(5):  # accepted: no limit any more
            await say(stranger, convo["id"], f"消息{n}")
        assert (await unread(b))["messages"] == 6

    async def test_replying_accepts(self, client: httpx2.AsyncClient) -> None:
        b, stranger = await sign_up_all(client, "bob", "stranger")
        convo = await open_with(stranger, b)
        await say(stranger, convo["id"])
        await say(b, convo["id"], "你好")
        assert [c["id"] for c in await listed(b)] == [convo["id"]] and await unread(b) == {
            "messages": 0, "requests": 0, "followers": 0, "interactions": 0, "notifications": 0, "total": 0}

    async def test_fourth_message_before_acceptance_refused(self, client: httpx2.AsyncClient) -> None:
        b, stranger = await sign_up_all(client, "bob", "stranger")
        convo = await open_with(stranger, b)
        for n in range(3):
            await say(stranger, convo["id"], f"第{n + 1}条")
        assert_problem(await send(stranger, convo["id"], "第四条"), 403, "messages.request_limit")
        assert (await unread(b))["requests"] == 3
        await b.post(f"/api/v1/conversations/{convo['id']}/accept")
        await say(stranger, convo["id"], "第四条")

    async def test_ignored_request_disappears_and_the_sender_cannot_tell(self, client: httpx2.AsyncClient,
                                                                         database: Database) -> None:
        b, stranger = await sign_up_all(client, "bob", "stranger")
        convo = await open_with(stranger, b)
        await say(stranger, convo["id"], "一")
        before = (await stranger.get(f"/api/v1/conversations/{convo['id']}")).json()
        assert (await b.post(f"/api/v1/conversations/{convo['id']}/ignore")).status_code == 204
        assert await listed(b) == [] and await listed(b, requests=True) == []
        assert (await unread(b))["total"] == 0
        later = await say(stranger, convo["id"], "二")  # sent like any other message
        assert later["mine"] is True
        after = (await stranger.get(f"/api/v1/conversations/{convo['id']}")).json()
        assert {k: v for k, v in after.items() if k not in ("last_message", "last_activity_at", "last_read_id")} \
            == {k: v for k, v in before.items() if k not in ("last_message", "last_activity_at", "last_read_id")}
        assert after["peer_last_read_id"] is None
        assert (await unread(b))["total"] == 0 and await listed(b, requests=True) == []
        assert await stored_unread(database, b.id) == (0, 0)
        await say(stranger, convo["id"], "三")
        assert_problem(await send(stranger, convo["id"], "四"), 403, "messages.request_limit")

    async def test_reading_a_request_sends_no_receipt(self, client: httpx2.AsyncClient) -> None:
        b, stranger = await sign_up_all(client, "bob", "stranger")
        convo = await open_with(stranger, b)
        message = await say(stranger, convo["id"])
        await b.post(f"/api/v1/conversations/{convo['id']}/read", json={"up_to": message["id"]})
        assert (await unread(b))["requests"] == 0
        assert (await stranger.get(f"/api/v1/conversations/{convo['id']}")).json()["peer_last_read_id"] is None
        await b.post(f"/api/v1/conversations/{convo['id']}/accept")
        assert (await stranger.get(f"/api/v1/conversations/{convo['id']}")).json()["peer_last_read_id"] \
            == message["id"]

    async def test_becoming_friends_turns_a_request_into_a_conversation(self, client: httpx2.AsyncClient) -> None:
        b, stranger = await sign_up_all(client, "bob", "stranger")
        convo = await open_with(stranger, b)
        await say(stranger, convo["id"])
        await befriend(b, stranger)
        await say(stranger, convo["id"], "现在我们是朋友了")
        assert [c["id"] for c in await listed(b)] == [convo["id"]]
        assert (await unread(b))["messages"] == 2 and (await unread(b))["requests"] == 0

    async def test_only_a_request_can_be_ignored(self, client: httpx2.AsyncClient) -> None:
        a, b = await sign_up_all(client, "alice", "bob")
        await befriend(a, b)
        convo = await open_with(a, b)
        await say(a, convo["id"])
        assert_problem(await b.post(f"/api/v1/conversations/{convo['id']}/ignore"), 409, "messages.not_a_request")


class TestPrivacyAndBlocks:
    async def test_who_can_message_friends(self, client: httpx2.AsyncClient) -> None:
        b, friend, stranger = await sign_up_all(client, "bob", "friend", "stranger")
        await befriend(b, friend)
        assert (await b.patch("/api/v1/me/privacy", json={"who_can_message": "friends"})).status_code == 200
        assert_problem(await stranger.post("/api/v1/conversations", json={"to": "bob"}), 403, "social.not_allowed")
        await say(friend, (await open_with(friend, b))["id"])

    async def test_friends_setting_stops_a_pending_request(self, client: httpx2.AsyncClient) -> None:
        b, stranger = await sign_up_all(client, "bob", "stranger")
        convo = await open_with(stranger, b)
        await say(stranger, convo["id"])
        await b.patch("/api/v1/me/privacy", json={"who_can_message": "friends"})
        assert_problem(await send(stranger, convo["id"], "再说一句"), 403, "social.not_allowed")

    async def test_who_can_message_nobody_refuses_new_conversations_only(self, client: httpx2.AsyncClient) -> None:
        b, friend, other_friend = await sign_up_all(client, "bob", "friend", "other")
        await befriend(b, friend)
        await befriend(b, other_friend)
        convo = await open_with(friend, b)
        await say(friend, convo["id"])
        await b.patch("/api/v1/me/privacy", json={"who_can_message": "nobody"})
        assert_problem(await other_friend.post("/api/v1/conversations", json={"to": "bob"}), 403,
                       "social.not_allowed")
        await say(friend, convo["id"], "我们的对话还在")  # bob accepted this one before

    async def test_dm_someone_who_blocked_you(self, client: httpx2.AsyncClient, database: Database) -> None:
        a, b = await sign_up_all(client, "alice", "bob")
        await befriend(a, b)
        convo = await open_with(a, b)
        await say(a, convo["id"], "在吗")
        assert (await b.post("/api/v1/users/alice/block")).status_code == 204
        assert_problem(await send(a, convo["id"], "为什么不回"), 403, "social.not_allowed")
        assert_problem(await a.post("/api/v1/conversations", json={"to": "bob"}), 404, "accounts.user_not_found")
        assert_problem(await send(b, convo["id"], "我屏蔽了你"), 409, "social.you_blocked")
        assert await listed(b) == [] and await listed(a) == []  # hidden from both lists
        await jobs.drain(database)  # the block's job: its unread no longer counts
        assert (await unread(b))["total"] == 0
        assert await stored_unread(database, b.id) == (0, 0)

    async def test_cannot_message_yourself(self, client: httpx2.AsyncClient) -> None:
        a = await sign_up(client, "alice")
        assert_problem(await a.post("/api/v1/conversations", json={"to": "alice"}), 422, "messages.self")


class TestOthersConversations:
    async def test_another_users_conversation_by_id_is_not_found(self, client: httpx2.AsyncClient) -> None:
        a, b, eve = await sign_up_all(client, "alice", "bob", "eve")
        await befriend(a, b)
        convo = await open_with(a, b)
        message = await say(a, convo["id"], "秘密")
        base = f"/api/v1/conversations/{convo['id']}"
        for r in [await eve.get(base), await eve.get(f"{base}/messages"),
                  await eve.post(f"{base}/messages", json={"body": "我也来"}),
                  await eve.post(f"{base}/read", json={"up_to": message["id"]}),
                  await eve.post(f"{base}/accept"), await eve.post(f"{base}/ignore"), await eve.delete(base),
                  await eve.get("/api/v1/conversations/123456789/messages")]:
            assert_problem(r, 404, "messages.conversation_not_found")
        r = await eve.post("/api/v1/reports", json={"target_kind": "message", "target_id": message["id"],
                                                    "reason": "spam"})
        assert_problem(r, 404, "social.report_target_not_found")
        assert (await b.get(f"{base}/messages")).json()["items"][0]["body"] == "秘密"

    async def test_logged_out_is_401(self, client: httpx2.AsyncClient) -> None:
        for r in [await client.get("/api/v1/conversations"), await client.get("/api/v1/me/unread"),
                  await client.get("/api/v1/notifications"), await client.get("/api/v1/live")]:
            assert_problem(r, 401, "auth.required")


class TestSending:
    async def test_client_id_retry_is_one_message(self, client: httpx2.AsyncClient, database: Database) -> None:
        a, b = await sign_up_all(client, "alice", "bob")
        await befriend(a, b)
        convo = await open_with(a, b)
        first = await send(a, convo["id"], "只发一次", client_id="c-1")
        again = await send(a, convo["id"], "只发一次", client_id="c-1")
        assert first.status_code == 201 and again.status_code == 200
        assert first.json()["id"] == again.json()["id"] and again.json()["client_id"] == "c-1"
        assert len((await b.get(f"/api/v1/conversations/{convo['id']}/messages")).json()["items"]) == 1
        assert (await unread(b))["messages"] == 1
        other = await open_with(a, (await sign_up(client, "carol")).handle)
        assert_problem(await send(a, other["id"], "别处", client_id="c-1"), 409, "messages.client_id_reused")

    async def test_concurrent_retries_make_one_message(self, client: httpx2.AsyncClient, database: Database) -> None:
        a, b = await sign_up_all(client, "alice", "bob")
        await befriend(a, b)
        convo = await open_with(a, b)
        replies = await asyncio.gather(*(send(a, convo["id"], "网不好", client_id="flaky") for _ in range(5)))
        assert sorted(r.status_code for r in replies) == [200, 200, 200, 200, 201]
        assert len({r.json()["id"] for r in replies}) == 1
        assert (await unread(b))["messages"] == 1

    async def test_concurrent_sends_count_exactly(self, client: httpx2.AsyncClient, database: Database) -> None:
        a, b = await sign_up_all(client, "alice", "bob")
        await befriend(a, b)
        convo = await open_with(a, b)
        replies = await asyncio.gather(*(send(a, convo["id"], f"#{n}") for n in range(12)),
                                       *(send(b, convo["id"], f"回{n}") for n in range(3)))
        assert all(r.status_code == 201 for r in replies), [r.text for r in replies if r.status_code != 201]
        members, badge = await stored_unread(database, b.id)
        async with database.transaction(write=False) as db:
            after_last_read = await db.scalar(select(func.count()).select_from(Message).where(
                Message.conversation_id == int(convo["id"]), Message.sender_id == int(a.id),
                Message.id > select(ConversationMember.last_read_message_id).where(
                    ConversationMember.user_id == int(b.id)).scalar_subquery()))
        # Bob's replies read everything before them: what is unread is exactly what came after.
        assert members == badge == after_last_read
        assert (await listed(b))[0]["unread_count"] == after_last_read

    async def test_html_is_stored_verbatim(self, client: httpx2.AsyncClient) -> None:
        a, b = await sign_up_all(client, "alice", "bob")
        await befriend(a, b)
        convo = await open_with(a, b)
        evil = '<script>alert("x")</script><img src=x onerror=alert(1)> & 你好'
        await say(a, convo["id"], evil)
        assert (await b.get(f"/api/v1/conversations/{convo['id']}/messages")).json()["items"][0]["body"] == evil

    @pytest.mark.parametrize("body", [
        {"body": ""}, {"body": "   "}, {"body": "x" * 1001}, {"body": "a\x00b"}, {"body": "hi", "extra": 1},
        {"kind": "video"}, {"kind": "text", "body": "hi", "video_id": "1"}, {"body": "hi", "client_id": "有"},
        {"kind": "sticker", "body": "hi"},
    ])
    async def test_bad_input_is_422(self, client: httpx2.AsyncClient, body: dict[str, Any]) -> None:
        a, b = await sign_up_all(client, "alice", "bob")
        await befriend(a, b)
        convo = await open_with(a, b)
        r = await a.post(f"/api/v1/conversations/{convo['id']}/messages", json=body)
        assert_problem(r, 422, "request.invalid")


class TestVideoShares:
    async def test_share_a_video_card(self, client: httpx2.AsyncClient, database: Database) -> None:
        a, b = await sign_up_all(client, "alice", "bob")
        await befriend(a, b)
        async with database.transaction() as db:
            creator = await make_user(db, "creator")
            public = await make_video(db, creator, caption="橘猫跳舞")
            private = await make_video(db, creator, caption="私密", visibility="private")
        convo = await open_with(a, b)
        shared = await say(a, convo["id"], "看这个", kind="video", video_id=str(public.id))
        assert shared["video"]["id"] == str(public.id) and shared["video"]["caption"] == "橘猫跳舞"
        assert shared["video"]["poster_url"]
        seen = (await b.get(f"/api/v1/conversations/{convo['id']}/messages")).json()["items"][0]
        assert seen["video"]["id"] == str(public.id) and seen["video_unavailable"] is False
        r = await send(a, convo["id"], "", kind="video", video_id=str(private.id))
        assert_problem(r, 404, "media.video_not_found")  # you share only what you can see
        # A video sent in a message counts as a share of it, once (a retried send is no new share).
        stats = (await a.get(f"/api/v1/videos/{public.id}/engagement")).json()["stats"]
        assert stats["shares"] == 1

    async def test_recipient_who_may_not_see_it_gets_unavailable(self, client: httpx2.AsyncClient,
                                                                 database: Database) -> None:
        a, b, c = await sign_up_all(client, "alice", "bob", "carol")
        await befriend(a, c)  # carol's friends-only video: alice may see it, bob may not
        await befriend(a, b)
        async with database.transaction() as db:
            from shua.accounts.models import User as UserRow

            carol = await db.get(UserRow, int(c.id))
            assert carol is not None
            friends_only = await make_video(db, carol, caption="只给朋友", visibility="friends")
        convo = await open_with(a, b)
        await say(a, convo["id"], "", kind="video", video_id=str(friends_only.id))
        seen = (await b.get(f"/api/v1/conversations/{convo['id']}/messages")).json()["items"][0]
        assert seen["video"] is None and seen["video_unavailable"] is True
        assert (await listed(b))[0]["last_message"]["video_unavailable"] is True


class TestEverythingElse:
    async def test_rate_limited(self, client: httpx2.AsyncClient, app: Any) -> None:
        app.state.runtime.settings.message_rate = "3/minute"
        a, b = await sign_up_all(client, "alice", "bob")
        await befriend(a, b)
        convo = await open_with(a, b)
        for n in range(3):
            await say(a, convo["id"], str(n))
        assert_problem(await send(a, convo["id"], "太快了"), 429, "rate_limited")

    async def test_report_a_message_as_a_participant(self, client: httpx2.AsyncClient) -> None:
        b, stranger = await sign_up_all(client, "bob", "stranger")
        convo = await open_with(stranger, b)
        spam = await say(stranger, convo["id"], "加我微信领红包")
        r = await b.post("/api/v1/reports", json={"target_kind": "message", "target_id": spam["id"],
                                                  "reason": "scam"})
        assert r.status_code == 201, r.text
        assert r.json()["target_owner_id"] == stranger.id

    async def test_export_has_messages_and_notifications(self, client: httpx2.AsyncClient,
                                                         database: Database) -> None:
        a, b = await sign_up_all(client, "alice", "bob")
        await befriend(a, b)
        await jobs.drain(database)
        convo = await open_with(a, b)
        await say(a, convo["id"], "导出我")
        data = (await b.get("/api/v1/me/export")).json()
        assert data["messages"][0]["messages"][0] == {**data["messages"][0]["messages"][0], "body": "导出我",
                                                      "from_me": False}
        assert {n["kind"] for n in data["notifications"]} == {"new_follower", "friend_added"}

    async def test_deleted_account_stays_in_the_other_sides_list(self, client: httpx2.AsyncClient,
                                                                database: Database) -> None:
        a, b = await sign_up_all(client, "alice", "bob")
        await befriend(a, b)
        convo = await open_with(a, b)
        await say(b, convo["id"], "再见了")
        r = await b.post("/api/v1/me/deletion", json={"password": PASSWORD})
        assert r.status_code == 202, r.text
        await jobs.drain(database)
        rows = await listed(a)
        assert rows[0]["id"] == convo["id"] and rows[0]["peer"] is None and rows[0]["peer_id"] == b.id
        assert rows[0]["last_message"]["body"] == "再见了"
        assert_problem(await send(a, convo["id"], "还在吗"), 409, "messages.account_deleted")
        clock.travel(8 * 24 * 3600)  # past the grace period: the account is purged for good
        await jobs.drain(database)
        assert await table_count(database, "users") == 1
        rows = await listed(a)
        assert [(r["id"], r["peer"], r["last_message"]["body"]) for r in rows] == [(convo["id"], None, "再见了")]
        page = (await a.get(f"/api/v1/conversations/{convo['id']}/messages")).json()
        assert [(m["body"], m["mine"]) for m in page["items"]] == [("再见了", False)]

    async def test_hide_a_conversation_until_the_next_message(self, client: httpx2.AsyncClient) -> None:
        a, b = await sign_up_all(client, "alice", "bob")
        await befriend(a, b)
        convo = await open_with(a, b)
        await say(a, convo["id"])
        assert (await b.delete(f"/api/v1/conversations/{convo['id']}")).status_code == 204
        assert await listed(b) == [] and (await unread(b))["total"] == 0
        await say(a, convo["id"], "又来了")
        assert [c["unread_count"] for c in await listed(b)] == [1]


class Stream:
    """An open GET /api/v1/live read event by event (comments come back as "heartbeat")."""

    def __init__(self, response: httpx2.Response) -> None:
        self.response = response
        self.lines = response.aiter_lines()

    async def next(self, within: float = 5) -> tuple[str, dict[str, Any] | None]:
        kind, data = None, None
        async with asyncio.timeout(within):
            async for line in self.lines:
                if line.startswith(":"):
                    return "heartbeat", None
                if line.startswith("event: "):
                    kind = line.removeprefix("event: ")
                elif line.startswith("data: "):
                    data = json.loads(line.removeprefix("data: "))
                elif line == "" and kind is not None:
                    return kind, data
        return "closed", None

    async def until(self, kind: str, within: float = 5) -> dict[str, Any]:
        async with asyncio.timeout(within):
            while True:
                got, data = await self.next(within)
                if got == kind:
                    return data or {}


@contextlib.asynccontextmanager
async def stream(user: User) -> AsyncIterator[Stream]:
    async with user.client.stream("GET", "/api/v1/live", headers=user.headers) as response:
        assert response.status_code == 200
        yield Stream(response)


@pytest.fixture
async def served(live_server: str) -> AsyncIterator[httpx2.AsyncClient]:  # noqa: F811 - the imported fixture
    """A real HTTP client of the app served by uvicorn: SSE needs a connection that streams."""
    async with httpx2.AsyncClient(base_url=live_server, timeout=10) as c:
        yield c


class TestLiveStream:
    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        return settings.model_copy(update={"live_heartbeat_seconds": 0.3})

    async def test_both_sides_see_messages_and_receipts_live(self, served: httpx2.AsyncClient) -> None:
        a, b = await sign_up_all(served, "alice", "bob")
        await befriend(a, b)
        convo = await open_with(a, b)
        async with stream(a) as a_live, stream(b) as b_live:
            assert b_live.response.headers["content-type"].startswith("text/event-stream")
            assert b_live.response.headers["cache-control"] == "no-store"
            assert (await b_live.until("ready"))["total"] == 0
            await a_live.until("ready")
            sent = await say(a, convo["id"], "<b>实时</b>\n第二行")
            got = await b_live.until("message")
            assert got["conversation_id"] == convo["id"] and got["message"]["id"] == sent["id"]
            assert got["message"]["body"] == "<b>实时</b>\n第二行" and got["message"]["mine"] is False
            assert got["unread_count"] == 1 and got["is_request"] is False
            assert (await b_live.until("unread"))["messages"] == 1
            mine = await a_live.until("message")  # the sender's other pages too
            assert mine["message"]["mine"] is True
            await b.post(f"/api/v1/conversations/{convo['id']}/read", json={"up_to": sent["id"]})
            receipt = await a_live.until("read")
            assert receipt == {"conversation_id": convo["id"], "reader_id": b.id, "last_read_id": sent["id"]}
            assert (await b_live.until("unread"))["total"] == 0

    async def test_a_refused_send_pushes_nothing(self, served: httpx2.AsyncClient) -> None:
        b, stranger = await sign_up_all(served, "bob", "stranger")
        convo = await open_with(stranger, b)
        for n in range(3):
            await say(stranger, convo["id"], str(n))
        async with stream(b) as b_live:
            await b_live.until("ready")
            assert_problem(await send(stranger, convo["id"], "第四条"), 403, "messages.request_limit")
            # Only heartbeats until the next real change, which arrives first.
            await b.post(f"/api/v1/conversations/{convo['id']}/accept")
            kinds = []
            while (kind := (await b_live.next())[0]) != "unread":
                kinds.append(kind)
            assert set(kinds) <= {"heartbeat", "read"}

    async def test_signing_out_ends_the_stream(self, served: httpx2.AsyncClient) -> None:
        b = await sign_up(served, "bob")
        async with stream(b) as b_live:
            await b_live.until("ready")
            assert (await b.post("/api/v1/auth/logout")).status_code == 204
            await b_live.until("signed_out", within=5)
            assert (await b_live.next())[0] == "closed"

    async def test_closing_the_page_lets_go_of_its_subscription(self, served: httpx2.AsyncClient, app: Any) -> None:
        b = await sign_up(served, "bob")
        hub = app.state.runtime.live
        async with stream(b) as one, stream(b) as two:
            await one.until("ready")
            await two.until("ready")
            assert hub.connections(int(b.id)) == 2
        for _ in range(100):  # the server notices the client left, and lets go
            if not hub.connections(int(b.id)):
                break
            await asyncio.sleep(0.05)
        assert hub.connections(int(b.id)) == 0


@contextlib.contextmanager
def serve(app: Any) -> Iterator[str]:
    """Another API process: the same code, its own event loop and live hub, on its own port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        assert thread.is_alive()
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


@pytest.mark.skipif(not REDIS_URL, reason="SHUA_TEST_REDIS_URL not set")
class TestSeveralProcesses:
    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        return settings.model_copy(update={"redis_url": REDIS_URL, "message_rate": "1000/minute"})

    async def test_a_message_sent_through_one_process_reaches_a_page_open_on_another(
            self, settings: Settings) -> None:
        one, two = create_app(settings, configure_logs=False), create_app(settings, configure_logs=False)
        with serve(one) as url_one, serve(two) as url_two:
            async with httpx2.AsyncClient(base_url=url_one, timeout=10) as c1, \
                    httpx2.AsyncClient(base_url=url_two, timeout=10) as c2:
                a = await sign_up(c1, "alice")
                b = await sign_up(c1, "bob")
                b_on_two = User(c2, b.handle, b.headers["Authorization"].removeprefix("Bearer "), b.id)
                await befriend(a, b)
                convo = await open_with(a, b)
                async with stream(b_on_two) as live:
                    await live.until("ready")
                    sent = await say(a, convo["id"], "跨进程")  # handled by process one
                    got = await live.until("message")
                    assert got["message"]["id"] == sent["id"] and got["message"]["body"] == "跨进程"
                    assert (await live.until("unread"))["messages"] == 1
