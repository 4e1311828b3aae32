"""The shop's tables. Stock lives on the SKU and is taken when an order is created (the order's
items are the reservation) and given back when the order is canceled or its payment window
passes, so a SKU is never sold past zero: the decrement is one guarded UPDATE and a CHECK
constraint stands behind it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from shua.core import clock
from shua.core.db import Base, UTCDateTime, id_column

# Shops: an individual or a business opens one at once; a verified brand (品牌) needs an
# operator's check first.
INDIVIDUAL, BUSINESS, BRAND = "individual", "business", "brand"
SHOP_KINDS = (INDIVIDUAL, BUSINESS, BRAND)
OPEN, PENDING_VERIFICATION, REJECTED = "open", "pending_verification", "rejected"

# Orders: created (stock held, waiting for payment) → paid → shipped → delivered → completed
# (the buyer confirmed, or the confirmation window passed: the merchant is paid); canceled gives
# the stock back.
CREATED, PAID, SHIPPED, DELIVERED, COMPLETED, CANCELED = (
    "created", "paid", "shipped", "delivered", "completed", "canceled")


class Shop(Base):
    __tablename__ = "shops"

    id: Mapped[int] = id_column()
    owner_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    name: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(12))
    status: Mapped[str] = mapped_column(String(24))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.utcnow)


class Product(Base):
    __tablename__ = "products"
    __table_args__ = (Index("ix_products_shop", "shop_id", "id"),)

    id: Mapped[int] = id_column()
    shop_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("shops.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(60))
    description: Mapped[str] = mapped_column(Text, default="")  # sanitised HTML (core.text.sanitise_html)
    status: Mapped[str] = mapped_column(String(10), default="on_sale")  # on_sale | off_sale
    # 带货佣金: the share of an order's goods a creator earns when it came from their video.
    affiliate_bps: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # 七天无理由退货: days after receipt a buyer may return it for no reason (0: only for a fault).
    return_days: Mapped[int] = mapped_column(Integer, default=7, server_default="7")
    # 运费模板: what shipping costs; none means free shipping (包邮).
    shipping_template_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("shipping_templates.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.utcnow)


class ShippingTemplate(Base):
    """A shop's shipping rule (运费模板): a flat fee per order, free at or above a goods total, and
    the regions it does not deliver to (matched against the start of an address's region)."""

    __tablename__ = "shipping_templates"
    __table_args__ = (Index("ix_shipping_templates_shop", "shop_id", "id"),
                      CheckConstraint("fee >= 0", name="fee_not_negative"))

    id: Mapped[int] = id_column()
    shop_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("shops.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(30))
    fee: Mapped[int] = mapped_column(BigInteger)  # fen
    free_over: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # goods total (fen) that ships free
    excluded_regions: Mapped[list[str]] = mapped_column(JSON, default=list)  # "新疆", "西藏"…
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.utcnow)


class VideoCart(Base):
    """The yellow cart (小黄车) on a video: one product of the shop, or a link out to another
    store (counted apart: GMV is only what is bought inside)."""

    __tablename__ = "video_carts"

    video_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    creator_id: Mapped[int] = mapped_column(BigInteger, index=True)  # the video's owner, who earns the commission
    product_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("products.id", ondelete="CASCADE"),
                                                   nullable=True)
    external_url: Mapped[str | None] = mapped_column(String(500), nullable=True)
    external_title: Mapped[str | None] = mapped_column(String(60), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.utcnow)


class ExternalClick(Base):
    """A tap on a video's link out: counted, never part of GMV."""

    __tablename__ = "external_clicks"
    __table_args__ = (Index("ix_external_clicks_at", "at"),)

    id: Mapped[int] = id_column()
    video_id: Mapped[int] = mapped_column(BigInteger, index=True)
    user_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.utcnow)


class Sku(Base):
    """One buyable variant of a product (colour / size) with its own price and stock."""

    __tablename__ = "skus"
    __table_args__ = (Index("ix_skus_product", "product_id"),
                      CheckConstraint("stock >= 0", name="stock_not_negative"),
                      CheckConstraint("price > 0", name="price_positive"))

    id: Mapped[int] = id_column()
    product_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("products.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(40))  # "红色 / M"
    price: Mapped[int] = mapped_column(BigInteger)  # fen
    stock: Mapped[int] = mapped_column(Integer)


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (Index("ix_orders_buyer", "buyer_id", "id"), Index("ix_orders_shop", "shop_id", "id"),
                      Index("ix_orders_status_expiry", "status", "expires_at"))

    id: Mapped[int] = id_column()
    buyer_id: Mapped[int] = mapped_column(BigInteger)
    shop_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("shops.id"))
    status: Mapped[str] = mapped_column(String(12), default=CREATED)
    total: Mapped[int] = mapped_column(BigInteger)  # the goods plus shipping: what the buyer pays
    shipping_fee: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    intent_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    source_video_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # the video its cart was on
    affiliate_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # that video's creator
    affiliate_amount: Mapped[int] = mapped_column(BigInteger, default=0)  # their commission, paid at completion
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)  # unpaid by then: canceled, stock back
    ship_to: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # the address as it was at checkout
    carrier: Mapped[str | None] = mapped_column(String(20), nullable=True)
    tracking_number: Mapped[str | None] = mapped_column(String(40), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.utcnow)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    canceled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Address(Base):
    """An entry of a buyer's address book (收货地址)."""

    __tablename__ = "addresses"
    __table_args__ = (Index("ix_addresses_user", "user_id", "id"),)

    id: Mapped[int] = id_column()
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(30))
    phone: Mapped[str] = mapped_column(String(20))
    region: Mapped[str] = mapped_column(String(60))  # 省 市 区
    detail: Mapped[str] = mapped_column(String(120))
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.utcnow)


class ShipmentEvent(Base):
    """A step of an order's parcel, as the carrier reported it (物流轨迹)."""

    __tablename__ = "shipment_events"
    __table_args__ = (Index("ix_shipment_events_order", "order_id", "at"),)

    id: Mapped[int] = id_column()
    order_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("orders.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16))  # picked_up | in_transit | out_for_delivery | delivered
    description: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class OrderItem(Base):
    """A line of an order, with the title and price as they were when it was bought."""

    __tablename__ = "order_items"
    __table_args__ = (Index("ix_order_items_order", "order_id"),
                      CheckConstraint("quantity > 0", name="quantity_positive"))

    id: Mapped[int] = id_column()
    order_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("orders.id", ondelete="CASCADE"))
    sku_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("skus.id"))
    product_id: Mapped[int] = mapped_column(BigInteger)
    title: Mapped[str] = mapped_column(String(60))
    sku_name: Mapped[str] = mapped_column(String(40))
    price: Mapped[int] = mapped_column(BigInteger)
    quantity: Mapped[int] = mapped_column(Integer)


class Review(Base):
    """A buyer's review of an order item: one per item, only after receipt — so every review is
    of a verified purchase and none can be bought without buying."""

    __tablename__ = "reviews"
    __table_args__ = (Index("ix_reviews_product", "product_id", "id"),
                      CheckConstraint("stars BETWEEN 1 AND 5", name="stars_range"))

    id: Mapped[int] = id_column()
    order_item_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("order_items.id", ondelete="CASCADE"),
                                               unique=True)
    product_id: Mapped[int] = mapped_column(BigInteger)
    buyer_id: Mapped[int] = mapped_column(BigInteger)
    stars: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.utcnow)


# After-sales (售后): what the buyer asks for, and where the request stands.
REFUND_ONLY, RETURN_REFUND, EXCHANGE = "refund_only", "return_refund", "exchange"
AFTER_SALE_KINDS = (REFUND_ONLY, RETURN_REFUND, EXCHANGE)
AFTER_SALE_REASONS = ("not_as_described", "damaged", "wrong_item", "quality", "not_received", "changed_mind", "other")
REQUESTED, APPROVED, REJECTED, AWAITING_RETURN, RETURNED, ARBITRATION, REFUNDED, EXCHANGED, CLOSED = (
    "requested", "approved", "rejected", "awaiting_return", "returned", "arbitration", "refunded", "exchanged",
    "closed")


class AfterSale(Base):
    """A buyer's after-sales request on an order: refund only, return and refund, or exchange.
    The merchant approves or rejects; a rejected buyer may ask the platform to arbitrate."""

    __tablename__ = "after_sales"
    __table_args__ = (Index("ix_after_sales_order", "order_id"), Index("ix_after_sales_shop", "shop_id", "id"),
                      CheckConstraint("amount >= 0", name="amount_not_negative"))

    id: Mapped[int] = id_column()
    order_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("orders.id", ondelete="CASCADE"))
    shop_id: Mapped[int] = mapped_column(BigInteger)
    buyer_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(24))
    detail: Mapped[str] = mapped_column(String(500), default="")
    amount: Mapped[int] = mapped_column(BigInteger, default=0)  # fen to refund (0 for an exchange)
    status: Mapped[str] = mapped_column(String(16), default=REQUESTED)
    merchant_note: Mapped[str] = mapped_column(String(200), default="")
    return_tracking: Mapped[str | None] = mapped_column(String(40), nullable=True)
    refund_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # Shua Pay's refund object
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.utcnow)


class CartItem(Base):
    """A SKU a buyer put in the cart (购物车) to buy later; checking out takes it out."""

    __tablename__ = "cart_items"
    __table_args__ = (UniqueConstraint("user_id", "sku_id"), CheckConstraint("quantity > 0", name="quantity_positive"))

    id: Mapped[int] = id_column()
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    sku_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("skus.id", ondelete="CASCADE"))
    quantity: Mapped[int] = mapped_column(Integer)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.utcnow)


# What a shop photo shows; each kind is attached to one object of its own table.
PRODUCT_PHOTO, REVIEW_PHOTO, AFTER_SALE_PHOTO = "product", "review", "after_sale"
PHOTO_PURPOSES = (PRODUCT_PHOTO, REVIEW_PHOTO, AFTER_SALE_PHOTO)


class ShopPhoto(Base):
    """A photo uploaded for a product, a review or an after-sales claim. Uploaded first (so a form
    can show it at once), attached when the thing it belongs to is saved; one left unattached
    for a day is deleted."""

    __tablename__ = "shop_photos"
    __table_args__ = (Index("ix_shop_photos_target", "purpose", "attached_to", "position"),
                      Index("ix_shop_photos_owner", "owner_id", "attached_to"))

    id: Mapped[int] = id_column()
    owner_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(12))
    key: Mapped[str] = mapped_column(String(200))  # unguessable; handed out only through an access-checked route
    attached_to: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    position: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.utcnow)


class Question(Base):
    """A buyer's question about a product (商品问答) and the shop's answer; how fast shops answer
    is part of their score."""

    __tablename__ = "product_questions"
    __table_args__ = (Index("ix_product_questions_product", "product_id", "id"),
                      Index("ix_product_questions_shop", "shop_id", "answered_at", "id"))

    id: Mapped[int] = id_column()
    product_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("products.id", ondelete="CASCADE"))
    shop_id: Mapped[int] = mapped_column(BigInteger)
    asker_id: Mapped[int] = mapped_column(BigInteger)
    question: Mapped[str] = mapped_column(String(200))
    answer: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
