"""Shipping templates (运费模板) and what an order's shipping costs. A product without a template
ships free (包邮). An order's items may carry different templates: the order pays the highest
fee among those whose free-shipping threshold its goods total does not reach (one parcel, one
fee: the common rule of Chinese shops), and is refused if any of them does not deliver to the
address's region."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shua.commerce.errors import ShopNotOpen
from shua.commerce.models import OPEN, Product, ShippingTemplate, Shop
from shua.core import clock
from shua.core.errors import Conflict, NotFound
from shua.core.ids import new_id

MOST_PER_SHOP = 20


class TemplateNotFound(NotFound):
    code = "commerce.shipping_template_not_found"
    title = "No such shipping template in your shop"


class RegionNotServed(Conflict):
    code = "commerce.region_not_served"
    title = "This shop does not deliver to that region"


class TooManyTemplates(Conflict):
    code = "commerce.too_many_shipping_templates"
    title = "Your shop has as many shipping templates as it may"


async def add(db: AsyncSession, *, shop: Shop, name: str, fee: int, free_over: int | None,
              excluded_regions: list[str]) -> ShippingTemplate:
    if shop.status != OPEN:
        raise ShopNotOpen(status=shop.status)
    if len(await of_shop(db, shop_id=shop.id)) >= MOST_PER_SHOP:
        raise TooManyTemplates(most=MOST_PER_SHOP)
    row = ShippingTemplate(id=new_id(), shop_id=shop.id, name=name, fee=fee, free_over=free_over,
                           excluded_regions=list(dict.fromkeys(r for r in excluded_regions if r)),
                           created_at=clock.utcnow())
    db.add(row)
    await db.flush()
    return row


async def of_shop(db: AsyncSession, *, shop_id: int) -> list[ShippingTemplate]:
    return list((await db.scalars(select(ShippingTemplate).where(ShippingTemplate.shop_id == shop_id)
                                  .order_by(ShippingTemplate.id))).all())


async def own(db: AsyncSession, *, shop_id: int, template_id: int | None) -> ShippingTemplate | None:
    """The shop's template `template_id` (None: free shipping); another shop's is not found."""
    if template_id is None:
        return None
    row = await db.get(ShippingTemplate, template_id)
    if row is None or row.shop_id != shop_id:
        raise TemplateNotFound()
    return row


async def templates_of(db: AsyncSession, products: list[Product]) -> dict[int, ShippingTemplate]:
    ids = {p.shipping_template_id for p in products if p.shipping_template_id is not None}
    if not ids:
        return {}
    return {t.id: t for t in (await db.scalars(select(ShippingTemplate).where(ShippingTemplate.id.in_(ids)))).all()}


def fee_of(template: ShippingTemplate | None, goods: int) -> int:
    if template is None or (template.free_over is not None and goods >= template.free_over):
        return 0
    return template.fee


def serves(template: ShippingTemplate | None, region: str) -> bool:
    return template is None or not any(region.strip().startswith(r) for r in template.excluded_regions or [])


def order_fee(templates: list[ShippingTemplate | None], goods: int, region: str | None = None) -> int:
    """The shipping of one order of `goods` fen whose products carry `templates`; with a region,
    RegionNotServed if a template leaves it out."""
    if region is not None:
        for template in templates:
            if not serves(template, region):
                raise RegionNotServed(region=region, template=template.name if template else "")
    return max((fee_of(t, goods) for t in templates), default=0)
