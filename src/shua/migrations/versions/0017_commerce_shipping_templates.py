"""Shipping templates (运费模板): a shop's fee per order, free from a goods total, regions it does
not deliver to; a product names one (none: free shipping) and an order records its shipping fee.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02 01:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shua.core.db

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "shipping_templates",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("shop_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=30), nullable=False),
        sa.Column("fee", sa.BigInteger(), nullable=False),
        sa.Column("free_over", sa.BigInteger(), nullable=True),
        sa.Column("excluded_regions", sa.JSON(), nullable=False),
        sa.Column("created_at", shua.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("fee >= 0", name=op.f("ck_shipping_templates_fee_not_negative")),
        sa.ForeignKeyConstraint(["shop_id"], ["shops.id"], name=op.f("fk_shipping_templates_shop_id_shops"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shipping_templates")),
    )
    with op.batch_alter_table("shipping_templates", schema=None) as batch_op:
        batch_op.create_index("ix_shipping_templates_shop", ["shop_id", "id"], unique=False)
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("shipping_fee", sa.BigInteger(), server_default="0", nullable=False))
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.add_column(sa.Column("shipping_template_id", sa.BigInteger(), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_products_shipping_template_id_shipping_templates"),
                                    "shipping_templates", ["shipping_template_id"], ["id"], ondelete="SET NULL")


def downgrade() -> None:
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_products_shipping_template_id_shipping_templates"),
                                 type_="foreignkey")
        batch_op.drop_column("shipping_template_id")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_column("shipping_fee")
    with op.batch_alter_table("shipping_templates", schema=None) as batch_op:
        batch_op.drop_index("ix_shipping_templates_shop")
    op.drop_table("shipping_templates")
