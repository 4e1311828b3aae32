"""Shops and their catalogue: opening a shop (a brand shop waits for an operator), products with
their SKUs and photos, editing a product or putting it on or off sale, changing price and stock."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shua.commerce import photos, shipping
from shua.commerce.errors import ProductNotFound, ShopExists, ShopNotFound, ShopNotOpen, SkuNotFound
from shua.commerce.models import (
    BRAND,
    COMPLETED,
    DELIVERED,
    OPEN,
    PAID,
    PENDING_VERIFICATION,
    PRODUCT_PHOTO,
    REJECTED,
    SHIPPED,
    Order,
    OrderItem,
    Product,
    Shop,
    Sku,
)
from shua.core import audit, clock, jobs
from shua.core.db import insert_ignore
from shua.core.ids import new_id

KEEP = object()  # "leave it as it is", where None means something
SOLD = (PAID, SHIPPED, DELIVERED, COMPLETED)


async def open_shop(db: AsyncSession, *, owner_id: int, name: str, kind: str) -> Shop:
    """One shop per user; individuals and businesses sell at once, a brand after verification."""
    status = PENDING_VERIFICATION if kind == BRAND else OPEN
    shop_id = new_id()
    if not await insert_ignore(db, Shop, id=shop_id, owner_id=owner_id, name=name, kind=kind, status=status,
                               created_at=clock.utcnow()):
        raise ShopExists()
    shop = await db.get(Shop, shop_id)
    assert shop is not None
    await jobs.publish(db, "commerce.shop_opened", {"shop_id": str(shop_id), "owner_id": str(owner_id),
                                                    "kind": kind})
    return shop


async def shop_of(db: AsyncSession, *, owner_id: int) -> Shop:
    shop = await db.scalar(select(Shop).where(Shop.owner_id == owner_id))
    if shop is None:
        raise ShopNotFound()
    return shop


async def verify(db: AsyncSession, *, shop_id: int, approve: bool, actor_id: int, reason: str = "") -> Shop:
    """An operator's decision on a brand shop (audited)."""
    shop = await db.get(Shop, shop_id)
    if shop is None:
        raise ShopNotFound()
    shop.status = OPEN if approve else REJECTED
    await audit.record(db, actor_id=actor_id, action="commerce.shop_verify", target=f"shop:{shop.id}",
                       approved=approve, reason=reason)
    return shop


async def add_product(db: AsyncSession, *, owner_id: int, title: str, description: str,
                      skus: list[tuple[str, int, int]], affiliate_bps: int = 0, return_days: int = 7,
                      photo_ids: list[int] | None = None,
                      shipping_template_id: int | None = None) -> tuple[Product, list[Sku]]:
    """A product with its SKUs as (name, price in fen, stock); `description` already sanitised
    HTML; `affiliate_bps`: what a creator earns of an order that came from their video's cart;
    `return_days`: 七天无理由 (0: returns for a fault only); `photo_ids`: uploaded photos, in order;
    `shipping_template_id`: one of the shop's templates (None: free shipping)."""
    shop = await shop_of(db, owner_id=owner_id)
    if shop.status != OPEN:
        raise ShopNotOpen(status=shop.status)
    template = await shipping.own(db, shop_id=shop.id, template_id=shipping_template_id)
    product = Product(id=new_id(), shop_id=shop.id, title=title, description=description, status="on_sale",
                      affiliate_bps=affiliate_bps, return_days=return_days,
                      shipping_template_id=template.id if template else None, created_at=clock.utcnow())
    db.add(product)
    await db.flush()
    variants = [Sku(id=new_id(), product_id=product.id, name=name, price=price, stock=stock)
                for name, price, stock in skus]
    db.add_all(variants)
    await photos.attach(db, owner_id=owner_id, purpose=PRODUCT_PHOTO, target_id=product.id, photo_ids=photo_ids or [])
    await db.flush()
    await jobs.publish(db, "commerce.product_listed", {"product_id": str(product.id), "shop_id": str(shop.id)})
    return product, variants


async def update_product(db: AsyncSession, *, owner_id: int, product_id: object, title: str | None = None,
                         description: str | None = None, on_sale: bool | None = None, return_days: int | None = None,
                         affiliate_bps: int | None = None, photo_ids: list[int] | None = None,
                         shipping_template_id: int | None | object = KEEP) -> Product:
    """The merchant edits their product; what is None (KEEP for the template, where None means
    free shipping) stays as it is. An order already placed keeps what it was bought with."""
    found = await db.get(Product, product_id) if isinstance(product_id, int) else None
    shop = await db.get(Shop, found.shop_id) if found else None
    if found is None or shop is None or shop.owner_id != owner_id:
        raise ProductNotFound()
    if title is not None:
        found.title = title
    if description is not None:
        found.description = description
    if on_sale is not None:
        found.status = "on_sale" if on_sale else "off_sale"
    if return_days is not None:
        found.return_days = return_days
    if affiliate_bps is not None:
        found.affiliate_bps = affiliate_bps  # an order placed keeps the commission it was placed with
    if photo_ids is not None:
        await photos.attach(db, owner_id=owner_id, purpose=PRODUCT_PHOTO, target_id=found.id, photo_ids=photo_ids)
    if shipping_template_id is not KEEP:
        template = await shipping.own(db, shop_id=shop.id, template_id=shipping_template_id)  # type: ignore[arg-type]
        found.shipping_template_id = template.id if template else None
    await jobs.publish(db, "commerce.product_updated", {"product_id": str(found.id), "shop_id": str(shop.id)})
    return found


async def product(db: AsyncSession, *, product_id: object) -> tuple[Product, Shop, list[Sku]]:
    found = await db.get(Product, product_id) if isinstance(product_id, int) else None
    if found is None:
        raise ProductNotFound()
    shop = await db.get(Shop, found.shop_id)
    assert shop is not None
    variants = list((await db.scalars(select(Sku).where(Sku.product_id == found.id).order_by(Sku.id))).all())
    return found, shop, variants


async def restock(db: AsyncSession, *, owner_id: int, sku_id: object, stock: int | None = None,
                  price: int | None = None) -> Sku:
    """The merchant sets a SKU's stock or price (an order already placed keeps its price)."""
    sku = await db.get(Sku, sku_id) if isinstance(sku_id, int) else None
    owned = await db.get(Product, sku.product_id) if sku else None
    shop = await db.get(Shop, owned.shop_id) if owned else None
    if sku is None or shop is None or shop.owner_id != owner_id:
        raise SkuNotFound()
    if stock is not None:
        sku.stock = stock
    if price is not None:
        sku.price = price
    return sku


async def products_of(db: AsyncSession, *, shop_id: int, limit: int = 50,
                      on_sale_only: bool = False) -> list[tuple[Product, list[Sku]]]:
    """A shop's products, newest first, each with its SKUs; `on_sale_only` for what buyers see
    (filtered before the limit: a shop with many newer off-sale items still shows its goods)."""
    query = select(Product).where(Product.shop_id == shop_id)
    if on_sale_only:
        query = query.where(Product.status == "on_sale")
    found = list((await db.scalars(query.order_by(Product.id.desc()).limit(limit))).all())
    skus = (await db.scalars(select(Sku).where(Sku.product_id.in_([p.id for p in found])).order_by(Sku.id))).all()
    by_product: dict[int, list[Sku]] = {}
    for sku in skus:
        by_product.setdefault(sku.product_id, []).append(sku)
    return [(p, by_product.get(p.id, [])) for p in found]


@dataclass(frozen=True)
class Listing:
    """A product as other contexts show and index it (search's documents, its result cards)."""

    product_id: int
    owner_id: int  # the shop's owner: blocks and visibility apply to them
    shop_name: str
    title: str
    text: str  # the description as plain text
    variants: list[str]
    price_from: int
    sold: int  # units in orders paid for (not canceled)
    photo_url: str | None
    created_at: datetime


def plain_text(description: str | None) -> str:
    """A sanitised description (bare tags only, text escaped) as the words it shows."""
    return " ".join(html.unescape(re.sub(r"<[^>]*>", " ", description or "")).split())


async def listings(db: AsyncSession, *, product_ids: list[int]) -> dict[int, Listing]:
    """Those of `product_ids` on sale in an open shop, as listings."""
    if not product_ids:
        return {}
    rows = (await db.execute(select(Product, Shop).join(Shop, Shop.id == Product.shop_id).where(
        Product.id.in_(set(product_ids)), Product.status == "on_sale", Shop.status == OPEN))).all()
    if not rows:
        return {}
    ids = [p.id for p, _ in rows]
    variants: dict[int, list[Sku]] = {}
    for sku in (await db.scalars(select(Sku).where(Sku.product_id.in_(ids)).order_by(Sku.id))).all():
        variants.setdefault(sku.product_id, []).append(sku)
    sold = dict((await db.execute(
        select(OrderItem.product_id, func.sum(OrderItem.quantity)).join(Order, Order.id == OrderItem.order_id)
        .where(OrderItem.product_id.in_(ids), Order.status.in_(SOLD)).group_by(OrderItem.product_id))).all())
    pictures = await photos.of(db, purpose=PRODUCT_PHOTO, target_ids=ids)
    return {p.id: Listing(
        product_id=p.id, owner_id=shop.owner_id, shop_name=shop.name, title=p.title,
        text=plain_text(p.description),
        variants=[s.name for s in variants.get(p.id, [])],
        price_from=min((s.price for s in variants.get(p.id, [])), default=0), sold=int(sold.get(p.id) or 0),
        photo_url=photos.url_of(pictures[p.id][0]) if pictures.get(p.id) else None, created_at=p.created_at,
    ) for p, shop in rows}


async def product_ids(db: AsyncSession) -> list[int]:
    """Every product's id (`shua search reindex`)."""
    return [int(i) for i in (await db.scalars(select(Product.id).order_by(Product.id))).all()]
