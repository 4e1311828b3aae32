"""The demo seed: users and real processed videos, idempotent."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from shua import demo_videos
from shua.demo import PEOPLE, seed
from shua.media.models import READY, Video
from shua.runtime import Runtime


async def test_demo_posts_processed_videos_once(app, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    rt: Runtime = app.state.runtime
    monkeypatch.setattr(demo_videos, "CLIPS", demo_videos.CLIPS[:2] + [("nobody", "x", "y", "public")])
    one_real_caption = demo_videos.kuairec_clips()[:1]
    monkeypatch.setattr(demo_videos, "kuairec_clips", lambda: one_real_caption)
    assert await seed(rt) == 1 + len(PEOPLE)
    assert await demo_videos.seed_videos(rt) == 3
    assert await demo_videos.seed_videos(rt) == 0  # a second run changes nothing
    async with rt.database.transaction(write=False) as db:
        rows = (await db.scalars(select(Video))).all()
        assert [v.status for v in rows] == [READY, READY, READY]
        assert all("#" in v.caption and v.hashtags for v in rows)
        assert await db.scalar(select(func.count()).select_from(Video)) == 3


def test_kuairec_captions_give_every_category_a_creator_and_a_topic() -> None:
    clips = demo_videos.kuairec_clips()
    handles = {handle for handle, _, _ in PEOPLE}
    assert len(clips) == 32 and all(creator in handles for creator, _, _, _ in clips)
    assert all("#" in caption for _, _, caption, _ in clips)


async def test_demo_people_have_friends_moods_and_daily_posts_once(app) -> None:  # type: ignore[no-untyped-def]
    from shua.demo_social import seed_social
    from shua.social import friends_feed, graph, people

    rt: Runtime = app.state.runtime
    await seed(rt)
    assert await seed_social(rt) > 0
    assert await seed_social(rt) == 0  # a second run changes nothing
    async with rt.database.transaction(write=False) as db:
        from shua.accounts.models import User

        demo = await db.scalar(select(User).where(User.handle == "demo"))
        assert demo is not None
        assert (await graph.stats_of(db, demo.id)).friends == 3
        page = await friends_feed.friends_feed(db, viewer_id=demo.id, cursor=None)
        assert {item.kind for item in page.items} == {"mood", "daily"}
        suggested = [s.user_id for s in await people.suggestions(db, user_id=demo.id)]
        assert suggested  # friends of friends (travel_amy, wangwu) and a fan


async def test_demo_viewing_history_trains_a_personal_feed(app, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """With the demo creators' videos (made directly here), the seeded viewers' history trains a
    model, and the demo account's For You leans to its tastes (fitness and games)."""
    from shua.accounts.models import User
    from shua.demo_feed import TASTES, seed_viewing
    from shua.feed import learning, service
    from tests.factories import make_video

    rt: Runtime = app.state.runtime
    await seed(rt)
    async with rt.database.transaction() as db:
        people = {u.handle: u for u in (await db.scalars(select(User))).all()}
        for taste, handles in TASTES.items():
            for handle in handles:
                for i in range(8):
                    await make_video(db, people[handle], caption=f"#{taste} {i}", hashtags=[taste], duration_ms=4000)
    assert await seed_viewing(rt) > 0
    assert await seed_viewing(rt) == 0  # once
    assert (learning.model_folder(rt.settings.var_dir) / "meta.json").exists()
    async with rt.database.transaction(write=False) as db:
        demo = people["demo"]
        services = service.services_of(rt.extras, var_dir=rt.settings.var_dir, redis_url="")
        page = await service.for_you(db, services, viewer_id=demo.id, cursor=None, follow_share=0.1)
    topics = [video.hashtags[0] for video, _, _ in page.items]
    from shua.feed import interests

    async with rt.database.transaction() as db:
        assert await interests.chosen(db, demo.id) == ["fitness", "games"]  # answered: not asked again
    assert sum(t in ("fitness", "games") for t in topics) >= len(topics) / 2, topics  # 2 of 10 tastes by chance
    import shutil

    shutil.rmtree(learning.model_folder(rt.settings.var_dir), ignore_errors=True)


async def test_demo_wallets_hold_money_that_balances_once(app) -> None:  # type: ignore[no-untyped-def]
    from shua.accounts.models import User
    from shua.demo_payments import seed_payments
    from shua.payments import intents, ledger, wallet

    rt = app.state.runtime
    await seed(rt)
    assert await seed_payments(rt) == 5
    assert await seed_payments(rt) == 0  # a second run changes nothing
    async with rt.database.transaction(write=False) as db:
        demo = await db.scalar(select(User).where(User.handle == "demo"))
        assert demo is not None
        assert [e.amount for e in await wallet.history(db, user_id=demo.id)] == [6_666]
        waiting = await intents.list_for(db, user_id=demo.id, role="payer")
        assert [(i.amount, i.status) for i in waiting] == [(1_990, "requires_confirmation")]
        assert (await ledger.verify(db)).ok


async def _photo_key(rt, photo_id: int) -> str:  # type: ignore[no-untyped-def]
    from shua.commerce.models import ShopPhoto

    async with rt.database.transaction(write=False) as db:
        photo = await db.get(ShopPhoto, photo_id)
        assert photo is not None
        return photo.key


async def test_demo_shop_lists_products_and_hangs_them_on_videos_once(app) -> None:  # type: ignore[no-untyped-def]
    from shua.accounts.models import User
    from shua.commerce import carts, shops
    from shua.demo_shop import seed_shop
    from shua.media import videos
    from tests.factories import make_video

    rt = app.state.runtime
    await seed(rt)
    async with rt.database.transaction() as db:
        for handle in ("chef_lin", "lisi"):
            owner = await db.scalar(select(User).where(User.handle == handle))
            await make_video(db, owner, caption=f"{handle} 的视频")
    assert await seed_shop(rt) == 2
    assert await seed_shop(rt) == 0  # a second run changes nothing
    async with rt.database.transaction(write=False) as db:
        chef = await db.scalar(select(User).where(User.handle == "chef_lin"))
        assert chef is not None
        shop = await shops.shop_of(db, owner_id=chef.id)
        listed = await shops.products_of(db, shop_id=shop.id)
        assert len(listed) == 2 and all(skus for _, skus in listed)
        for handle in ("chef_lin", "lisi"):
            owner = await db.scalar(select(User).where(User.handle == handle))
            latest = await videos.list_own_videos(db, owner_id=owner.id, limit=1)
            assert (await carts.of_video(db, video_id=latest[0].id)) is not None
        from shua.commerce import photos, questions
        from shua.commerce.models import PRODUCT_PHOTO

        wok = listed[-1][0]  # the first listed: products come newest first
        pictures = await photos.of(db, purpose=PRODUCT_PHOTO, target_ids=[p.id for p, _ in listed])
        assert [len(pictures.get(p.id, [])) for p, _ in listed] == [1, 2]
        assert wok.shipping_template_id is not None and "<ul>" in wok.description
        assert [q.answer for q in await questions.of_product(db, product_id=wok.id, viewer_id=None)] \
            == ["可以的，锅底是复合钢，燃气电磁炉都能用。"]
    stored = await rt.storage.get(await _photo_key(rt, pictures[wok.id][0]))
    assert stored is not None and stored[:2] == b"\xff\xd8"  # stored, re-encoded as JPEG
