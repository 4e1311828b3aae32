"""commerce: shops, products, SKUs, carts, orders, addresses, shipments, video carts, reviews, after-sales

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 22:38:29.747494
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shua.core.db

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('external_clicks',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('video_id', sa.BigInteger(), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=True),
    sa.Column('at', shua.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_external_clicks'))
    )
    with op.batch_alter_table('external_clicks', schema=None) as batch_op:
        batch_op.create_index('ix_external_clicks_at', ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_external_clicks_video_id'), ['video_id'], unique=False)

    op.create_table('addresses',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('name', sa.String(length=30), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=False),
    sa.Column('region', sa.String(length=60), nullable=False),
    sa.Column('detail', sa.String(length=120), nullable=False),
    sa.Column('is_default', sa.Boolean(), nullable=False),
    sa.Column('created_at', shua.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_addresses_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_addresses'))
    )
    with op.batch_alter_table('addresses', schema=None) as batch_op:
        batch_op.create_index('ix_addresses_user', ['user_id', 'id'], unique=False)

    op.create_table('shops',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('owner_id', sa.BigInteger(), nullable=False),
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('created_at', shua.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_shops_owner_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shops')),
    sa.UniqueConstraint('owner_id', name=op.f('uq_shops_owner_id'))
    )
    op.create_table('orders',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('buyer_id', sa.BigInteger(), nullable=False),
    sa.Column('shop_id', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('total', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('intent_id', sa.BigInteger(), nullable=True),
    sa.Column('source_video_id', sa.BigInteger(), nullable=True),
    sa.Column('affiliate_id', sa.BigInteger(), nullable=True),
    sa.Column('affiliate_amount', sa.BigInteger(), nullable=False),
    sa.Column('expires_at', shua.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ship_to', sa.JSON(), nullable=False),
    sa.Column('carrier', sa.String(length=20), nullable=True),
    sa.Column('tracking_number', sa.String(length=40), nullable=True),
    sa.Column('created_at', shua.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('paid_at', shua.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('shipped_at', shua.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('delivered_at', shua.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('completed_at', shua.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('canceled_at', shua.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_orders_shop_id_shops')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_orders'))
    )
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_index('ix_orders_buyer', ['buyer_id', 'id'], unique=False)
        batch_op.create_index('ix_orders_shop', ['shop_id', 'id'], unique=False)
        batch_op.create_index('ix_orders_status_expiry', ['status', 'expires_at'], unique=False)

    op.create_table('products',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('shop_id', sa.BigInteger(), nullable=False),
    sa.Column('title', sa.String(length=60), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('affiliate_bps', sa.Integer(), server_default='0', nullable=False),
    sa.Column('created_at', shua.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_products_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_products'))
    )
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.create_index('ix_products_shop', ['shop_id', 'id'], unique=False)

    op.create_table('after_sales',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('order_id', sa.BigInteger(), nullable=False),
    sa.Column('shop_id', sa.BigInteger(), nullable=False),
    sa.Column('buyer_id', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.String(length=24), nullable=False),
    sa.Column('detail', sa.String(length=500), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('merchant_note', sa.String(length=200), nullable=False),
    sa.Column('return_tracking', sa.String(length=40), nullable=True),
    sa.Column('refund_id', sa.BigInteger(), nullable=True),
    sa.Column('created_at', shua.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', shua.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('amount >= 0', name=op.f('ck_after_sales_amount_not_negative')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'],
                            name=op.f('fk_after_sales_order_id_orders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_after_sales'))
    )
    with op.batch_alter_table('after_sales', schema=None) as batch_op:
        batch_op.create_index('ix_after_sales_order', ['order_id'], unique=False)
        batch_op.create_index('ix_after_sales_shop', ['shop_id', 'id'], unique=False)

    op.create_table('shipment_events',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('order_id', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('description', sa.String(length=200), nullable=False),
    sa.Column('at', shua.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'],
                            name=op.f('fk_shipment_events_order_id_orders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shipment_events'))
    )
    with op.batch_alter_table('shipment_events', schema=None) as batch_op:
        batch_op.create_index('ix_shipment_events_order', ['order_id', 'at'], unique=False)

    op.create_table('skus',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('product_id', sa.BigInteger(), nullable=False),
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('price', sa.BigInteger(), nullable=False),
    sa.Column('stock', sa.Integer(), nullable=False),
    sa.CheckConstraint('price > 0', name=op.f('ck_skus_price_positive')),
    sa.CheckConstraint('stock >= 0', name=op.f('ck_skus_stock_not_negative')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'],
                            name=op.f('fk_skus_product_id_products'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_skus'))
    )
    with op.batch_alter_table('skus', schema=None) as batch_op:
        batch_op.create_index('ix_skus_product', ['product_id'], unique=False)

    op.create_table('video_carts',
    sa.Column('video_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('creator_id', sa.BigInteger(), nullable=False),
    sa.Column('product_id', sa.BigInteger(), nullable=True),
    sa.Column('external_url', sa.String(length=500), nullable=True),
    sa.Column('external_title', sa.String(length=60), nullable=True),
    sa.Column('created_at', shua.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'],
                            name=op.f('fk_video_carts_product_id_products'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('video_id', name=op.f('pk_video_carts'))
    )
    with op.batch_alter_table('video_carts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_video_carts_creator_id'), ['creator_id'], unique=False)

    op.create_table('cart_items',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('sku_id', sa.BigInteger(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('added_at', shua.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_cart_items_quantity_positive')),
    sa.ForeignKeyConstraint(['sku_id'], ['skus.id'], name=op.f('fk_cart_items_sku_id_skus'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_cart_items_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cart_items')),
    sa.UniqueConstraint('user_id', 'sku_id', name=op.f('uq_cart_items_user_id'))
    )
    with op.batch_alter_table('cart_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cart_items_user_id'), ['user_id'], unique=False)

    op.create_table('order_items',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('order_id', sa.BigInteger(), nullable=False),
    sa.Column('sku_id', sa.BigInteger(), nullable=False),
    sa.Column('product_id', sa.BigInteger(), nullable=False),
    sa.Column('title', sa.String(length=60), nullable=False),
    sa.Column('sku_name', sa.String(length=40), nullable=False),
    sa.Column('price', sa.BigInteger(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_order_items_quantity_positive')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'],
                            name=op.f('fk_order_items_order_id_orders'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['sku_id'], ['skus.id'], name=op.f('fk_order_items_sku_id_skus')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_items'))
    )
    with op.batch_alter_table('order_items', schema=None) as batch_op:
        batch_op.create_index('ix_order_items_order', ['order_id'], unique=False)

    op.create_table('reviews',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('order_item_id', sa.BigInteger(), nullable=False),
    sa.Column('product_id', sa.BigInteger(), nullable=False),
    sa.Column('buyer_id', sa.BigInteger(), nullable=False),
    sa.Column('stars', sa.Integer(), nullable=False),
    sa.Column('text', sa.String(length=500), nullable=False),
    sa.Column('created_at', shua.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('stars BETWEEN 1 AND 5', name=op.f('ck_reviews_stars_range')),
    sa.ForeignKeyConstraint(['order_item_id'], ['order_items.id'],
                            name=op.f('fk_reviews_order_item_id_order_items'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reviews')),
    sa.UniqueConstraint('order_item_id', name=op.f('uq_reviews_order_item_id'))
    )
    with op.batch_alter_table('reviews', schema=None) as batch_op:
        batch_op.create_index('ix_reviews_product', ['product_id', 'id'], unique=False)


def downgrade() -> None:
    for table in ("cart_items", "after_sales", "reviews", "external_clicks", "video_carts", "shipment_events",
                  "order_items", "orders", "addresses", "skus", "products", "shops"):
        op.drop_table(table)
