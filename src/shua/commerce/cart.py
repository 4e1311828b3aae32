"""The buyer's cart (购物车): SKUs kept to buy later, at most 50 lines, a quantity each; checking
out (one shop at a time) takes the bought lines out."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from shua.commerce.errors import SkuNotFound
from shua.commerce.models import CartItem, Product, Shop, Sku
from shua.core import clock
from shua.core.errors import Conflict
from shua.core.ids import new_id

MAX_LINES = 50


class CartFull(Conflict):
    code = "commerce.cart_full"
    title = "A cart holds 50 different items"


@dataclass(frozen=True)
class Line:
    sku: Sku
    product: Product
    shop: Shop
    quantity: int


async def put(db: AsyncSession, *, user_id: int, sku_id: object, quantity: int) -> None:
    """Set a SKU's quantity in the cart (0 takes it out)."""
    sku = await db.get(Sku, sku_id) if isinstance(sku_id, int) else None
    product = await db.get(Product, sku.product_id) if sku else None
    if sku is None or product is None or product.status != "on_sale":
        raise SkuNotFound()
    row = await db.scalar(select(CartItem).where(CartItem.user_id == user_id, CartItem.sku_id == sku.id))
    if quantity == 0:
        if row is not None:
            await db.delete(row)
        return
    if row is None:
        count = len((await db.scalars(select(CartItem.id).where(CartItem.user_id == user_id))).all())
        if count >= MAX_LINES:
            raise CartFull()
        db.add(CartItem(id=new_id(), user_id=user_id, sku_id=sku.id, quantity=quantity, added_at=clock.utcnow()))
    else:
        row.quantity = quantity


async def lines(db: AsyncSession, *, user_id: int) -> list[Line]:
    rows = (await db.execute(select(CartItem, Sku, Product, Shop).join(Sku, Sku.id == CartItem.sku_id)
                             .join(Product, Product.id == Sku.product_id).join(Shop, Shop.id == Product.shop_id)
                             .where(CartItem.user_id == user_id).order_by(Shop.id, CartItem.id))).all()
    return [Line(sku=sku, product=product, shop=shop, quantity=item.quantity) for item, sku, product, shop in rows]


async def take_out(db: AsyncSession, *, user_id: int, sku_ids: list[int]) -> None:
    await db.execute(delete(CartItem).where(CartItem.user_id == user_id, CartItem.sku_id.in_(sku_ids)))
