"""videos: a category and cover text (searched as well as the caption); moderators' takedowns

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 17:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shua.core.db

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('videos') as batch:
        batch.add_column(sa.Column('category', sa.String(length=16), nullable=True))
        batch.add_column(sa.Column('cover_text', sa.String(length=40), server_default='', nullable=False))
        batch.add_column(sa.Column('removed_at', shua.core.db.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('removal_reason', sa.String(length=30), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('videos') as batch:
        batch.drop_column('removal_reason')
        batch.drop_column('removed_at')
        batch.drop_column('cover_text')
        batch.drop_column('category')
