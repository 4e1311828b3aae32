"""The shop in the demo: 林师傅 runs a kitchenware shop with two products (photos drawn here, a
formatted description, a shipping template, a return policy), one of them on the yellow cart of
his latest video (when the demo videos are there); 李四 carries the other on his hotpot video for
the commission; 张三 asked a question that 林师傅 answered. Idempotent: skipped once 林师傅 has a
shop."""

from __future__ import annotations

import io

from PIL import Image, ImageDraw

from shua.accounts import service as accounts
from shua.commerce import carts, photos, questions, shipping, shops
from shua.commerce.errors import ShopNotFound
from shua.commerce.models import PRODUCT_PHOTO
from shua.core.text import sanitise_html
from shua.media import videos
from shua.media.synth import load_font
from shua.runtime import Runtime

# title, description (HTML), commission (bps), return days, ships with the template, SKUs, photo colours
PRODUCTS = [
    ("不粘炒锅 32cm",
     "<p>麦饭石涂层，少油不粘，燃气、电磁炉通用。</p><ul><li><b>林师傅每天都在用</b>的那一口锅</li>"
     "<li>加厚复合底，受热均匀</li><li>送木铲一把</li></ul>", 1_500, 7, True,
     [("32cm 带盖", 15_900, 50), ("28cm 带盖", 12_900, 30)], [(196, 92, 44), (52, 58, 72)]),
    ("手工辣椒酱 240g",
     "<p>二荆条 + 朝天椒，菜籽油小火慢熬。拌面、蘸饺子都好吃。</p><p>食品类：开封后不支持无理由退货。</p>",
     2_000, 0, False, [("微辣", 2_990, 200), ("特辣", 2_990, 120)], [(178, 34, 34)]),
]


def product_photo(title: str, colour: tuple[int, int, int], n: int) -> bytes:
    """A square product shot for the demo: the colour, a soft highlight and the title."""
    side = 720
    img = Image.new("RGB", (side, side), colour)
    draw = ImageDraw.Draw(img)
    light = tuple(min(255, c + 60) for c in colour)
    draw.ellipse((side * 0.18, side * 0.14, side * 0.82, side * 0.78), fill=light)
    font = load_font(56)
    label = title if n == 0 else f"{title} · {n + 1}"
    left, _, right, _ = draw.textbbox((0, 0), label, font=font)
    draw.text(((side - (right - left)) / 2, side * 0.84), label, font=font, fill=(255, 255, 255))
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


async def seed_shop(rt: Runtime) -> int:
    async with rt.database.transaction() as db:
        chef = await accounts.get_user(db, ref="chef_lin")
        try:
            await shops.shop_of(db, owner_id=chef.id)
            return 0
        except ShopNotFound:
            pass
        shop = await shops.open_shop(db, owner_id=chef.id, name="林师傅的厨房好物", kind="individual")
        express = await shipping.add(db, shop=shop, name="普通快递", fee=800, free_over=9_900,
                                     excluded_regions=["新疆", "西藏"])
        listed = []
        for title, description, affiliate, return_days, shipped, skus, colours in PRODUCTS:
            shots = [await photos.upload(db, rt.storage, owner_id=chef.id, purpose=PRODUCT_PHOTO,
                                         data=product_photo(title, colour, n)) for n, colour in enumerate(colours)]
            await db.flush()
            product, _ = await shops.add_product(db, owner_id=chef.id, title=title,
                                                 description=sanitise_html(description), skus=skus,
                                                 affiliate_bps=affiliate, return_days=return_days,
                                                 photo_ids=[p.id for p in shots],
                                                 shipping_template_id=express.id if shipped else None)
            listed.append(product)
        zhangsan, lisi = await accounts.get_user(db, ref="zhangsan"), await accounts.get_user(db, ref="lisi")
        asked = await questions.ask(db, asker_id=zhangsan.id, product_id=listed[0].id, question="电磁炉能用吗？")
        await questions.answer(db, owner_id=chef.id, question_id=asked.id,
                               text="可以的，锅底是复合钢，燃气电磁炉都能用。")
        for owner, product in ((chef.id, listed[0]), (lisi.id, listed[1])):
            latest = await videos.list_own_videos(db, owner_id=owner, limit=1)
            if latest:
                await carts.attach(db, creator_id=owner, video_id=latest[0].id, product_id=product.id)
    return len(listed)
