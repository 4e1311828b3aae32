"""Shop photos (products, reviews, after-sales claims), buyer questions, a product's return policy,
and product descriptions as sanitised HTML.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 00:47:59
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shua.core.db

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "shop_photos",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("owner_id", sa.BigInteger(), nullable=False),
        sa.Column("purpose", sa.String(length=12), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("attached_to", sa.BigInteger(), nullable=True),
        sa.Column("position", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_at", shua.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], name=op.f("fk_shop_photos_owner_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shop_photos")),
    )
    with op.batch_alter_table("shop_photos", schema=None) as batch_op:
        batch_op.create_index("ix_shop_photos_owner", ["owner_id", "attached_to"], unique=False)
        batch_op.create_index("ix_shop_photos_target", ["purpose", "attached_to", "position"], unique=False)

    op.create_table(
        "product_questions",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("product_id", sa.BigInteger(), nullable=False),
        sa.Column("shop_id", sa.BigInteger(), nullable=False),
        sa.Column("asker_id", sa.BigInteger(), nullable=False),
        sa.Column("question", sa.String(length=200), nullable=False),
        sa.Column("answer", sa.String(length=500), nullable=True),
        sa.Column("created_at", shua.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("answered_at", shua.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["product_id"], ["products.id"], name=op.f("fk_product_questions_product_id_products"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product_questions")),
    )
    with op.batch_alter_table("product_questions", schema=None) as batch_op:
        batch_op.create_index("ix_product_questions_product", ["product_id", "id"], unique=False)
        batch_op.create_index("ix_product_questions_shop", ["shop_id", "answered_at", "id"], unique=False)

    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.add_column(sa.Column("return_days", sa.Integer(), server_default="7", nullable=False))

    # Descriptions were plain text, escaped when shown; now they are stored as sanitised HTML and
    # shown as they are, so what was text becomes escaped text (a "<" stays a "<" on the page).
    bind = op.get_bind()
    products = sa.table("products", sa.column("id", sa.BigInteger()), sa.column("description", sa.Text()))
    for product_id, description in bind.execute(sa.select(products.c.id, products.c.description)).all():
        escaped = html.escape(description or "", quote=False)
        if escaped != description:
            bind.execute(products.update().where(products.c.id == product_id).values(description=escaped))


def downgrade() -> None:
    bind = op.get_bind()
    products = sa.table("products", sa.column("id", sa.BigInteger()), sa.column("description", sa.Text()))
    for product_id, description in bind.execute(sa.select(products.c.id, products.c.description)).all():
        text = html.unescape(description or "")
        if text != description:
            bind.execute(products.update().where(products.c.id == product_id).values(description=text))
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_column("return_days")
    with op.batch_alter_table("product_questions", schema=None) as batch_op:
        batch_op.drop_index("ix_product_questions_shop")
        batch_op.drop_index("ix_product_questions_product")
    op.drop_table("product_questions")
    with op.batch_alter_table("shop_photos", schema=None) as batch_op:
        batch_op.drop_index("ix_shop_photos_target")
        batch_op.drop_index("ix_shop_photos_owner")
    op.drop_table("shop_photos")
