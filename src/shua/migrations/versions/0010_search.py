"""search: documents with a full-text index per backend, hashtags, query log, history, hot list; audit log

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 14:10:15.742791
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shua.core.db

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('audit_log',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('actor_id', sa.BigInteger(), nullable=True),
    sa.Column('action', sa.String(length=60), nullable=False),
    sa.Column('target', sa.String(length=200), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('at', shua.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_log_actor_id'), ['actor_id'], unique=False)

    op.create_table('search_docs',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('owner_id', sa.BigInteger(), nullable=True),
    sa.Column('visibility', sa.String(length=8), nullable=False),
    sa.Column('created_at', shua.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('duration_ms', sa.Integer(), nullable=True),
    sa.Column('popularity', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('tags', sa.Text(), nullable=False),
    sa.Column('words', sa.Text(), nullable=False),
    sa.Column('pinyin', sa.Text(), nullable=False),
    sa.Column('grams', sa.Text(), nullable=False),
    sa.Column('indexed_at', shua.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_search_docs'))
    )
    with op.batch_alter_table('search_docs', schema=None) as batch_op:
        batch_op.create_index('ix_search_docs_kind_created', ['kind', 'created_at'], unique=False)
    _create_full_text_index()

    op.create_table('search_hashtags',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('tag', sa.String(length=60), nullable=False),
    sa.Column('videos', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_search_hashtags')),
    sa.UniqueConstraint('tag', name=op.f('uq_search_hashtags_tag'))
    )
    op.create_table('search_hot',
    sa.Column('rank', sa.Integer(), nullable=False),
    sa.Column('term', sa.String(length=100), nullable=False),
    sa.Column('heat', sa.Float(), nullable=False),
    sa.Column('badge', sa.String(length=8), nullable=True),
    sa.Column('refreshed_at', shua.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('rank', name=op.f('pk_search_hot'))
    )
    op.create_table('search_hot_overrides',
    sa.Column('term', sa.String(length=100), nullable=False),
    sa.Column('action', sa.String(length=8), nullable=False),
    sa.Column('position', sa.Integer(), nullable=True),
    sa.Column('actor_id', sa.BigInteger(), nullable=True),
    sa.Column('created_at', shua.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('term', name=op.f('pk_search_hot_overrides'))
    )
    op.create_table('search_logs',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=True),
    sa.Column('query', sa.String(length=100), nullable=False),
    sa.Column('tab', sa.String(length=8), nullable=False),
    sa.Column('results', sa.Integer(), nullable=False),
    sa.Column('at', shua.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_search_logs'))
    )
    with op.batch_alter_table('search_logs', schema=None) as batch_op:
        batch_op.create_index('ix_search_logs_user_at', ['user_id', 'at'], unique=False)

    op.create_table('search_state',
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('watermark', sa.BigInteger(), nullable=False),
    sa.Column('at', shua.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_search_state'))
    )
    op.create_table('search_terms',
    sa.Column('term', sa.String(length=100), nullable=False),
    sa.Column('pinyin', sa.String(length=600), nullable=False),
    sa.Column('initials', sa.String(length=200), nullable=False),
    sa.Column('searchers', sa.BigInteger(), nullable=False),
    sa.Column('videos', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', shua.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('term', name=op.f('pk_search_terms'))
    )
    op.create_table('search_trend_counts',
    sa.Column('term', sa.String(length=100), nullable=False),
    sa.Column('hour', shua.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('searches', sa.BigInteger(), nullable=False),
    sa.Column('engagement', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('term', 'hour', name=op.f('pk_search_trend_counts'))
    )
    with op.batch_alter_table('search_trend_counts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_search_trend_counts_hour'), ['hour'], unique=False)

    op.create_table('search_clicks',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('log_id', sa.BigInteger(), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=True),
    sa.Column('video_id', sa.BigInteger(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('at', shua.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['log_id'], ['search_logs.id'], name=op.f('fk_search_clicks_log_id_search_logs'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_search_clicks'))
    )
    with op.batch_alter_table('search_clicks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_search_clicks_log_id'), ['log_id'], unique=False)

    op.create_table('search_history',
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('query', sa.String(length=100), nullable=False),
    sa.Column('searched_at', shua.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_search_history_user_id_users'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'query', name=op.f('pk_search_history'))
    )
    with op.batch_alter_table('search_history', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_search_history_searched_at'), ['searched_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('search_history', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_search_history_searched_at'))

    op.drop_table('search_history')
    with op.batch_alter_table('search_clicks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_search_clicks_log_id'))

    op.drop_table('search_clicks')
    with op.batch_alter_table('search_trend_counts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_search_trend_counts_hour'))

    op.drop_table('search_trend_counts')
    op.drop_table('search_terms')
    op.drop_table('search_state')
    with op.batch_alter_table('search_logs', schema=None) as batch_op:
        batch_op.drop_index('ix_search_logs_user_at')

    op.drop_table('search_logs')
    op.drop_table('search_hot_overrides')
    op.drop_table('search_hot')
    op.drop_table('search_hashtags')
    with op.batch_alter_table('search_docs', schema=None) as batch_op:
        batch_op.drop_index('ix_search_docs_kind_created')

    _drop_full_text_index()
    op.drop_table('search_docs')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_log_actor_id'))

    op.drop_table('audit_log')


# The four token columns, best evidence first; PostgreSQL's weights A…D stand for the columns.
_COLUMNS = ("tags", "words", "pinyin", "grams")


def _create_full_text_index() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # External content: the FTS table stores only the index; triggers keep it in step with
        # search_docs in the writer's own transaction. '#', '@', '_' and '.' are token characters
        # so "#猫咪日常" and "@zhang_san" stay whole; remove_diacritics 0 keeps tokens verbatim.
        columns = ", ".join(_COLUMNS)
        new = ", ".join(f"new.{c}" for c in _COLUMNS)
        old = ", ".join(f"old.{c}" for c in _COLUMNS)
        op.execute(f"""CREATE VIRTUAL TABLE search_fts USING fts5({columns}, content='search_docs',
                       content_rowid='id', tokenize="unicode61 remove_diacritics 0 tokenchars '#@_.'")""")
        op.execute(f"""CREATE TRIGGER search_docs_ai AFTER INSERT ON search_docs BEGIN
                       INSERT INTO search_fts(rowid, {columns}) VALUES (new.id, {new}); END""")  # noqa: S608 - constant names
        op.execute(f"""CREATE TRIGGER search_docs_ad AFTER DELETE ON search_docs BEGIN
                       INSERT INTO search_fts(search_fts, rowid, {columns}) VALUES ('delete', old.id, {old}); END""")  # noqa: S608
        op.execute(f"""CREATE TRIGGER search_docs_au AFTER UPDATE OF {columns} ON search_docs BEGIN
                       INSERT INTO search_fts(search_fts, rowid, {columns}) VALUES ('delete', old.id, {old});
                       INSERT INTO search_fts(rowid, {columns}) VALUES (new.id, {new}); END""")  # noqa: S608 - constant names
        return
    # The tokens are the lexemes as they are (no parsing: to_tsvector would split "#猫咪日常" and
    # "zhang_san"), each column under its weight. Weights live on positions, so every token gets
    # position 1 with its column's weight (array_to_tsvector gives no positions, hence no weights).
    # chr(58) is the ':' of 'token':1A, spelled so SQLAlchemy does not read it as a parameter.
    op.execute(r"""CREATE FUNCTION shua_weighted_tokens(tokens text, weight text) RETURNS tsvector
                   LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
                     SELECT coalesce(string_agg('''' || replace(replace(t, E'\\', E'\\\\'), '''', '''''')
                                                || '''' || chr(58) || '1' || weight, ' ')::tsvector, ''::tsvector)
                     FROM unnest(string_to_array(tokens, ' ')) AS t WHERE t <> '' $$""")
    vector = " || ".join(f"shua_weighted_tokens({c}, '{w}')" for c, w in zip(_COLUMNS, "ABCD", strict=True))
    op.execute(f"ALTER TABLE search_docs ADD COLUMN tsv tsvector GENERATED ALWAYS AS ({vector}) STORED")
    op.execute("CREATE INDEX ix_search_docs_tsv ON search_docs USING gin (tsv)")


def _drop_full_text_index() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("search_docs_ai", "search_docs_ad", "search_docs_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS search_fts")
        return
    op.execute("ALTER TABLE search_docs DROP COLUMN tsv")
    op.execute("DROP FUNCTION shua_weighted_tokens(text, text)")
