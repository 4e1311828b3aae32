"""Demo videos for `make demo`: real encoded clips made here (moving shapes, a caption drawn on
the frames, a tone) — nothing downloaded — posted by the demo creators and processed by the
same pipeline as any upload."""

from __future__ import annotations

import csv
import tempfile
from datetime import timedelta
from importlib import resources
from pathlib import Path

from rich.progress import Progress
from sqlalchemy import func, select

from shua.accounts.models import User
from shua.core import jobs
from shua.media.categories import FROM_KUAIREC
from shua.media.models import Video
from shua.media.synth import synthesize
from shua.media.uploads import import_file
from shua.media.videos import post_video
from shua.runtime import Runtime

# (creator, caption on the frames, post caption, visibility)
CLIPS: list[tuple[str, str, str, str]] = [
    ("maomao", "橘猫早安", "三只橘猫的早晨 #猫咪日常 #橘猫 #cats", "public"),
    ("maomao", "猫抓板测评", "猫抓板开箱，哪个最耐抓？#猫咪 #好物分享", "public"),
    ("maomao", "Cat nap", "Sunday nap with the boss #cats #caturday", "public"),
    ("lisi", "成都火锅", "成都本地人才知道的火锅店 #美食探店 #成都美食 #火锅", "public"),
    ("lisi", "宵夜", "凌晨一点的烧烤摊 #宵夜 #烧烤 @zhangsan 来吗", "public"),
    ("lisi", "Street food", "Chengdu street food in 60 seconds #foodie #china", "public"),
    ("wangwu", "深蹲", "每天 50 个深蹲，坚持 30 天 #健身 #深蹲挑战", "public"),
    ("wangwu", "拉伸", "下班后 5 分钟拉伸 #健身打卡 #拉伸", "public"),
    ("wangwu", "HIIT", "10-minute HIIT, no equipment #fitness #workout", "public"),
    ("xiaomei", "秋季穿搭", "一衣多穿｜秋季通勤穿搭 #穿搭 #ootd", "public"),
    ("xiaomei", "配色", "三个配色小技巧 #穿搭技巧 #时尚", "public"),
    ("chef_lin", "番茄炒蛋", "番茄炒蛋的灵魂是什么？#家常菜 #美食教程", "public"),
    ("chef_lin", "红烧肉", "30 秒学会红烧肉 #家常菜 #红烧肉", "public"),
    ("chef_lin", "Dumplings", "Folding dumplings three ways #cooking #dumplings", "public"),
    ("travel_amy", "Lijiang", "Morning in Lijiang old town #travel #yunnan", "public"),
    ("travel_amy", "大理", "洱海边骑行 #旅行 #大理 #云南", "public"),
    ("travel_amy", "Night market", "Kunming night market tour #travel #streetfood", "public"),
    ("zhangsan", "周末爬山", "周末爬山，山顶的云海 #户外 #爬山", "public"),
    ("zhangsan", "拍日常", "今天的晚霞 #日常 #晚霞", "friends"),
    ("demo", "第一条视频", "我的第一条视频！#新人报到 #刷刷", "public"),
    ("demo", "草稿", "只给自己看的草稿", "private"),
    ("xiaomei", "Vlog", "A day in my life #vlog #dailylife", "public"),
    ("wangwu", "跑步", "晨跑 5 公里 #跑步 #晨跑", "public"),
    ("lisi", "奶茶", "新开的奶茶店测评 #奶茶 #探店", "public"),
]


# The category each demo creator files their own clips under, and a few cover titles (by caption).
CREATOR_CATEGORY = {"maomao": "pets", "lisi": "food", "wangwu": "fitness", "xiaomei": "fashion",
                    "chef_lin": "food", "travel_amy": "travel", "zhangsan": "life", "demo": "life"}
COVER_TEXT = {
    "三只橘猫的早晨 #猫咪日常 #橘猫 #cats": "橘猫三兄弟",
    "成都本地人才知道的火锅店 #美食探店 #成都美食 #火锅": "本地人的火锅",
    "每天 50 个深蹲，坚持 30 天 #健身 #深蹲挑战": "30天挑战",
    "一衣多穿｜秋季通勤穿搭 #穿搭 #ootd": "一衣多穿",
    "30 秒学会红烧肉 #家常菜 #红烧肉": "红烧肉教程",
    "洱海边骑行 #旅行 #大理 #云南": "洱海骑行",
}


# KuaiRec's categories → the demo creator who posts them (src/shua/demo_data/README.md).
KUAIREC_CREATORS = {
    "美食": "chef_lin", "宠物": "maomao", "时尚": "xiaomei", "运动": "wangwu", "旅游": "travel_amy",
    "生活": "zhangsan", "舞蹈": "xiaoyu", "音乐": "xiaoyu", "摄影": "travel_amy", "亲子": "baby_mama",
    "喜剧": "lisi", "健身": "wangwu", "三农": "laoli", "汽车": "auto_chen", "游戏": "gamer_k", "二次元": "gamer_k",
}
KUAIREC_PER_CATEGORY = 2


def kuairec_clips() -> list[tuple[str, str, str, str]]:
    """Demo clips with real captions from KuaiRec: (creator, text on the frames, caption,
    visibility). The category becomes a hashtag when the caption has none, so topics and search
    have something; it is also the video's category (`category_of`)."""
    path = resources.files("shua.demo_data") / "kuairec_demo.csv"
    per_category: dict[str, int] = {}
    clips = []
    with path.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            category = row["first_level_category_name"]
            creator = KUAIREC_CREATORS.get(category)
            if creator is None or per_category.get(category, 0) >= KUAIREC_PER_CATEGORY:
                continue
            per_category[category] = per_category.get(category, 0) + 1
            caption = " ".join(row["caption"].split())
            if "#" not in caption:
                caption = f"{caption} #{category}"
            title = row["second_level_category_name"] if row["second_level_category_name"] != "UNKNOWN" else category
            clips.append((creator, title[:8], caption[:2200], "public"))
    return clips


def category_of(handle: str, caption: str) -> str | None:
    """A KuaiRec clip's own category (its caption carries it as a hashtag), else its creator's."""
    for name, code in FROM_KUAIREC.items():
        if f"#{name}" in caption and handle == KUAIREC_CREATORS.get(name):
            return code
    return CREATOR_CATEGORY.get(handle)


async def seed_videos(rt: Runtime, *, progress: Progress | None = None) -> int:
    """Post and process the demo clips once; a second run finds them and does nothing."""
    async with rt.database.transaction(write=False) as db:
        owners = {u.handle: u.id for u in (await db.scalars(select(User))).all()}
        already = await db.scalar(select(func.count()).select_from(Video).where(Video.owner_id.in_(owners.values())))
    if already:
        return 0
    clips = CLIPS + kuairec_clips()
    task = progress.add_task("making demo videos", total=len(clips)) if progress else None
    created = 0
    with tempfile.TemporaryDirectory(dir=rt.settings.var_dir) as tmp:
        for index, (handle, title, caption, visibility) in enumerate(clips):
            if handle not in owners:
                continue
            landscape = index % 5 == 4  # mostly vertical, as people film on phones
            clip = synthesize(Path(tmp) / f"clip{index}.mp4", duration=3.0 + index % 4,
                              width=640 if landscape else 360, height=360 if landscape else 640, fps=24,
                              caption=title, tone_hz=220.0 + 40 * index, seed=index)
            async with rt.database.transaction() as db:
                upload = await import_file(db, owner_id=owners[handle], source=clip, var_dir=rt.settings.var_dir,
                                           ttl=timedelta(hours=rt.settings.upload_ttl_hours))
                await post_video(db, owner_id=owners[handle], upload_id=upload.id, caption=caption,
                                 visibility=visibility, cover_ms=1000, category=category_of(handle, caption),
                                 cover_text=COVER_TEXT.get(caption, ""))
            await jobs.drain(rt.database)  # process it now, with the same job as a real upload
            created += 1
            if progress and task is not None:
                progress.advance(task)
    return created
