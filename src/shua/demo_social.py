"""The demo's social life: who follows whom (so `demo` has friends, a fan, and friends of friends
to be suggested), today's moods, and a few daily photos drawn here. Idempotent: once the demo
user follows anyone, it is all there."""

from __future__ import annotations

import io

from PIL import Image, ImageDraw
from sqlalchemy import select

from shua.accounts.models import User
from shua.media.synth import load_font
from shua.runtime import Runtime
from shua.social import graph, moments

# Mutual pairs become friends; one-way pairs are plain follows.
FRIENDS = [("demo", "zhangsan"), ("demo", "lisi"), ("demo", "xiaomei"), ("zhangsan", "lisi"),
           ("lisi", "xiaomei"), ("xiaomei", "travel_amy"), ("zhangsan", "wangwu"), ("chef_lin", "lisi")]
FOLLOWS = [("demo", "maomao"), ("demo", "chef_lin"), ("demo", "xiaoyu"), ("baby_mama", "demo"),
           ("wangwu", "demo"), ("maomao", "zhangsan"),
           ("travel_amy", "lisi"), ("chef_lin", "xiaomei")]
MOODS = [("zhangsan", "travel", "周末爬山，山顶的云海", "friends"), ("lisi", "hungry", "火锅走起 🌶️", "friends"),
         ("xiaomei", "happy", "新衣服到了", "public")]
# (author, caption drawn on the photo and posted, top and bottom colours)
DAILY = [("zhangsan", "山顶日出", (255, 150, 60), (60, 40, 120)), ("lisi", "今晚的火锅", (200, 40, 40), (255, 190, 90)),
         ("xiaomei", "今日穿搭", (250, 200, 220), (120, 160, 230))]


def daily_photo(text: str, top: tuple[int, int, int], bottom: tuple[int, int, int]) -> bytes:
    """A 720×960 gradient with the caption on it: a stand-in for a phone photo."""
    image = Image.new("RGB", (720, 960))
    draw = ImageDraw.Draw(image)
    for y in range(960):
        mix = y / 959
        draw.line([(0, y), (719, y)], fill=tuple(round(a + (b - a) * mix) for a, b in zip(top, bottom, strict=True)))
    font = load_font(72)
    draw.text((360, 480), text, fill=(255, 255, 255), font=font, anchor="mm", stroke_width=3,
              stroke_fill=(0, 0, 0))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


async def seed_social(rt: Runtime) -> int:
    """Follows, moods and daily posts among the demo people; returns how many facts were made."""
    async with rt.database.transaction() as db:
        users = {u.handle: u for u in (await db.scalars(select(User))).all()}
        if "demo" not in users or await graph.following_ids(db, users["demo"].id):
            return 0
        made = 0
        for a, b in FRIENDS:
            if a in users and b in users:
                await graph.follow(db, follower_id=users[a].id, followee=users[b])
                await graph.follow(db, follower_id=users[b].id, followee=users[a])
                made += 2
        for a, b in FOLLOWS:
            if a in users and b in users:
                await graph.follow(db, follower_id=users[a].id, followee=users[b])
                made += 1
        for handle, tag, text, visibility in MOODS:
            if handle in users:
                await moments.set_mood(db, user_id=users[handle].id, tag=tag, text=text, visibility=visibility,
                                       hours=rt.settings.daily_hours)
                made += 1
        for handle, caption, top, bottom in DAILY:
            if handle in users:
                await moments.post_daily_photo(db, rt.storage, author_id=users[handle].id,
                                               data=daily_photo(caption, top, bottom), caption=caption,
                                               hours=rt.settings.daily_hours)
                made += 1
    return made
