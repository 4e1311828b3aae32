"""The shop in the demo: 林师傅 runs a kitchenware shop with two products, one of them on the
yellow cart of his latest video (when the demo videos are there); 李四 carries the other on his
hotpot video for the commission. Idempotent: skipped once 林师傅 has a shop."""

from __future__ import annotations

from shua.accounts import service as accounts
from shua.commerce import carts, shops
from shua.commerce.errors import ShopNotFound
from shua.media import videos
from shua.runtime import Runtime

PRODUCTS = [
    ("不粘炒锅 32cm", "麦饭石涂层，少油不粘，燃气电磁炉通用。\n林师傅每天都在用的那一口锅。", 1_500,
     [("32cm 带盖", 15_900, 50), ("28cm 带盖", 12_900, 30)]),
    ("手工辣椒酱 240g", "二荆条 + 朝天椒，菜籽油小火慢熬。拌面、蘸饺子都好吃。", 2_000,
     [("微辣", 2_990, 200), ("特辣", 2_990, 120)]),
]


async def seed_shop(rt: Runtime) -> int:
    async with rt.database.transaction() as db:
        chef = await accounts.get_user(db, ref="chef_lin")
        try:
            await shops.shop_of(db, owner_id=chef.id)
            return 0
        except ShopNotFound:
            pass
        await shops.open_shop(db, owner_id=chef.id, name="林师傅的厨房好物", kind="individual")
        listed = []
        for title, description, affiliate, skus in PRODUCTS:
            product, _ = await shops.add_product(db, owner_id=chef.id, title=title, description=description, skus=skus,
                                                 affiliate_bps=affiliate)
            listed.append(product)
        lisi = await accounts.get_user(db, ref="lisi")
        for owner, product in ((chef.id, listed[0]), (lisi.id, listed[1])):
            latest = await videos.list_own_videos(db, owner_id=owner, limit=1)
            if latest:
                await carts.attach(db, creator_id=owner, video_id=latest[0].id, product_id=product.id)
    return len(listed)
