"""Threaded comments through the API: replies, mentions, likes, pins, deletion, who may comment,
pagination, blocks, bad input, concurrency, reports and the export."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx2

from shua.core import jobs
from shua.core.db import Database
from shua.media.models import PRIVATE
from shua.social import comments, engagement
from tests.factories import make_user, make_video
from tests.helpers import assert_problem
from tests.social.test_engagement import engagement_of, events, video_of
from tests.social.test_graph import User, sign_up, sign_up_all


async def comment(user: User, vid: str, body: str, reply_to: str | None = None) -> dict[str, Any]:
    payload: dict[str, Any] = {"body": body}
    if reply_to:
        payload["reply_to_id"] = reply_to
    r = await user.post(f"/api/v1/videos/{vid}/comments", json=payload)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def listing(user: User | httpx2.AsyncClient, vid: str, **params: str) -> dict[str, Any]:
    r = await user.get(f"/api/v1/videos/{vid}/comments", params=params)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def put(user: User, url: str) -> httpx2.Response:
    return await user.client.put(url, headers=user.headers)


def bodies(page: dict[str, Any]) -> list[str]:
    return [c["body"] for c in page["items"]]


class TestPostAndReply:
    async def test_comment_reply_and_reply_to_a_reply(self, client: httpx2.AsyncClient, database: Database) -> None:
        alice, bob, carol = await sign_up_all(client, "alice", "bob", "carol")
        vid = await video_of(database, alice)
        top = await comment(bob, vid, "第一！")
        assert top["author"]["handle"] == "bob" and top["root_id"] is None and top["can_delete"] is True
        assert top["can_pin"] is False
        reply = await comment(alice, vid, "谢谢", reply_to=top["id"])
        assert reply["root_id"] == top["id"] and reply["reply_to_user"]["handle"] == "bob"
        deeper = await comment(carol, vid, "我也觉得", reply_to=reply["id"])
        assert deeper["root_id"] == top["id"]  # one level deep, like Douyin
        assert deeper["reply_to_id"] == reply["id"] and deeper["reply_to_user"]["handle"] == "alice"
        page = await listing(client, vid)
        assert page["total"] == 3 and bodies(page) == ["第一！"]
        thread = page["items"][0]
        assert thread["replies"] == 2 and [r["body"] for r in thread["first_replies"]] == ["谢谢", "我也觉得"]
        assert thread["replies_cursor"] is None
        assert (await engagement_of(client, vid))["stats"]["comments"] == 3
        payloads = await events(database, "social.commented")
        assert payloads[0] == {"comment_id": top["id"], "video_id": vid, "author_id": bob.id,
                               "video_owner_id": alice.id, "parent_id": None, "reply_to_user_id": None,
                               "mentions": []}
        assert payloads[2]["parent_id"] == top["id"] and payloads[2]["reply_to_user_id"] == alice.id

    async def test_more_replies_page_after_the_first_two(self, client: httpx2.AsyncClient,
                                                         database: Database) -> None:
        alice, bob = await sign_up_all(client, "alice", "bob")
        vid = await video_of(database, alice)
        top = await comment(bob, vid, "楼主")
        async with database.transaction() as db:  # past the API's 20 a minute
            for i in range(25):
                await comments.post_comment(db, author_id=int(alice.id), video_id=vid, body=f"回复{i}",
                                            reply_to_id=int(top["id"]))
        thread = (await listing(bob, vid))["items"][0]
        assert [r["body"] for r in thread["first_replies"]] == ["回复0", "回复1"]
        seen, cursor = [], thread["replies_cursor"]
        while cursor:
            r = await bob.get(f"/api/v1/comments/{top['id']}/replies", params={"cursor": cursor})
            assert r.status_code == 200, r.text
            seen += bodies(r.json())
            cursor = r.json()["next_cursor"]
        assert seen == [f"回复{i}" for i in range(2, 25)]
        everything = (await bob.get(f"/api/v1/comments/{top['id']}/replies")).json()
        assert len(everything["items"]) == 20 and everything["next_cursor"]

    async def test_mentions_keep_only_people_who_exist_and_may_see(self, client: httpx2.AsyncClient,
                                                                   database: Database) -> None:
        alice, bob, carol, dave = await sign_up_all(client, "alice", "bob", "carol", "dave")
        await dave.post(f"/api/v1/users/{bob.handle}/block")
        vid = await video_of(database, alice)
        made = await comment(bob, vid, "@carol 快看 @ghost_user @dave @Carol @bob @alice.")
        assert [m["handle"] for m in made["mentions"]] == ["carol", "alice"]
        assert "@ghost_user" in made["body"]  # kept as text, just not a mention
        assert (await events(database, "social.commented"))[0]["mentions"] == [carol.id, alice.id]
        await alice.post(f"/api/v1/users/{carol.handle}/follow")
        await carol.post(f"/api/v1/users/{alice.handle}/follow")
        friends_only = await video_of(database, alice, visibility="friends")
        made = await comment(alice, friends_only, "@carol @bob 朋友可见")
        assert [m["handle"] for m in made["mentions"]] == ["carol"]  # bob may not see the video

    async def test_html_and_script_are_stored_as_text(self, client: httpx2.AsyncClient, database: Database) -> None:
        alice, bob = await sign_up_all(client, "alice", "bob")
        vid = await video_of(database, alice)
        body = '好看！<script>alert(1)</script> <img src=x onerror="alert(2)">'
        assert (await comment(bob, vid, body))["body"] == body
        r = await client.get(f"/api/v1/videos/{vid}/comments")
        assert r.headers["content-type"].startswith("application/json")
        assert bodies(r.json()) == [body]  # JSON, not HTML: the client inserts it as text


class TestBadInput:
    async def test_comment_on_deleted_private_or_unknown_video(self, client: httpx2.AsyncClient,
                                                               database: Database) -> None:
        alice, bob = await sign_up_all(client, "alice", "bob")
        secret = await video_of(database, alice, visibility=PRIVATE)
        vid = await video_of(database, alice)
        assert (await alice.delete(f"/api/v1/videos/{vid}")).status_code == 204
        for target in (secret, vid, "123456789"):
            assert_problem(await bob.post(f"/api/v1/videos/{target}/comments", json={"body": "hi"}), 404,
                           "media.video_not_found")
            assert_problem(await bob.get(f"/api/v1/videos/{target}/comments"), 404, "media.video_not_found")
        assert_problem(await client.post(f"/api/v1/videos/{secret}/comments", json={"body": "hi"}), 401,
                       "auth.required")

    async def test_bodies_that_are_refused_store_nothing(self, client: httpx2.AsyncClient,
                                                         database: Database) -> None:
        alice, bob = await sign_up_all(client, "alice", "bob")
        vid = await video_of(database, alice)
        for body in ({"body": ""}, {"body": "   "}, {"body": "x" * 501}, {"body": "a\x00b"}, {"body": "\u202eevil"},
                     {"body": 5}, {}, {"body": "ok", "extra": 1}, {"body": "ok", "reply_to_id": "abc"}):
            assert_problem(await bob.post(f"/api/v1/videos/{vid}/comments", json=body), 422, "request.invalid")
        r = await bob.post(f"/api/v1/videos/{vid}/comments", json={"body": "长" * 1_000_000})  # 3 MB of UTF-8
        assert_problem(r, 413, "request.too_large")
        r = await bob.post(f"/api/v1/videos/{vid}/comments", json={"body": "x" * 1_000_000})  # fits the body limit
        assert_problem(r, 422, "request.invalid")
        assert (await listing(bob, vid))["items"] == [] and (await engagement_of(bob, vid))["stats"]["comments"] == 0

    async def test_reply_to_a_comment_of_another_video_or_none(self, client: httpx2.AsyncClient,
                                                              database: Database) -> None:
        alice, bob = await sign_up_all(client, "alice", "bob")
        here, there = await video_of(database, alice), await video_of(database, alice)
        elsewhere = await comment(bob, there, "别处的评论")
        r = await bob.post(f"/api/v1/videos/{here}/comments", json={"body": "hi", "reply_to_id": elsewhere["id"]})
        assert_problem(r, 422, "social.reply_other_video")
        r = await bob.post(f"/api/v1/videos/{here}/comments", json={"body": "hi", "reply_to_id": "4242"})
        assert_problem(r, 404, "social.comment_not_found")
        assert (await engagement_of(bob, here))["stats"]["comments"] == 0

    async def test_bad_cursors_and_sorts(self, client: httpx2.AsyncClient, database: Database) -> None:
        alice = await sign_up(client, "alice")
        vid = await video_of(database, alice)
        for params in ({"cursor": "nope"}, {"sort": "best"}, {"cursor": "eyJzIjoidG9wIiwiaWQiOiJ4In0"}):
            assert_problem(await alice.get(f"/api/v1/videos/{vid}/comments", params=params), 422, "request.invalid")


    async def test_comments_are_rate_limited(self, client: httpx2.AsyncClient, database: Database) -> None:
        alice, bob = await sign_up_all(client, "alice", "bob")
        vid = await video_of(database, alice)
        codes = [(await bob.post(f"/api/v1/videos/{vid}/comments", json={"body": f"#{i}"})).status_code
                 for i in range(21)]
        assert codes == [201] * 20 + [429]
        assert (await engagement_of(bob, vid))["stats"]["comments"] == 20


class TestWhoMayComment:
    async def test_comments_off_friends_only_and_nobody(self, client: httpx2.AsyncClient,
                                                        database: Database) -> None:
        alice, bob, carol = await sign_up_all(client, "alice", "bob", "carol")
        vid = await video_of(database, alice)
        await comment(bob, vid, "before")
        assert (await alice.patch(f"/api/v1/videos/{vid}", json={"allow_comments": False})).status_code == 200
        assert_problem(await bob.post(f"/api/v1/videos/{vid}/comments", json={"body": "x"}), 403,
                       "social.comments_off")
        page = await listing(bob, vid)
        assert page["comments_off"] is True and page["can_comment"] is False and bodies(page) == ["before"]
        await alice.patch(f"/api/v1/videos/{vid}", json={"allow_comments": True})
        await alice.patch("/api/v1/me/privacy", json={"who_can_comment": "friends"})
        await alice.post(f"/api/v1/users/{bob.handle}/follow")
        await bob.post(f"/api/v1/users/{alice.handle}/follow")
        assert (await bob.post(f"/api/v1/videos/{vid}/comments", json={"body": "friend"})).status_code == 201
        assert_problem(await carol.post(f"/api/v1/videos/{vid}/comments", json={"body": "x"}), 403,
                       "social.not_allowed")
        assert (await engagement_of(carol, vid))["can_comment"] is False
        assert (await engagement_of(bob, vid))["can_comment"] is True
        await alice.patch("/api/v1/me/privacy", json={"who_can_comment": "nobody"})
        assert_problem(await bob.post(f"/api/v1/videos/{vid}/comments", json={"body": "x"}), 403,
                       "social.not_allowed")
        assert (await alice.post(f"/api/v1/videos/{vid}/comments", json={"body": "mine"})).status_code == 201

    async def test_blocks_hide_comments_both_ways(self, client: httpx2.AsyncClient, database: Database) -> None:
        alice, bob, carol = await sign_up_all(client, "alice", "bob", "carol")
        vid = await video_of(database, alice)
        mean = await comment(bob, vid, "bob was here")
        await comment(carol, vid, "carol was here")
        await carol.post(f"/api/v1/users/{bob.handle}/block")
        assert bodies(await listing(carol, vid)) == ["carol was here"]
        assert bodies(await listing(bob, vid)) == ["bob was here"]
        assert len((await listing(client, vid))["items"]) == 2
        r = await carol.post(f"/api/v1/videos/{vid}/comments", json={"body": "x", "reply_to_id": mean["id"]})
        assert_problem(r, 404, "social.comment_not_found")
        assert_problem(await carol.post(f"/api/v1/comments/{mean['id']}/like"), 404, "social.comment_not_found")
        await alice.post(f"/api/v1/users/{bob.handle}/block")  # the creator blocks: bob loses the video
        assert_problem(await bob.post(f"/api/v1/videos/{vid}/comments", json={"body": "x"}), 404,
                       "media.video_not_found")


class TestLikeComments:
    async def test_like_a_comment_twice_is_once(self, client: httpx2.AsyncClient, database: Database) -> None:
        alice, bob = await sign_up_all(client, "alice", "bob")
        vid = await video_of(database, alice)
        made = await comment(bob, vid, "点赞我")
        for _ in range(2):
            r = await alice.post(f"/api/v1/comments/{made['id']}/like")
            assert r.status_code == 200 and r.json() == {"comment_id": made["id"], "likes": 1, "liked": True}
        assert (await listing(alice, vid))["items"][0]["liked"] is True
        assert (await listing(bob, vid))["items"][0]["liked"] is False
        assert await events(database, "social.comment_liked") == [
            {"user_id": alice.id, "comment_id": made["id"], "comment_author_id": bob.id, "video_id": vid}]
        for _ in range(2):
            r = await alice.delete(f"/api/v1/comments/{made['id']}/like")
            assert r.json() == {"comment_id": made["id"], "likes": 0, "liked": False}

    async def test_top_sorts_by_likes_new_by_time_both_page(self, client: httpx2.AsyncClient,
                                                            database: Database) -> None:
        alice = await sign_up(client, "alice")
        fans = await sign_up_all(client, *(f"fan{i}" for i in range(3)))
        vid = await video_of(database, alice)
        made = [await comment(fans[i % 3], vid, f"c{i:02d}") for i in range(23)]
        for fan in fans:
            await fan.post(f"/api/v1/comments/{made[5]['id']}/like")
        await fans[0].post(f"/api/v1/comments/{made[9]['id']}/like")
        top = await listing(alice, vid)
        assert bodies(top)[:3] == ["c05", "c09", "c22"] and len(top["items"]) == 20
        rest = await listing(alice, vid, cursor=top["next_cursor"])
        assert bodies(rest) == ["c02", "c01", "c00"] and rest["next_cursor"] is None
        new = await listing(alice, vid, sort="new")
        more = await listing(alice, vid, sort="new", cursor=new["next_cursor"])
        assert bodies(new) + bodies(more) == [f"c{i:02d}" for i in reversed(range(23))]
        assert_problem(await alice.get(f"/api/v1/videos/{vid}/comments", params={"sort": "new",
                                                                                   "cursor": top["next_cursor"]}),
                       422, "request.invalid")


class TestPin:
    async def test_creator_pins_one_comment_at_a_time(self, client: httpx2.AsyncClient, database: Database) -> None:
        alice, bob, carol = await sign_up_all(client, "alice", "bob", "carol")
        vid = await video_of(database, alice)
        first, second = await comment(bob, vid, "first"), await comment(carol, vid, "second")
        await carol.post(f"/api/v1/comments/{second['id']}/like")
        assert bodies(await listing(alice, vid)) == ["second", "first"]
        r = await put(alice, f"/api/v1/comments/{first['id']}/pin")
        assert r.status_code == 200 and r.json()["pinned"] is True
        page = await listing(bob, vid)
        assert bodies(page) == ["first", "second"] and page["items"][0]["pinned"] is True
        assert bodies(await listing(bob, vid, sort="new")) == ["first", "second"]
        await put(alice, f"/api/v1/comments/{second['id']}/pin")
        page = await listing(bob, vid)
        assert [(c["body"], c["pinned"]) for c in page["items"]] == [("second", True), ("first", False)]
        r = await alice.delete(f"/api/v1/comments/{second['id']}/pin")
        assert r.status_code == 200 and r.json()["pinned"] is False

    async def test_only_the_creator_pins_and_only_top_level(self, client: httpx2.AsyncClient,
                                                            database: Database) -> None:
        alice, bob = await sign_up_all(client, "alice", "bob")
        vid = await video_of(database, alice)
        top = await comment(bob, vid, "top")
        reply = await comment(alice, vid, "reply", reply_to=top["id"])
        assert_problem(await put(bob, f"/api/v1/comments/{top['id']}/pin"), 403,
                       "social.pin_forbidden")
        assert_problem(await put(alice, f"/api/v1/comments/{reply['id']}/pin"), 422,
                       "social.cannot_pin_reply")
        assert_problem(await put(alice, "/api/v1/comments/777/pin"), 404,
                       "social.comment_not_found")
        assert not any(c["pinned"] for c in (await listing(bob, vid))["items"])


class TestDelete:
    async def test_author_or_creator_deletes_placeholders_keep_threads(self, client: httpx2.AsyncClient,
                                                                       database: Database) -> None:
        alice, bob, carol = await sign_up_all(client, "alice", "bob", "carol")
        vid = await video_of(database, alice)
        top = await comment(bob, vid, "top")
        reply = await comment(carol, vid, "reply", reply_to=top["id"])
        lone = await comment(carol, vid, "lone")
        assert_problem(await carol.delete(f"/api/v1/comments/{top['id']}"), 403, "social.comment_forbidden")
        assert (await bob.delete(f"/api/v1/comments/{top['id']}")).status_code == 204
        assert (await bob.delete(f"/api/v1/comments/{top['id']}")).status_code == 204  # twice is harmless
        page = await listing(carol, vid)
        assert page["total"] == 2
        placeholder = next(c for c in page["items"] if c["id"] == top["id"])
        assert placeholder["deleted"] is True and placeholder["body"] == "" and placeholder["author"] is None
        assert [r["body"] for r in placeholder["first_replies"]] == ["reply"]
        assert_problem(await carol.post(f"/api/v1/videos/{vid}/comments", json={"body": "x",
                                                                                "reply_to_id": top["id"]}),
                       404, "social.comment_not_found")
        assert (await alice.delete(f"/api/v1/comments/{lone['id']}")).status_code == 204  # the creator may
        assert (await alice.delete(f"/api/v1/comments/{reply['id']}")).status_code == 204
        page = await listing(carol, vid)
        assert page["items"] == [] and page["total"] == 0  # an empty placeholder goes too
        assert len(await events(database, "social.comment_deleted")) == 3

    async def test_a_deleted_account_leaves_placeholders_and_right_counts(self, client: httpx2.AsyncClient,
                                                                         database: Database) -> None:
        alice, bob, carol = await sign_up_all(client, "alice", "bob", "carol")
        vid = await video_of(database, alice)
        top = await comment(bob, vid, "bob's")
        await comment(carol, vid, "carol's reply", reply_to=top["id"])
        theirs = await comment(carol, vid, "carol's")
        await bob.post(f"/api/v1/comments/{theirs['id']}/like")
        assert (await bob.post("/api/v1/me/deletion", json={"password": "Correct-Horse-42"})).status_code == 202
        await jobs.drain(database)
        page = await listing(carol, vid)
        assert page["total"] == 2
        assert [(c["deleted"], c["likes"]) for c in page["items"]] == [(False, 0), (True, 0)]


class TestConcurrency:
    async def test_concurrent_comments_and_replies_count_exactly(self, database: Database) -> None:
        async with database.transaction() as db:
            star = await make_user(db, "star")
            fans = [await make_user(db, f"fan{i:02d}") for i in range(12)]
            video = await make_video(db, star)
            root = await comments.post_comment(db, author_id=star.id, video_id=video.id, body="root")

        async def post(fan_id: int, reply: bool) -> None:
            async with database.transaction() as db:
                await comments.post_comment(db, author_id=fan_id, video_id=video.id, body="hi",
                                            reply_to_id=root.id if reply else None)

        async def like(fan_id: int) -> None:
            async with database.transaction() as db:
                await comments.like_comment(db, user_id=fan_id, comment_id=root.id)

        await asyncio.gather(*(post(f.id, i % 2 == 0) for i, f in enumerate(fans)),
                             *(like(f.id) for f in fans), *(like(f.id) for f in fans[:4]))
        async with database.transaction(write=False) as db:
            assert (await engagement.stats_of_many(db, [video.id]))[video.id].comments == 13
            page = await comments.list_comments(db, viewer_id=None, video_id=video.id)
            head = next(t.comment for t in page.threads if t.comment.id == root.id)
            assert head.replies == 6 and head.likes == 12

    async def test_concurrent_deletes_and_pins_stay_consistent(self, database: Database) -> None:
        async with database.transaction() as db:
            star, fan = await make_user(db, "star"), await make_user(db, "fan")
            video = await make_video(db, star)
            made = [await comments.post_comment(db, author_id=fan.id, video_id=video.id, body=f"c{i}")
                    for i in range(6)]

        async def delete(comment_id: int) -> None:
            async with database.transaction() as db:
                await comments.delete_comment(db, user_id=star.id, comment_id=comment_id)

        async def pin(comment_id: int) -> None:
            async with database.transaction() as db:
                await comments.pin_comment(db, user_id=star.id, comment_id=comment_id)

        await asyncio.gather(*(delete(made[0].id) for _ in range(3)), *(pin(c.id) for c in made[1:]))
        async with database.transaction(write=False) as db:
            assert (await engagement.stats_of_many(db, [video.id]))[video.id].comments == 5
            page = await comments.list_comments(db, viewer_id=None, video_id=video.id)
            assert sum(t.comment.pinned_at is not None for t in page.threads) == 1


class TestReportsAndExport:
    async def test_report_a_comment_you_can_see(self, client: httpx2.AsyncClient, database: Database) -> None:
        alice, bob, carol = await sign_up_all(client, "alice", "bob", "carol")
        vid = await video_of(database, alice)
        made = await comment(bob, vid, "spam spam")
        r = await carol.post("/api/v1/reports", json={"target_kind": "comment", "target_id": made["id"],
                                                      "reason": "spam"})
        assert r.status_code == 201 and r.json()["target_owner_id"] == bob.id
        await bob.delete(f"/api/v1/comments/{made['id']}")
        r = await carol.post("/api/v1/reports", json={"target_kind": "comment", "target_id": made["id"],
                                                      "reason": "spam"})
        assert_problem(r, 404, "social.report_target_not_found")

    async def test_comments_are_in_the_export(self, client: httpx2.AsyncClient, database: Database) -> None:
        alice, bob = await sign_up_all(client, "alice", "bob")
        vid = await video_of(database, alice)
        await comment(bob, vid, "我的评论")
        data = (await bob.get("/api/v1/me/export")).json()
        assert [c["body"] for c in data["comments"]] == ["我的评论"]
