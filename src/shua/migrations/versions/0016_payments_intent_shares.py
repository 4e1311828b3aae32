"""Others' cuts of a released payment (a creator's commission), so a later refund takes back
their part in proportion.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 01:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "payment_intent_shares",
        sa.Column("intent_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("owner_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("amount_reversed", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("amount_unrecovered", sa.BigInteger(), server_default="0", nullable=False),
        sa.CheckConstraint("amount_reversed BETWEEN 0 AND amount",
                           name=op.f("ck_payment_intent_shares_reversed_within_amount")),
        sa.ForeignKeyConstraint(["intent_id"], ["payment_intents.id"],
                                name=op.f("fk_payment_intent_shares_intent_id_payment_intents")),
        sa.PrimaryKeyConstraint("intent_id", "owner_id", name=op.f("pk_payment_intent_shares")),
    )


def downgrade() -> None:
    op.drop_table("payment_intent_shares")
