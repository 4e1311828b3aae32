"""Demo data for `make demo`: idempotent, so running it twice changes nothing."""

from __future__ import annotations

from rich.progress import track
from sqlalchemy import select

from shua.accounts import service as accounts
from shua.accounts.models import User
from shua.runtime import Runtime

DEMO_PASSWORD = "Shua!2026swipe"  # noqa: S105 - public demo login, printed on purpose
ADMIN_PASSWORD = "Shua!2026operator"  # noqa: S105

# (handle, nickname, bio) — the cast of the demo.
PEOPLE = [
    ("demo", "小刷", "第一次来刷刷 👋"),
    ("zhangsan", "张三", "爱猫人士，周末爬山"),
    ("lisi", "李四", "美食探店 | 成都"),
    ("wangwu", "王五", "健身教练，每天一条训练视频"),
    ("xiaomei", "小美", "穿搭分享 👗"),
    ("chef_lin", "林师傅", "家常菜 30 秒学会"),
    ("travel_amy", "Amy 去旅行", "Travel vlogs from Yunnan and beyond"),
    ("maomao", "猫猫日记", "三只橘猫的日常"),
    ("xiaoyu", "小雨跳舞", "舞蹈和唱歌，每天一点点"),
    ("baby_mama", "肉包妈妈", "记录小肉包的成长"),
    ("laoli", "老李种果园", "山里的水果和农活"),
    ("auto_chen", "陈哥说车", "老车、摩托和赛道"),
    ("gamer_k", "K 的游戏厅", "游戏、二次元、汉服"),
]


async def seed(rt: Runtime) -> int:
    created = 0
    async with rt.database.transaction() as db:
        existing = set((await db.scalars(select(User.handle))).all())
        if "admin" not in existing:
            await accounts.ensure_admin(db, username="admin", password=ADMIN_PASSWORD)
            created += 1
        for handle, nickname, bio in track(PEOPLE, description="seeding users"):
            if handle in existing:
                continue
            user = await accounts.signup(db, username=handle, password=DEMO_PASSWORD, nickname=nickname)
            user.bio = bio
            created += 1
    return created
