"""The shop over HTTP, first slice: open a shop (an operator verifies brand shops), list
products with SKUs, set stock and price; check out (keyed by Idempotency-Key) into an order paid
through Shua Pay's payment page; read and cancel orders — each only by its buyer or its shop."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from shua.accounts.errors import AdminRequired
from shua.commerce import addresses, after_sales, cart, carts, fulfilment, gmv, orders, photos, reviews, shipping, shops
from shua.commerce.logistics import CARRIERS, CarrierConnector, SimulatedCarrier
from shua.commerce.models import (
    AFTER_SALE_KINDS,
    AFTER_SALE_PHOTO,
    AFTER_SALE_REASONS,
    PRODUCT_PHOTO,
    REVIEW_PHOTO,
    SHOP_KINDS,
    Address,
    AfterSale,
    Order,
    Product,
    ShippingTemplate,
    Shop,
    Sku,
)
from shua.core.ids import ID
from shua.core.text import Line, RichText
from shua.runtime import Runtime
from shua.web.deps import DB, AdminAuth, CurrentAuth, RuntimeDep, StreamingAuth
from shua.web.idempotent import IdempotencyKeyHeader, respond

router = APIRouter(prefix="/api/v1", tags=["shop"])
admin = APIRouter(prefix="/api/v1/admin/shops", tags=["admin"])
gmv_admin = APIRouter(prefix="/api/v1/admin/commerce", tags=["admin"])
PROBLEMS: dict[int | str, dict[str, Any]] = {
    code: {"description": "Problem", "content": {"application/problem+json": {}}}
    for code in (400, 401, 403, 404, 409, 422, 429)
}
Price = Annotated[int, Field(gt=0, le=10**10, description="Fen")]
Phone = Annotated[str, Field(pattern=r"^\+?[0-9]{7,15}$")]


def carrier_of(runtime: Runtime) -> CarrierConnector:
    """The simulated carrier unless a deployment installed a real connector."""
    found = runtime.extras.get("carrier")
    if found is None:
        found = runtime.extras["carrier"] = SimulatedCarrier(step_seconds=runtime.settings.carrier_step_seconds)
    return found  # type: ignore[return-value]
Stock = Annotated[int, Field(ge=0, le=1_000_000)]


class ShopCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Line(40, min_length=1)  # type: ignore[valid-type]
    kind: Literal[SHOP_KINDS]  # type: ignore[valid-type]


class ShopRead(BaseModel):
    id: ID
    owner_id: ID
    name: str
    kind: str
    status: str = Field(description="open, pending_verification (a brand shop) or rejected")
    created_at: datetime


class SkuCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Line(40, min_length=1)  # type: ignore[valid-type]
    price: Price
    stock: Stock


Description = Annotated[RichText(5000), Field(  # type: ignore[valid-type]
    description="Text, or HTML with p, br, b, strong, i, em, u, s, ul, ol, li, h3, h4 and blockquote, no "
                "attributes: anything else is taken out (script and style with their content), text escaped")]
ReturnDays = Annotated[int, Field(ge=0, le=30, description="七天无理由: days after receipt a buyer may return it "
                                                           "without a fault (0: for a fault only)")]
Affiliate = Annotated[int, Field(ge=0, le=5000, description="带货佣金 in basis points: a creator's share of orders "
                                                            "from their video")]
PhotoIds = Annotated[list[ID], Field(max_length=9, description="Photos uploaded with POST /api/v1/shop/photos, "
                                                              "in the order to show them")]


class ProductCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: Line(60, min_length=1)  # type: ignore[valid-type]
    description: Description = ""  # type: ignore[valid-type]
    skus: list[SkuCreate] = Field(min_length=1, max_length=50)
    affiliate_bps: Affiliate = 0
    return_days: ReturnDays = 7
    photos: PhotoIds = []
    shipping_template_id: ID | None = Field(default=None, description="One of your shop's; none: free shipping")


class ProductUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: Line(60, min_length=1) | None = None  # type: ignore[valid-type]
    description: Description | None = None  # type: ignore[valid-type]
    on_sale: bool | None = None
    affiliate_bps: Affiliate | None = None
    return_days: ReturnDays | None = None
    photos: PhotoIds | None = None
    shipping_template_id: ID | None = Field(default=None, description="Given as null: free shipping from now on")


class ShippingRead(BaseModel):
    id: ID
    name: str
    fee: int = Field(description="Fen per order")
    free_over: int | None = Field(description="Goods total (fen) from which it ships free")
    excluded_regions: list[str] = Field(description="Regions it does not deliver to")


class SkuRead(BaseModel):
    id: ID
    name: str
    price: int
    stock: int


class SkuUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    price: Price | None = None
    stock: Stock | None = None


class ProductRead(BaseModel):
    id: ID
    shop: ShopRead
    title: str
    description: str = Field(description="Sanitised HTML, safe to show as it is")
    status: str = Field(description="on_sale or off_sale")
    affiliate_bps: int
    return_days: int
    photos: list[str] = Field(description="Photo URLs, in order")
    shipping: ShippingRead | None = Field(description="What shipping costs; null: free shipping (包邮)")
    skus: list[SkuRead]


class OrderLine(BaseModel):
    model_config = ConfigDict(extra="forbid")
    product_id: ID
    sku_id: ID
    quantity: int = Field(ge=1, le=99)


class OrderCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    items: list[OrderLine] = Field(min_length=1, max_length=20)
    address_id: ID = Field(description="From your address book: where it goes")
    expected_total: Price = Field(description="The total the buyer saw; another one means the price changed")
    source_video_id: ID | None = Field(default=None, description="The video whose cart it came from")


class OrderItemRead(BaseModel):
    id: ID
    reviewed: bool
    product_id: ID
    sku_id: ID
    title: str
    sku_name: str
    price: int
    quantity: int


class AddressCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Line(30, min_length=1)  # type: ignore[valid-type]
    phone: Phone
    region: Line(60, min_length=1) = Field(description="省 市 区")  # type: ignore[valid-type]
    detail: Line(120, min_length=1)  # type: ignore[valid-type]
    default: bool = False


class AddressRead(BaseModel):
    id: ID
    name: str
    phone: str
    region: str
    detail: str
    is_default: bool


class ShipmentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    carrier: Literal[tuple(CARRIERS)]  # type: ignore[valid-type]
    tracking_number: Annotated[str, Field(pattern=r"^[A-Za-z0-9]{6,40}$")]


class TrackRead(BaseModel):
    status: str
    description: str
    at: datetime


class AfterSaleCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal[AFTER_SALE_KINDS]  # type: ignore[valid-type]
    reason: Literal[AFTER_SALE_REASONS]  # type: ignore[valid-type]
    detail: Annotated[str, Field(max_length=500)] = ""
    amount: Price | None = Field(default=None, description="Fen to refund; omit for all that is left")
    photos: Annotated[list[ID], Field(max_length=6)] = []


class AfterSaleRead(BaseModel):
    id: ID
    order_id: ID
    kind: str
    reason: str
    detail: str
    amount: int
    status: str = Field(description="requested, approved, rejected, awaiting_return, returned, arbitration, "
                                    "refunded, exchanged or closed")
    merchant_note: str
    return_tracking: str | None
    photos: list[str] = Field(description="The buyer's evidence, for the buyer, the shop and operators")
    created_at: datetime


class Decision(BaseModel):
    model_config = ConfigDict(extra="forbid")
    approve: bool
    note: Line(200) = ""  # type: ignore[valid-type]


class ReturnShipment(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tracking_number: Annotated[str, Field(pattern=r"^[A-Za-z0-9]{6,40}$")]


class Ruling(BaseModel):
    model_config = ConfigDict(extra="forbid")
    for_buyer: bool
    note: Line(200) = ""  # type: ignore[valid-type]


async def after_sale_reads(db: AsyncSession, rows: list[AfterSale]) -> list[AfterSaleRead]:
    evidence = await photos.of(db, purpose=AFTER_SALE_PHOTO, target_ids=[a.id for a in rows])
    return [AfterSaleRead(id=a.id, order_id=a.order_id, kind=a.kind, reason=a.reason, detail=a.detail, amount=a.amount,
                          status=a.status, merchant_note=a.merchant_note, return_tracking=a.return_tracking,
                          photos=[photos.url_of(p) for p in evidence.get(a.id, [])], created_at=a.created_at)
            for a in rows]


async def after_sale_read(db: AsyncSession, row: AfterSale) -> AfterSaleRead:
    return (await after_sale_reads(db, [row]))[0]


class OrderRead(BaseModel):
    id: ID
    shop_id: ID
    buyer_id: ID
    status: str = Field(description="created (stock held, waiting for payment), paid or canceled")
    total: int = Field(description="Goods plus shipping, in fen")
    shipping_fee: int
    currency: str
    intent_id: ID | None
    pay_url: str | None = Field(description="Where the buyer pays it (Shua Pay's payment page)")
    items: list[OrderItemRead]
    ship_to: dict[str, str]
    carrier: str | None
    tracking_number: str | None
    timeline: list[TrackRead] = Field(description="The parcel's steps, newest first")
    after_sales: list[AfterSaleRead]
    expires_at: datetime
    created_at: datetime


def shop_read(shop: Shop) -> ShopRead:
    return ShopRead(id=shop.id, owner_id=shop.owner_id, name=shop.name, kind=shop.kind, status=shop.status,
                    created_at=shop.created_at)


def shipping_read(t: ShippingTemplate) -> ShippingRead:
    return ShippingRead(id=t.id, name=t.name, fee=t.fee, free_over=t.free_over,
                        excluded_regions=list(t.excluded_regions or []))


async def product_read_of(db: AsyncSession, product: Product, shop: Shop, skus: list[Sku]) -> ProductRead:
    pictures = await photos.of(db, purpose=PRODUCT_PHOTO, target_ids=[product.id])
    template = (await shipping.templates_of(db, [product])).get(product.shipping_template_id or 0)
    return ProductRead(id=product.id, shop=shop_read(shop), title=product.title, description=product.description,
                       status=product.status, affiliate_bps=product.affiliate_bps, return_days=product.return_days,
                       photos=[photos.url_of(p) for p in pictures.get(product.id, [])],
                       shipping=shipping_read(template) if template else None,
                       skus=[SkuRead(id=s.id, name=s.name, price=s.price, stock=s.stock) for s in skus])


def address_read(a: Address) -> AddressRead:
    return AddressRead(id=a.id, name=a.name, phone=a.phone, region=a.region, detail=a.detail, is_default=a.is_default)


async def order_read(db: AsyncSession, order: Order) -> OrderRead:
    items = await orders.items_of(db, order_id=order.id)
    track = await fulfilment.timeline(db, order_id=order.id)
    done = await reviews.reviewed_items(db, item_ids=[i.id for i in items])
    return OrderRead(id=order.id, shop_id=order.shop_id, buyer_id=order.buyer_id, status=order.status,
                     total=order.total, shipping_fee=order.shipping_fee, currency=order.currency,
                     intent_id=order.intent_id,
                     pay_url=f"/pay/{order.intent_id}" if order.intent_id and order.status == "created" else None,
                     items=[OrderItemRead(id=i.id, reviewed=i.id in done, product_id=i.product_id, sku_id=i.sku_id,
                                          title=i.title, sku_name=i.sku_name, price=i.price, quantity=i.quantity)
                            for i in items],
                     ship_to={k: str(v) for k, v in (order.ship_to or {}).items()}, carrier=order.carrier,
                     tracking_number=order.tracking_number,
                     timeline=[TrackRead(status=e.status, description=e.description, at=e.at) for e in track],
                     after_sales=await after_sale_reads(db, await after_sales.of_order(db, order_id=order.id)),
                     expires_at=order.expires_at, created_at=order.created_at)


@router.post("/shops", status_code=status.HTTP_201_CREATED, responses=PROBLEMS)
async def open_shop(body: ShopCreate, auth: CurrentAuth, db: DB) -> ShopRead:
    """Open your shop (开店): individual and business shops sell at once, brand shops after an
    operator verifies them."""
    return shop_read(await shops.open_shop(db, owner_id=auth.user.id, name=body.name, kind=body.kind))


@router.get("/shops/mine", responses=PROBLEMS)
async def my_shop(auth: CurrentAuth, db: DB) -> ShopRead:
    return shop_read(await shops.shop_of(db, owner_id=auth.user.id))


@router.post("/shops/mine/products", status_code=status.HTTP_201_CREATED, responses=PROBLEMS)
async def add_product(body: ProductCreate, auth: CurrentAuth, db: DB) -> ProductRead:
    """List a product with its SKUs (colour / size, price, stock)."""
    product, skus = await shops.add_product(db, owner_id=auth.user.id, title=body.title, description=body.description,
                                            skus=[(s.name, s.price, s.stock) for s in body.skus],
                                            affiliate_bps=body.affiliate_bps, return_days=body.return_days,
                                            photo_ids=body.photos, shipping_template_id=body.shipping_template_id)
    return await product_read_of(db, product, await shops.shop_of(db, owner_id=auth.user.id), skus)


@router.patch("/products/{product_id}", responses=PROBLEMS)
async def update_product(product_id: ID, body: ProductUpdate, auth: CurrentAuth, db: DB) -> ProductRead:
    """Edit your product: title, description, photos, return days, commission, on or off sale
    (what is left out stays). Orders already placed keep what they were bought as."""
    await shops.update_product(db, owner_id=auth.user.id, product_id=product_id, title=body.title,
                               description=body.description, on_sale=body.on_sale, return_days=body.return_days,
                               affiliate_bps=body.affiliate_bps, photo_ids=body.photos,
                               shipping_template_id=body.shipping_template_id
                               if "shipping_template_id" in body.model_fields_set else shops.KEEP)
    await db.flush()
    product, shop, skus = await shops.product(db, product_id=product_id)
    return await product_read_of(db, product, shop, skus)


@router.get("/products/{product_id}", responses=PROBLEMS)
async def read_product(product_id: ID, db: DB) -> ProductRead:
    product, shop, skus = await shops.product(db, product_id=product_id)
    return await product_read_of(db, product, shop, skus)


@router.patch("/skus/{sku_id}", responses=PROBLEMS)
async def update_sku(sku_id: ID, body: SkuUpdate, auth: CurrentAuth, db: DB) -> SkuRead:
    """Set a SKU's stock or price (your own shop's only)."""
    sku = await shops.restock(db, owner_id=auth.user.id, sku_id=sku_id, stock=body.stock, price=body.price)
    return SkuRead(id=sku.id, name=sku.name, price=sku.price, stock=sku.stock)


@router.post("/orders", status_code=status.HTTP_201_CREATED, response_model=OrderRead, responses=PROBLEMS)
async def create_order(body: OrderCreate, request: Request, auth: StreamingAuth, runtime: RuntimeDep,
                       idempotency_key: IdempotencyKeyHeader = None) -> Response:
    """Check out (下单): the stock is held for 15 minutes while you pay at `pay_url`."""
    await runtime.limiter.hit(runtime.settings.payment_rate, "payment", str(auth.user.id))

    async def work(db: AsyncSession) -> tuple[int, Any]:
        order = await orders.checkout(db, buyer_id=auth.user.id, expected_total=body.expected_total,
                                      source_video_id=body.source_video_id, address_id=body.address_id,
                                      lines=[orders.Line(sku_id=i.sku_id, quantity=i.quantity, product_id=i.product_id)
                                             for i in body.items])
        return 201, (await order_read(db, order)).model_dump(mode="json")

    return await respond(request, runtime, user_id=auth.user.id, action="orders.create", key=idempotency_key,
                         body=body.model_dump(mode="json"), work=work)


@router.get("/orders", responses=PROBLEMS)
async def list_orders(auth: CurrentAuth, db: DB, role: Literal["buyer", "seller"] = "buyer",
                      before: ID | None = None, limit: Annotated[int, Query(ge=1, le=50)] = 20) -> list[OrderRead]:
    """Your orders as a buyer, or your shop's as a seller, newest first."""
    return [await order_read(db, o) for o in await orders.list_orders(db, user_id=auth.user.id, role=role,
                                                                      before=before, limit=limit)]


@router.get("/orders/{order_id}", responses=PROBLEMS)
async def read_order(order_id: ID, auth: CurrentAuth, db: DB) -> OrderRead:
    return await order_read(db, await orders.visible(db, user_id=auth.user.id, order_id=order_id))


@router.post("/orders/{order_id}/cancellation", responses=PROBLEMS)
async def cancel_order(order_id: ID, auth: CurrentAuth, db: DB) -> OrderRead:
    """Cancel an unpaid order: the stock goes back."""
    return await order_read(db, await orders.cancel(db, order_id=order_id, user_id=auth.user.id))


@router.post("/orders/{order_id}/shipment", responses=PROBLEMS)
async def ship_order(order_id: ID, body: ShipmentCreate, auth: CurrentAuth, db: DB, runtime: RuntimeDep) -> OrderRead:
    """The merchant ships a paid order (发货): carrier and tracking number; the timeline follows."""
    order = await fulfilment.ship(db, carrier_connector=carrier_of(runtime), owner_id=auth.user.id, order_id=order_id,
                                  carrier=body.carrier, tracking_number=body.tracking_number)
    return await order_read(db, order)


@router.post("/orders/{order_id}/receipt", responses=PROBLEMS)
async def confirm_receipt(order_id: ID, auth: CurrentAuth, db: DB, runtime: RuntimeDep) -> OrderRead:
    """The buyer confirms receipt (确认收货): the order completes and the merchant is paid."""
    order = await fulfilment.confirm_receipt(db, order_id=order_id, user_id=auth.user.id,
                                             fee_bps=runtime.settings.platform_fee_bps)
    return await order_read(db, order)


@router.get("/addresses", responses=PROBLEMS)
async def list_addresses(auth: CurrentAuth, db: DB) -> list[AddressRead]:
    """Your address book, the default first."""
    return [address_read(a) for a in await addresses.list_of(db, user_id=auth.user.id)]


@router.post("/addresses", status_code=status.HTTP_201_CREATED, responses=PROBLEMS)
async def add_address(body: AddressCreate, auth: CurrentAuth, db: DB) -> AddressRead:
    return address_read(await addresses.add(db, user_id=auth.user.id, name=body.name, phone=body.phone,
                                            region=body.region, detail=body.detail, default=body.default))


@router.post("/addresses/{address_id}/default", responses=PROBLEMS)
async def make_default_address(address_id: ID, auth: CurrentAuth, db: DB) -> AddressRead:
    """Make this address your default (checkout offers it first)."""
    return address_read(await addresses.set_default(db, user_id=auth.user.id, address_id=address_id))


@router.delete("/addresses/{address_id}", status_code=status.HTTP_204_NO_CONTENT, responses=PROBLEMS)
async def remove_address(address_id: ID, auth: CurrentAuth, db: DB) -> Response:
    await addresses.remove(db, user_id=auth.user.id, address_id=address_id)
    return Response(status_code=204)


class CartSet(BaseModel):
    model_config = ConfigDict(extra="forbid")
    product_id: ID | None = Field(default=None, description="A product on sale (any shop's: you earn its commission)")
    external_url: Annotated[str, Field(max_length=500)] | None = Field(default=None, description="Or a link out")
    external_title: Line(60) | None = None  # type: ignore[valid-type]


class CartRead(BaseModel):
    video_id: ID
    product: ProductRead | None
    external_title: str | None
    external_url: str | None = Field(description="Through /go/{video_id}, which counts the tap")


async def cart_read(db: AsyncSession, video_id: int) -> CartRead:
    cart = await carts.of_video(db, video_id=video_id)
    if cart is None:
        raise carts.CartNotFound()
    shown = None
    if cart.product_id is not None:
        product, shop, skus = await shops.product(db, product_id=cart.product_id)
        shown = await product_read_of(db, product, shop, skus)
    return CartRead(video_id=cart.video_id, product=shown, external_title=cart.external_title,
                    external_url=f"/go/{cart.video_id}" if cart.external_url else None)


@router.put("/videos/{video_id}/cart", responses=PROBLEMS)
async def set_cart(video_id: ID, body: CartSet, auth: CurrentAuth, db: DB) -> CartRead:
    """Put a product (or a link out to another store) on your video's yellow cart."""
    cart = await carts.attach(db, creator_id=auth.user.id, video_id=video_id, product_id=body.product_id,
                              external_url=body.external_url, external_title=body.external_title)
    return await cart_read(db, cart.video_id)


@router.delete("/videos/{video_id}/cart", status_code=status.HTTP_204_NO_CONTENT, responses=PROBLEMS)
async def remove_cart(video_id: ID, auth: CurrentAuth, db: DB) -> Response:
    await carts.detach(db, creator_id=auth.user.id, video_id=video_id)
    return Response(status_code=204)


@router.get("/videos/{video_id}/cart", responses=PROBLEMS)
async def read_cart(video_id: ID, db: DB) -> CartRead:
    return await cart_read(db, video_id)


@router.post("/orders/{order_id}/after-sales", status_code=status.HTTP_201_CREATED, responses=PROBLEMS)
async def request_after_sale(order_id: ID, body: AfterSaleCreate, auth: CurrentAuth, db: DB) -> AfterSaleRead:
    """Ask for a refund, a return and refund, or an exchange (申请售后), with a reason."""
    row = await after_sales.request(db, buyer_id=auth.user.id, order_id=order_id, kind=body.kind, reason=body.reason,
                                    detail=body.detail.strip(), amount=body.amount, photo_ids=body.photos)
    return await after_sale_read(db, row)


async def _keyed_step(request: Request, runtime: Runtime, auth: Any, action: str, key: str | None,
                      body: dict[str, Any], step: Any) -> Response:
    async def work(db: AsyncSession) -> tuple[int, Any]:
        return 200, (await after_sale_read(db, await step(db))).model_dump(mode="json")

    return await respond(request, runtime, user_id=auth.user.id, action=action, key=key, body=body, work=work)


@router.post("/after-sales/{after_sale_id}/decision", response_model=AfterSaleRead, responses=PROBLEMS)
async def decide_after_sale(after_sale_id: ID, body: Decision, request: Request, auth: StreamingAuth,
                            runtime: RuntimeDep, idempotency_key: IdempotencyKeyHeader = None) -> Response:
    """The merchant approves (a refund only is paid back at once) or rejects. Keyed: it can move money."""
    return await _keyed_step(request, runtime, auth, f"after_sale.decide:{after_sale_id}", idempotency_key,
                             body.model_dump(mode="json"),
                             lambda db: after_sales.decide(db, merchant_id=auth.user.id, after_sale_id=after_sale_id,
                                                           approve=body.approve, note=body.note))


@router.post("/after-sales/{after_sale_id}/return", responses=PROBLEMS)
async def ship_return(after_sale_id: ID, body: ReturnShipment, auth: CurrentAuth, db: DB) -> AfterSaleRead:
    """The buyer sends the goods back (退货): the tracking number."""
    return await after_sale_read(db, await after_sales.ship_back(db, buyer_id=auth.user.id,
                                                                 after_sale_id=after_sale_id,
                                                                 tracking_number=body.tracking_number))


@router.post("/after-sales/{after_sale_id}/receipt", response_model=AfterSaleRead, responses=PROBLEMS)
async def receive_return(after_sale_id: ID, request: Request, auth: StreamingAuth, runtime: RuntimeDep,
                         idempotency_key: IdempotencyKeyHeader = None) -> Response:
    """The merchant has the return: the buyer is refunded (or the exchange is done). Keyed."""
    return await _keyed_step(request, runtime, auth, f"after_sale.receive:{after_sale_id}", idempotency_key, {},
                             lambda db: after_sales.receive_return(db, merchant_id=auth.user.id,
                                                                   after_sale_id=after_sale_id))


@router.post("/after-sales/{after_sale_id}/appeal", responses=PROBLEMS)
async def appeal_after_sale(after_sale_id: ID, auth: CurrentAuth, db: DB) -> AfterSaleRead:
    """Rejected: ask the platform to arbitrate (平台介入)."""
    return await after_sale_read(db, await after_sales.appeal(db, buyer_id=auth.user.id, after_sale_id=after_sale_id))


@gmv_admin.get("/after-sales", responses=PROBLEMS)
async def arbitration_queue(_admin: AdminAuth, db: DB) -> list[AfterSaleRead]:
    """Requests waiting for the platform's decision, oldest first."""
    return await after_sale_reads(db, await after_sales.in_arbitration(db))


@gmv_admin.post("/after-sales/{after_sale_id}/ruling", response_model=AfterSaleRead, responses=PROBLEMS)
async def rule_after_sale(after_sale_id: ID, body: Ruling, request: Request, auth: StreamingAuth,
                          runtime: RuntimeDep, idempotency_key: IdempotencyKeyHeader = None) -> Response:
    """The platform decides (audited): for the buyer (the approved path) or for the merchant (closed)."""
    if not auth.user.is_admin:
        raise AdminRequired()
    return await _keyed_step(request, runtime, auth, f"after_sale.rule:{after_sale_id}", idempotency_key,
                             body.model_dump(mode="json"),
                             lambda db: after_sales.arbitrate(db, actor_id=auth.user.id, after_sale_id=after_sale_id,
                                                              for_buyer=body.for_buyer, note=body.note))


class CartPut(BaseModel):
    model_config = ConfigDict(extra="forbid")
    quantity: int = Field(ge=0, le=99, description="0 takes it out")


class CartLineRead(BaseModel):
    sku_id: ID
    product_id: ID
    shop_id: ID
    shop_name: str
    title: str
    sku_name: str
    price: int
    stock: int
    quantity: int


@router.get("/cart", responses=PROBLEMS)
async def read_cart_lines(auth: CurrentAuth, db: DB) -> list[CartLineRead]:
    """Your cart, grouped by shop (check out one shop at a time)."""
    return [CartLineRead(sku_id=line.sku.id, product_id=line.product.id, shop_id=line.shop.id,
                         shop_name=line.shop.name, title=line.product.title, sku_name=line.sku.name,
                         price=line.sku.price, stock=line.sku.stock, quantity=line.quantity)
            for line in await cart.lines(db, user_id=auth.user.id)]


@router.put("/cart/items/{sku_id}", status_code=status.HTTP_204_NO_CONTENT, responses=PROBLEMS)
async def put_in_cart(sku_id: ID, body: CartPut, auth: CurrentAuth, db: DB) -> Response:
    """Add to the cart (加入购物车), change the quantity, or take it out (0)."""
    await cart.put(db, user_id=auth.user.id, sku_id=sku_id, quantity=body.quantity)
    return Response(status_code=204)


class ReviewCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    stars: int = Field(ge=1, le=5)
    text: Annotated[str, Field(max_length=500)] = ""
    photos: Annotated[list[ID], Field(max_length=6)] = []


class ReviewRead(BaseModel):
    id: ID
    stars: int
    text: str
    verified_purchase: bool = Field(description="Always: only buyers who received it can review")
    photos: list[str] = []
    created_at: datetime


class ReviewsRead(BaseModel):
    count: int
    average: float | None
    items: list[ReviewRead]


@router.post("/order-items/{item_id}/review", status_code=status.HTTP_201_CREATED, responses=PROBLEMS)
async def review_item(item_id: ID, body: ReviewCreate, auth: CurrentAuth, db: DB) -> ReviewRead:
    """Review an item you bought and received (once)."""
    review = await reviews.write(db, buyer_id=auth.user.id, item_id=item_id, stars=body.stars, text=body.text.strip(),
                                 photo_ids=body.photos)
    return (await review_reads(db, [review]))[0]


async def review_reads(db: AsyncSession, rows: list[Any]) -> list[ReviewRead]:
    pictures = await photos.of(db, purpose=REVIEW_PHOTO, target_ids=[r.id for r in rows])
    return [ReviewRead(id=r.id, stars=r.stars, text=r.text, verified_purchase=True,
                       photos=[photos.url_of(p) for p in pictures.get(r.id, [])], created_at=r.created_at)
            for r in rows]


@router.get("/products/{product_id}/reviews", responses=PROBLEMS)
async def product_reviews(product_id: ID, db: DB) -> ReviewsRead:
    await shops.product(db, product_id=product_id)  # 404 for no such product
    summary, latest = await reviews.of_product(db, product_id=product_id)
    return ReviewsRead(count=summary.count, average=summary.average,
                       items=await review_reads(db, latest))


class ShopGmv(BaseModel):
    shop: str
    gmv: int


class VideoGmv(BaseModel):
    video_id: ID
    gmv: int


class ProductGmv(BaseModel):
    title: str
    units: int
    gmv: int


class GmvRead(BaseModel):
    since: datetime
    until: datetime
    gmv: int = Field(description="Fen paid for orders inside the app, net of refunds")
    refunded: int
    orders: int
    affiliate: int = Field(description="Creators' commissions on completed orders")
    external_clicks: int = Field(description="Taps on links out to other stores: not sales, not in GMV")
    by_day: dict[str, int]
    by_shop: list[ShopGmv]
    by_video: list[VideoGmv]
    top_products: list[ProductGmv]


@gmv_admin.get("/gmv", responses=PROBLEMS)
async def gmv_report(_admin: AdminAuth, db: DB, days: Annotated[int, Query(ge=1, le=366)] = 30) -> GmvRead:
    """Closed-loop GMV for the last `days` days (UTC), with link-out taps beside it."""
    from datetime import timedelta

    from shua.core import clock

    until = clock.utcnow()
    found = await gmv.report(db, since=until - timedelta(days=days), until=until)
    return GmvRead(since=found.since, until=found.until, gmv=found.gmv, refunded=found.refunded, orders=found.orders,
                   affiliate=found.affiliate, external_clicks=found.external_clicks,
                   by_day={d.isoformat(): v for d, v in found.by_day.items()},
                   by_shop=[ShopGmv(shop=name, gmv=n) for name, n in found.by_shop],
                   by_video=[VideoGmv(video_id=v, gmv=n) for v, n in found.by_video],
                   top_products=[ProductGmv(title=t, units=u, gmv=n) for t, u, n in found.top_products])


class Verification(BaseModel):
    model_config = ConfigDict(extra="forbid")
    approve: bool
    reason: Line(200) = ""  # type: ignore[valid-type]


@admin.put("/{shop_id}/verification", responses=PROBLEMS)
async def verify_shop(shop_id: ID, body: Verification, auth: AdminAuth, db: DB) -> ShopRead:
    """Approve or reject a brand shop (audited)."""
    return shop_read(await shops.verify(db, shop_id=shop_id, approve=body.approve, actor_id=auth.user.id,
                                        reason=body.reason))
