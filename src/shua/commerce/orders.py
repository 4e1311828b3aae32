"""Orders: checkout takes the stock (one guarded UPDATE per SKU, so the last item goes to one
buyer), fixes the prices and opens a Shua Pay intent for the shop's owner; the order is paid when
the intent succeeds (an event), and canceled — stock back, intent canceled — by the buyer or when
its payment window passes. A payment and an expiry racing each other meet at the intent's row
lock: whichever comes second sees what the first did."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Table, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shua.commerce import addresses, cart, shipping
from shua.commerce.errors import (
    BuyingFromYourself,
    OneShopPerOrder,
    OrderNotCancelable,
    OrderNotFound,
    OutOfStock,
    PriceChanged,
    ShopNotOpen,
    SkuNotFound,
)
from shua.commerce.models import CANCELED, CREATED, OPEN, PAID, Order, OrderItem, Product, Shop, Sku, VideoCart
from shua.core import clock, jobs
from shua.core.db import locked_row
from shua.core.errors import InvalidRequest
from shua.core.ids import new_id, parse_id
from shua.payments import intents
from shua.payments.models import SUCCEEDED, PaymentIntent

PAYMENT_WINDOW = timedelta(minutes=15)
EXPIRE_TASK = "commerce.expire_order"
SKUS: Table = Sku.__table__  # type: ignore[assignment]


@dataclass(frozen=True)
class Line:
    sku_id: int
    quantity: int
    product_id: int | None = None  # when given, the SKU must be one of this product's


async def checkout(db: AsyncSession, *, buyer_id: int, lines: list[Line], expected_total: int, address_id: object,
                   source_video_id: int | None = None) -> Order:
    """Hold the stock and open the payment. Refused, with nothing held: an unknown SKU, one of
    another product, a product off sale or of a closed shop, two shops, your own shop, a region
    the shop does not deliver to, a total (goods and shipping) other than the buyer saw (the
    price changed), not enough stock."""
    ship_to = addresses.snapshot(await addresses.own(db, user_id=buyer_id, address_id=address_id))
    wanted: dict[int, int] = {}
    for line in lines:
        if line.quantity <= 0:
            raise InvalidRequest(field="quantity")
        wanted[line.sku_id] = wanted.get(line.sku_id, 0) + line.quantity
    if not wanted:
        raise InvalidRequest(field="items")
    rows = (await db.execute(select(Sku, Product, Shop).join(Product, Product.id == Sku.product_id)
                             .join(Shop, Shop.id == Product.shop_id).where(Sku.id.in_(sorted(wanted))))).all()
    found = {sku.id: (sku, product, shop) for sku, product, shop in rows}
    for line in lines:
        hit = found.get(line.sku_id)
        if hit is None or (line.product_id is not None and hit[1].id != line.product_id):
            raise SkuNotFound(sku_id=str(line.sku_id))
        if hit[1].status != "on_sale":
            raise SkuNotFound(sku_id=str(line.sku_id), reason="off sale")
    shops = {shop.id: shop for _, _, shop in found.values()}
    if len(shops) != 1:
        raise OneShopPerOrder()
    shop = next(iter(shops.values()))
    if shop.owner_id == buyer_id:
        raise BuyingFromYourself()
    if shop.status != OPEN:
        raise ShopNotOpen(status=shop.status)
    goods = sum(found[sku_id][0].price * quantity for sku_id, quantity in wanted.items())
    products = list({product.id: product for _, product, _ in found.values()}.values())
    templates = await shipping.templates_of(db, products)
    shipping_fee = shipping.order_fee([templates.get(p.shipping_template_id or 0) for p in products], goods,
                                      region=str(ship_to.get("region", "")))
    total = goods + shipping_fee
    if total != expected_total:
        raise PriceChanged(total=total, shipping=shipping_fee)
    for sku_id in sorted(wanted):  # id order: two checkouts of the same SKUs never wait in a circle
        left = await db.scalar(update(SKUS).where(SKUS.c.id == sku_id, SKUS.c.stock >= wanted[sku_id])
                               .values(stock=SKUS.c.stock - wanted[sku_id]).returning(SKUS.c.stock))
        if left is None:
            raise OutOfStock(sku_id=str(sku_id))  # the caller's transaction rolls back what was taken
    now = clock.utcnow()
    affiliate_id, affiliate_amount = await _affiliate(db, source_video_id, shop, found, wanted)
    order = Order(id=new_id(), buyer_id=buyer_id, shop_id=shop.id, status=CREATED, total=total,
                  shipping_fee=shipping_fee, currency="CNY",
                  source_video_id=source_video_id, affiliate_id=affiliate_id, affiliate_amount=affiliate_amount,
                  expires_at=now + PAYMENT_WINDOW, ship_to=ship_to, created_at=now)
    db.add(order)
    for sku_id, quantity in wanted.items():
        sku, product, _ = found[sku_id]
        db.add(OrderItem(id=new_id(), order_id=order.id, sku_id=sku_id, product_id=product.id, title=product.title,
                         sku_name=sku.name, price=sku.price, quantity=quantity))
    titles = "、".join(dict.fromkeys(found[s][1].title for s in wanted))
    intent = await intents.create(db, payee_id=shop.owner_id, payer_id=buyer_id, amount=total, auto_release=False,
                                  description=titles[:200], reference=f"order:{order.id}")
    order.intent_id = intent.id
    await db.flush()
    await jobs.enqueue(db, EXPIRE_TASK, {"order_id": str(order.id)}, run_at=order.expires_at)
    await cart.take_out(db, user_id=buyer_id, sku_ids=list(wanted))  # bought: out of the cart
    await jobs.publish(db, "commerce.order_created", {
        "order_id": str(order.id), "buyer_id": str(buyer_id), "shop_id": str(shop.id), "total": total,
        "source_video_id": str(source_video_id) if source_video_id else None})
    return order


async def _affiliate(db: AsyncSession, video_id: int | None, shop: Shop, found: dict[int, tuple[Sku, Product, Shop]],
                     wanted: dict[int, int]) -> tuple[int | None, int]:
    """The creator whose video's cart carried the product earns its commission on it — unless
    the creator is the merchant (selling your own goods earns you no commission from yourself)."""
    cart = await db.get(VideoCart, video_id) if video_id else None
    if cart is None or cart.product_id is None or cart.creator_id == shop.owner_id:
        return None, 0
    amount = sum(sku.price * wanted[sku.id] * product.affiliate_bps // 10_000
                 for sku, product, _ in found.values() if product.id == cart.product_id)
    return (cart.creator_id, amount) if amount else (None, 0)


async def _locked(db: AsyncSession, order_id: int) -> Order | None:
    return await locked_row(db, Order, order_id)


async def visible(db: AsyncSession, *, user_id: int, order_id: object) -> Order:
    """The order, for its buyer or its shop's owner; anyone else gets the 404 a wrong id gets."""
    order = await db.get(Order, order_id) if isinstance(order_id, int) else None
    if order is not None:
        if order.buyer_id == user_id:
            return order
        shop = await db.get(Shop, order.shop_id)
        if shop is not None and shop.owner_id == user_id:
            return order
    raise OrderNotFound()


async def items_of(db: AsyncSession, *, order_id: int) -> list[OrderItem]:
    return list((await db.scalars(select(OrderItem).where(OrderItem.order_id == order_id)
                                  .order_by(OrderItem.id))).all())


async def mark_paid(db: AsyncSession, *, order_id: int) -> Order | None:
    """The intent succeeded. An order canceled in the meantime cannot take the money: refunded."""
    order = await _locked(db, order_id)
    if order is None or order.status == PAID:
        return order
    if order.status == CANCELED:
        assert order.intent_id is not None
        await intents.refund(db, intent_id=order.intent_id, reason="order canceled before payment")
        return order
    order.status, order.paid_at = PAID, clock.utcnow()
    bought = sorted({item.product_id for item in await items_of(db, order_id=order.id)})
    await jobs.publish(db, "commerce.order_paid", {"order_id": str(order.id), "shop_id": str(order.shop_id),
                                                   "buyer_id": str(order.buyer_id), "total": order.total,
                                                   "product_ids": [str(i) for i in bought],
                                                   "source_video_id": str(order.source_video_id)
                                                   if order.source_video_id else None})
    return order


async def cancel(db: AsyncSession, *, order_id: int, user_id: int | None = None) -> Order:
    """The buyer cancels an unpaid order, or its window passed (`user_id` None): stock back."""
    order = await _locked(db, order_id)
    if order is None or (user_id is not None and user_id != order.buyer_id):
        raise OrderNotFound()
    if order.status != CREATED:
        raise OrderNotCancelable(state=order.status)
    intent = await db.get(PaymentIntent, order.intent_id) if order.intent_id else None
    if intent is not None:
        intent = await intents.readable(db, user_id=order.buyer_id, intent_id=intent.id, lock=True)
        if intent.status == SUCCEEDED:  # paid a moment ago: the event is on its way
            await mark_paid(db, order_id=order.id)
            raise OrderNotCancelable(state=PAID)
        if intent.status == "processing":  # a card payment under way: wait for the bank
            raise OrderNotCancelable(state="processing")
        if intent.status == "requires_confirmation":
            await intents.cancel(db, user_id=order.buyer_id, intent_id=intent.id)
    await give_back_stock(db, order_id=order.id)
    order.status, order.canceled_at = CANCELED, clock.utcnow()
    await jobs.publish(db, "commerce.order_canceled", {"order_id": str(order.id), "shop_id": str(order.shop_id)})
    return order


async def give_back_stock(db: AsyncSession, *, order_id: int) -> None:
    """Put an order's items back on their SKUs' stock: it was canceled, or refunded in full
    before anything was sent."""
    for item in await items_of(db, order_id=order_id):
        await db.execute(update(SKUS).where(SKUS.c.id == item.sku_id).values(stock=SKUS.c.stock + item.quantity))


async def list_orders(db: AsyncSession, *, user_id: int, role: str, limit: int = 20,
                      before: int | None = None) -> list[Order]:
    if role == "seller":
        shop = await db.scalar(select(Shop).where(Shop.owner_id == user_id))
        if shop is None:
            return []
        query = select(Order).where(Order.shop_id == shop.id)
    else:
        query = select(Order).where(Order.buyer_id == user_id)
    if before is not None:
        query = query.where(Order.id < before)
    return list((await db.scalars(query.order_by(Order.id.desc()).limit(limit))).all())


def order_of_reference(reference: str) -> int | None:
    prefix, _, number = reference.partition(":")
    return parse_id(number) if prefix == "order" else None



