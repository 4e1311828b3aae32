"""Interests a new viewer picks (cold start): a fixed catalogue of topics, each a set of hashtag
keywords, so "美食" brings #美食探店 and #cooking alike. Until the viewer has a history, For You
draws candidates from trending videos of the chosen topics and lifts them in the ranking; the lift
fades over the first few dozen views, when the viewer's own signals take over. Choosing none is
an answer too (the prompt is not shown again)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from shua.core import clock
from shua.core.db import on_sqlite
from shua.core.errors import ShuaError
from shua.feed.models import ViewerInterests

# key → keywords. A keyword matches a hashtag equal to it (case-folded) or, for Chinese, one that
# contains it (#成都美食 is food). Keys are the API's; labels are i18n `interest.<key>`.
CATALOGUE: dict[str, tuple[str, ...]] = {
    "food": ("美食", "家常菜", "吃播", "探店", "宵夜", "烧烤", "火锅", "奶茶", "甜品", "做饭",
             "food", "foodie", "cooking", "recipe", "streetfood", "dumplings"),
    "pets": ("猫", "狗", "宠物", "萌宠", "cats", "cat", "dogs", "dog", "pets", "caturday"),
    "fitness": ("健身", "运动", "跑步", "瑜伽", "深蹲", "拉伸", "fitness", "workout", "gym", "running", "yoga"),
    "travel": ("旅行", "旅游", "户外", "爬山", "风景", "摄影", "travel", "hiking", "outdoors", "photography"),
    "fashion": ("穿搭", "时尚", "美妆", "护肤", "ootd", "fashion", "style", "beauty", "makeup"),
    "dance": ("舞蹈", "跳舞", "音乐", "唱歌", "dance", "music", "singing"),
    "comedy": ("搞笑", "喜剧", "段子", "funny", "comedy"),
    "family": ("亲子", "萌娃", "宝宝", "育儿", "family", "baby", "kids"),
    "countryside": ("三农", "乡村", "农村", "种地", "村", "farm", "countryside"),
    "cars": ("汽车", "车", "自驾", "cars", "auto"),
    "games": ("游戏", "二次元", "动漫", "电竞", "games", "gaming", "anime"),
    "daily": ("日常", "生活", "vlog", "dailylife", "life"),
}
MAX_CHOSEN = len(CATALOGUE)
_CJK = re.compile(r"[\u3400-\u9fff]")


class UnknownInterest(ShuaError):
    code = "feed.unknown_interest"
    status = 422
    title = "Unknown interest"


def topics_of(hashtags: Iterable[str]) -> frozenset[str]:
    """The catalogue topics a video's hashtags belong to (memoised: serving asks it for every
    candidate of every page, and the same videos come back all the time)."""
    return _topics_of(tuple(hashtags))


@lru_cache(maxsize=65_536)
def _topics_of(hashtags: tuple[str, ...]) -> frozenset[str]:
    tags = [tag.casefold() for tag in hashtags]
    found = set()
    for key, words in CATALOGUE.items():
        for word in words:
            if any(tag == word or (_CJK.match(word) and word in tag) for tag in tags):
                found.add(key)
                break
    return frozenset(found)


def validate(keys: Iterable[str]) -> list[str]:
    """The chosen keys, deduplicated in catalogue order; an unknown key is a 422."""
    chosen = list(dict.fromkeys(keys))
    unknown = [key for key in chosen if key not in CATALOGUE]
    if unknown:
        raise UnknownInterest(f"Unknown interest: {unknown[0][:40]!r}", field="interests",
                              known=list(CATALOGUE))
    return [key for key in CATALOGUE if key in chosen]


async def chosen(db: AsyncSession, user_id: int) -> list[str] | None:
    """What the viewer chose (None: never asked or never answered)."""
    row = await db.get(ViewerInterests, user_id)
    if row is None:
        return None
    return [key for key in row.topics if key in CATALOGUE]  # a topic retired since is forgotten


async def choose(db: AsyncSession, user_id: int, keys: Iterable[str]) -> list[str]:
    """Replace the viewer's interests (an upsert: two tabs saving at once cannot collide)."""
    topics = validate(keys)
    dialect = sqlite if on_sqlite(db) else postgresql
    now = clock.utcnow()
    statement = dialect.insert(ViewerInterests).values(user_id=user_id, topics=topics, chosen_at=now)
    await db.execute(statement.on_conflict_do_update(
        index_elements=[ViewerInterests.user_id], set_={"topics": topics, "chosen_at": now}))
    db.expire_all()
    return topics
