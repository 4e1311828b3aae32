"""Matching a query against the documents: SQLite FTS5 with bm25, or PostgreSQL full-text search
with a GIN index, over the same token columns (see the 0010 migration).

A query is an OR of its tokens, each against its own column (hashtags against `tags`, words
against `words`, …): a strict AND returns nothing for most multi-word Chinese queries, and
bm25 (ts_rank) already scores a document higher for every further token it matches. The service
then boosts documents that match every part of the query.

Tokens are quoted into the engines' query syntax, never pasted: FTS syntax (`"`, `*`, `NEAR`,
`-`, `:`) and SQL in a query are text to be searched for.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Select, String, bindparam, column, func, literal_column, select, table
from sqlalchemy.dialects.postgresql import TSQUERY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from shua.search.analysis import Analysed
from shua.search.models import SearchDoc

# Column weights, best evidence first: an exact hashtag or handle, a word, pinyin, a bigram.
WEIGHTS = {"tags": 4.0, "words": 2.0, "pinyin": 1.0, "grams": 1.0}
# PostgreSQL's ts_rank takes weights for D, C, B, A (grams, pinyin, words, tags), at most 1.0.
_PG_WEIGHTS = "{" + ",".join(str(WEIGHTS[c] / 4.0) for c in ("grams", "pinyin", "words", "tags")) + "}"
_PG_LABELS = {"tags": "A", "words": "B", "pinyin": "C", "grams": "D"}


class TSQueryParameter(TSQUERY):
    """A query bound as a tsquery (`$1::TSQUERY`), not text cast to one. With the cast in the
    statement, a plan made for any tsquery (PostgreSQL's generic plan, used after five runs of a
    prepared statement) parsed the text again for every matching row, in the match and in
    ts_rank: 58 ms instead of 9 for 可爱 at a million documents (EXPLAIN ANALYZE). Bound as a
    tsquery it is parsed once, and the generic plan runs as fast as one made for the query."""

    render_bind_cast = True
    cache_ok = True


class Hit(NamedTuple):
    """One matching document. A tuple: a search builds a hundred of them, and a frozen
    dataclass took four times as long to build."""
    doc_id: int
    relevance: float  # higher is better; comparable within one query only
    owner_id: int | None
    created_at: datetime
    popularity: int
    text: str  # every token of the document, space-padded: " #猫咪 小猫 … ", to tell which query parts it matched

    def has(self, token: str) -> bool:
        return f" {token} " in self.text


def query_columns(query: Analysed) -> dict[str, list[str]]:
    """The query's tokens by the column each is matched against."""
    columns = {"tags": query.tags, "words": query.words, "pinyin": query.pinyin, "grams": query.bigrams}
    return {name: tokens for name, tokens in columns.items() if tokens}


def fts5_query(query: Analysed) -> str:
    """`tags : ("#猫咪") OR words : ("小猫" OR "cat") …`, each token a quoted string."""
    def quoted(token: str) -> str:
        return '"' + token.replace('"', '""') + '"'

    return " OR ".join(f"{name} : ({' OR '.join(quoted(t) for t in tokens)})"
                       for name, tokens in query_columns(query).items())


def pg_tsquery(query: Analysed) -> str:
    """`'#猫咪':A | '小猫':B | …`: every token a quoted lexeme restricted to its column's weight."""
    def quoted(token: str) -> str:
        return "'" + token.replace("\\", "\\\\").replace("'", "''") + "'"

    return " | ".join(f"{quoted(t)}:{_PG_LABELS[name]}" for name, tokens in query_columns(query).items()
                      for t in tokens)


def _columns(with_text: bool = True) -> list[Any]:
    columns = [SearchDoc.id, SearchDoc.owner_id, SearchDoc.created_at, SearchDoc.popularity]
    return columns + [SearchDoc.tags, SearchDoc.words, SearchDoc.pinyin, SearchDoc.grams] if with_text else columns


_FTS = table("search_fts", column("rowid"))


def matching(is_sqlite: bool, query: Analysed, *, with_text: bool = True) -> tuple[Select[Any], Any]:
    """A select of the documents matching `query` and its relevance expression (higher better);
    callers add their filters, order and limit."""
    if is_sqlite:
        weights = ", ".join(str(WEIGHTS[c]) for c in ("tags", "words", "pinyin", "grams"))
        relevance: Any = literal_column(f"-bm25(search_fts, {weights})")
        stmt = (select(*_columns(with_text), relevance.label("relevance"))
                .select_from(_FTS.join(SearchDoc.__table__, SearchDoc.id == _FTS.c.rowid))
                .where(literal_column("search_fts").op("MATCH")(bindparam("fts", fts5_query(query)))))
        return stmt, relevance
    tsv: Any = literal_column("search_docs.tsv")
    tsquery = bindparam("tsq", pg_tsquery(query), type_=TSQueryParameter)
    # Normalisation 1 divides by 1 + log(document length), as bm25 favours the shorter document.
    relevance = func.ts_rank(literal_column(f"'{_PG_WEIGHTS}'"), tsv, tsquery, 1)
    stmt = select(*_columns(with_text), relevance.label("relevance")).where(tsv.op("@@")(tsquery))
    return stmt, relevance


def best(is_sqlite: bool, *, limit: int, with_text: bool = True) -> tuple[Select[Any], Any]:
    """The `limit` best matches by relevance alone, then their documents: the engine's own fast
    path (FTS5 ranks inside its index, PostgreSQL ranks off the GIN matches, exactly the raw
    query) with the join to the documents done for those rows only. Callers add filters that
    drop few rows (visibility, kind) to the outer select and order by the relevance it returns;
    filters that drop many (a period, a length) belong on `matching`, where they apply first.
    The query is a parameter (`match_parameters`), so a caller can build this once and keep it."""
    if is_sqlite:
        weights = ", ".join(str(WEIGHTS[c]) for c in ("tags", "words", "pinyin", "grams"))
        bm25: Any = literal_column(f"bm25(search_fts, {weights})")  # lower is better; FTS5 sorts it fastest ascending
        inner = (select(_FTS.c.rowid.label("doc_id"), (-bm25).label("score")).select_from(_FTS)
                 .where(literal_column("search_fts").op("MATCH")(bindparam("fts", type_=String)))
                 .order_by(bm25).limit(limit).subquery("top"))
    else:
        tsv: Any = literal_column("search_docs.tsv")
        tsquery = bindparam("tsq", type_=TSQueryParameter)
        score = func.ts_rank(literal_column(f"'{_PG_WEIGHTS}'"), tsv, tsquery, 1)
        inner = (select(SearchDoc.id.label("doc_id"), score.label("score")).where(tsv.op("@@")(tsquery))
                 .order_by(score.desc()).limit(limit).subquery("top"))
    stmt = (select(*_columns(with_text), inner.c.score.label("relevance"))
            .select_from(inner.join(SearchDoc.__table__, SearchDoc.id == inner.c.doc_id)))
    return stmt, inner.c.score


def match_parameters(is_sqlite: bool, query: Analysed) -> dict[str, str]:
    """The values of `best`'s query parameter for `query`."""
    return {"fts": fts5_query(query)} if is_sqlite else {"tsq": pg_tsquery(query)}


async def hits(db: AsyncSession, stmt: Select[Any], parameters: dict[str, Any] | None = None, *,
               kept: bool = False) -> list[Hit]:
    """The matching documents `stmt` selects (see `_columns` for its columns). `kept`: the caller
    builds the statement once and reuses it (a cached shape with its values as parameters); on
    PostgreSQL its SQL is then compiled once and run as such on the driver."""
    # One hop into SQLAlchemy's sync core, on the session's connection: the ORM session's
    # execute cost ~0.6 ms more a search on PostgreSQL (bench/search.py), for rows that are
    # plain columns anyway.
    rows = await db.run_sync(_rows, stmt, parameters or {}, kept)
    # Columns by position (see `_columns`): id, owner, created, popularity, [4 token columns,] relevance.
    if rows and len(rows[0]) > 5:
        return [Hit(row[0], float(row[8] or 0.0), row[1], row[2], int(row[3] or 0),
                    f" {row[4]} {row[5]} {row[6]} {row[7]} ") for row in rows]
    return [Hit(row[0], float(row[4] or 0.0), row[1], row[2], int(row[3] or 0), "") for row in rows]


class _DriverSQL(NamedTuple):
    statement: Select[Any]  # held, so its id is not reused while it is cached
    sql: str
    names: tuple[str, ...]  # the parameters in the order the SQL numbers them
    values: dict[str, Any]  # the statement's own values (kind, limits, …)


_driver_sql: dict[int, _DriverSQL] = {}


def _rows(session: Session, stmt: Select[Any], parameters: dict[str, Any], kept: bool) -> Sequence[Any]:
    session.flush()  # as the ORM's execute would: a document added in this transaction is found
    connection = session.connection()
    if not kept or connection.dialect.name == "sqlite":
        return connection.execute(stmt, parameters).all()
    # Executing a Select makes SQLAlchemy walk the whole statement for its cache key and run
    # every row through the columns' result processors: ~0.4 ms of a ~5 ms search at a million
    # documents (bench/search.py). The driver returns these columns as they are wanted (ints,
    # aware datetimes, text, a float), as the ledger's transfer statement relies on too.
    compiled = _driver_sql.get(id(stmt))
    if compiled is None:
        form = stmt.compile(dialect=connection.dialect)
        if form.positiontup is None or any(p.expanding for p in form.binds.values()):
            raise ValueError("a kept statement takes scalar or array parameters (not expanding IN lists)")
        compiled = _DriverSQL(stmt, str(form), tuple(form.positiontup), dict(form.params))
        _driver_sql[id(stmt)] = compiled
    values = compiled.values | parameters
    return connection.exec_driver_sql(compiled.sql, tuple(values[name] for name in compiled.names)).all()
