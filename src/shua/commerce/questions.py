"""Buyer questions (商品问答): anyone signed in asks about a product, the shop answers. Answered
questions are public on the product page; an unanswered one only for the one who asked and the
shop. How fast a shop answers is part of its score (score.py)."""

from __future__ import annotations

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from shua.commerce.errors import ProductNotFound
from shua.commerce.models import Product, Question, Shop
from shua.core import clock, jobs
from shua.core.errors import Conflict, NotFound, RateLimited
from shua.core.ids import new_id

OPEN_PER_ASKER = 5  # unanswered questions one person may have on one product


class QuestionNotFound(NotFound):
    code = "commerce.question_not_found"
    title = "No such question for your shop"


class AlreadyAnswered(Conflict):
    code = "commerce.already_answered"
    title = "This question has an answer already"


class TooManyQuestions(RateLimited):
    code = "commerce.too_many_questions"
    title = "Wait for the shop to answer your questions first"


async def ask(db: AsyncSession, *, asker_id: int, product_id: object, question: str) -> Question:
    product = await db.get(Product, product_id) if isinstance(product_id, int) else None
    if product is None or product.status != "on_sale":
        raise ProductNotFound()
    waiting = await db.scalar(select(func.count()).select_from(Question).where(
        Question.product_id == product.id, Question.asker_id == asker_id, Question.answered_at.is_(None)))
    if (waiting or 0) >= OPEN_PER_ASKER:
        raise TooManyQuestions(retry_after=3600)
    row = Question(id=new_id(), product_id=product.id, shop_id=product.shop_id, asker_id=asker_id,
                   question=question, created_at=clock.utcnow())
    db.add(row)
    await db.flush()
    await jobs.publish(db, "commerce.question_asked", {"question_id": str(row.id), "product_id": str(product.id),
                                                       "shop_id": str(product.shop_id)})
    return row


async def answer(db: AsyncSession, *, owner_id: int, question_id: object, text: str) -> Question:
    """The shop's owner answers once (an answer is what other buyers rely on: it is not edited)."""
    row = await db.get(Question, question_id) if isinstance(question_id, int) else None
    shop = await db.get(Shop, row.shop_id) if row else None
    if row is None or shop is None or shop.owner_id != owner_id:
        raise QuestionNotFound()
    if row.answered_at is not None:
        raise AlreadyAnswered()
    row.answer, row.answered_at = text, clock.utcnow()
    await jobs.publish(db, "commerce.question_answered", {"question_id": str(row.id), "asker_id": str(row.asker_id),
                                                          "product_id": str(row.product_id)})
    return row


async def of_product(db: AsyncSession, *, product_id: int, viewer_id: int | None, limit: int = 20) -> list[Question]:
    """Answered questions, newest first, and the viewer's own still waiting."""
    shown: ColumnElement[bool] = Question.answered_at.is_not(None)
    if viewer_id is not None:
        shown = or_(shown, Question.asker_id == viewer_id)
    return list((await db.scalars(select(Question).where(Question.product_id == product_id, shown)
                                  .order_by(Question.id.desc()).limit(limit))).all())


async def waiting_for(db: AsyncSession, *, shop_id: int, limit: int = 50) -> list[Question]:
    """The shop's unanswered questions, oldest first (the one waiting longest on top)."""
    return list((await db.scalars(select(Question).where(Question.shop_id == shop_id, Question.answered_at.is_(None))
                                  .order_by(Question.id).limit(limit))).all())
