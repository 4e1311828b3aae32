"""the interests a new viewer picks for a cold-start For You

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 11:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shua.core.db

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('feed_interests',
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('topics', sa.JSON(), nullable=False),
    sa.Column('chosen_at', shua.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_feed_interests_user_id_users'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_feed_interests'))
    )


def downgrade() -> None:
    op.drop_table('feed_interests')
