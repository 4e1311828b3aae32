"""payments: bank operations and webhooks, the simulated bank's book, payment intents, refunds, PIN reset

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 21:00:07.960585
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shua.core.db

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('bank_webhook_events',
    sa.Column('event_id', sa.String(length=64), nullable=False),
    sa.Column('type', sa.String(length=40), nullable=False),
    sa.Column('operation_id', sa.BigInteger(), nullable=True),
    sa.Column('received_at', shua.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('event_id', name=op.f('pk_bank_webhook_events'))
    )
    op.create_table('payment_intents',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('payee_id', sa.BigInteger(), nullable=False),
    sa.Column('payer_id', sa.BigInteger(), nullable=True),
    sa.Column('secret', sa.String(length=32), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('description', sa.String(length=200), nullable=False),
    sa.Column('reference', sa.String(length=80), nullable=False),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('method', sa.String(length=8), nullable=True),
    sa.Column('card_id', sa.BigInteger(), nullable=True),
    sa.Column('failure_code', sa.String(length=40), nullable=True),
    sa.Column('amount_refunded', sa.BigInteger(), nullable=False),
    sa.Column('fee', sa.BigInteger(), nullable=False),
    sa.Column('auto_release', sa.Boolean(), nullable=False),
    sa.Column('released_at', shua.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', shua.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', shua.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('amount > 0', name=op.f('ck_payment_intents_amount_positive')),
    sa.CheckConstraint('amount_refunded >= 0 AND amount_refunded <= amount',
                       name=op.f('ck_payment_intents_refunds_within')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_intents'))
    )
    with op.batch_alter_table('payment_intents', schema=None) as batch_op:
        batch_op.create_index('ix_payment_intents_payee', ['payee_id', 'id'], unique=False)
        batch_op.create_index('ix_payment_intents_payer', ['payer_id', 'id'], unique=False)

    op.create_table('simbank_operations',
    sa.Column('bank_ref', sa.String(length=64), nullable=False),
    sa.Column('reference', sa.String(length=80), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('outcome', sa.String(length=10), nullable=False),
    sa.Column('failure_code', sa.String(length=40), nullable=True),
    sa.Column('created_at', shua.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('settled_at', shua.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('bank_ref', name=op.f('pk_simbank_operations')),
    sa.UniqueConstraint('reference', name=op.f('uq_simbank_operations_reference'))
    )
    op.create_table('payment_refunds',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('intent_id', sa.BigInteger(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('destination', sa.String(length=8), nullable=False),
    sa.Column('created_at', shua.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('amount > 0', name=op.f('ck_payment_refunds_amount_positive')),
    sa.ForeignKeyConstraint(['intent_id'], ['payment_intents.id'],
                            name=op.f('fk_payment_refunds_intent_id_payment_intents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_refunds'))
    )
    with op.batch_alter_table('payment_refunds', schema=None) as batch_op:
        batch_op.create_index('ix_payment_refunds_intent', ['intent_id'], unique=False)

    op.create_table('bank_operations',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('card_id', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('purpose', sa.String(length=12), nullable=False),
    sa.Column('purpose_id', sa.BigInteger(), nullable=True),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('bank_ref', sa.String(length=64), nullable=True),
    sa.Column('failure_code', sa.String(length=40), nullable=True),
    sa.Column('created_at', shua.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('settled_at', shua.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint('amount > 0', name=op.f('ck_bank_operations_amount_positive')),
    sa.ForeignKeyConstraint(['card_id'], ['payment_cards.id'], name=op.f('fk_bank_operations_card_id_payment_cards')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bank_operations')),
    sa.UniqueConstraint('bank_ref', name=op.f('uq_bank_operations_bank_ref'))
    )
    with op.batch_alter_table('bank_operations', schema=None) as batch_op:
        batch_op.create_index('ix_bank_operations_status', ['status', 'created_at'], unique=False)
        batch_op.create_index('ix_bank_operations_user', ['user_id', 'id'], unique=False)

    with op.batch_alter_table('payment_passwords', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reset_digest', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('reset_expires_at', shua.core.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('reset_attempts', sa.Integer(), server_default='0', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('payment_passwords', schema=None) as batch_op:
        for column in ('reset_attempts', 'reset_expires_at', 'reset_digest'):
            batch_op.drop_column(column)
    for table in ("bank_operations", "payment_refunds", "simbank_operations", "payment_intents",
                  "bank_webhook_events"):
        op.drop_table(table)
