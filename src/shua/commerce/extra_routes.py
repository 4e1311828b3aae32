"""The shop over HTTP, second part: photos (uploaded, then attached to a product, a review or an
after-sales claim; served only to who may see them), buyer questions (商品问答), shipping
templates (运费模板) and a shop's public storefront with its score."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Response, UploadFile, status
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy.ext.asyncio import AsyncSession

from shua.commerce import photos, questions, score, shipping, shops
from shua.commerce.errors import PhotoNotFound, ShopNotFound
from shua.commerce.models import OPEN, PHOTO_PURPOSES, Question, Shop
from shua.commerce.routes import (
    PROBLEMS,
    ProductRead,
    ShippingRead,
    ShopRead,
    product_read_of,
    shipping_read,
    shop_read,
)
from shua.core.errors import BodyTooLarge
from shua.core.ids import ID
from shua.core.text import Line, Paragraph
from shua.web.deps import DB, CurrentAuth, MaybeAuth, RuntimeDep
from shua.web.media import access_checked_photo

router = APIRouter(prefix="/api/v1", tags=["shop"])
media_router = APIRouter(tags=["shop"])


class PhotoRead(BaseModel):
    id: ID
    url: str


@router.post("/shop/photos", status_code=status.HTTP_201_CREATED, responses=PROBLEMS)
async def upload_photo(
    auth: CurrentAuth, db: DB, runtime: RuntimeDep,
    file: Annotated[UploadFile, File(description="JPEG, PNG, WebP or GIF")],
    purpose: Annotated[Literal[PHOTO_PURPOSES], Form()],  # type: ignore[valid-type]
) -> PhotoRead:
    """Upload a photo for a product (`product`), a review (`review`) or an after-sales claim
    (`after_sale`), then list its id when saving that; an unattached photo is deleted after a day."""
    limit = runtime.settings.max_daily_photo_bytes
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise BodyTooLarge(limit=limit)
    photo = await photos.upload(db, runtime.storage, owner_id=auth.user.id, purpose=purpose, data=data)
    return PhotoRead(id=photo.id, url=photos.url_of(photo.id))


@media_router.get("/media/shop/{photo_id}.jpg", response_class=Response, responses=PROBLEMS)
async def read_photo(photo_id: ID, auth: MaybeAuth, db: DB, runtime: RuntimeDep) -> Response:
    """A shop photo: a product's or a review's for anyone, an after-sales claim's for its buyer,
    the shop and operators, an unattached one for its uploader (checked on every request)."""
    photo = await photos.readable(db, viewer_id=auth.user.id if auth else None,
                                  is_admin=bool(auth and auth.user.is_admin), photo_id=photo_id)
    public = photo.attached_to is not None and photo.purpose != "after_sale"
    return await access_checked_photo(runtime.storage, photo.key, missing=PhotoNotFound(),
                                      cache="public, max-age=86400" if public else "private, max-age=300")


class QuestionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question: Line(200, min_length=2)  # type: ignore[valid-type]


class AnswerCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    answer: Annotated[Paragraph(500), StringConstraints(min_length=1)]  # type: ignore[valid-type]


class QuestionRead(BaseModel):
    id: ID
    product_id: ID
    question: str
    answer: str | None
    mine: bool
    created_at: datetime
    answered_at: datetime | None


def question_read(q: Question, viewer_id: int | None) -> QuestionRead:
    return QuestionRead(id=q.id, product_id=q.product_id, question=q.question, answer=q.answer,
                        mine=viewer_id == q.asker_id, created_at=q.created_at, answered_at=q.answered_at)


@router.post("/products/{product_id}/questions", status_code=status.HTTP_201_CREATED, responses=PROBLEMS)
async def ask_question(product_id: ID, body: QuestionCreate, auth: CurrentAuth, db: DB) -> QuestionRead:
    """Ask the shop about a product (shown to others once answered)."""
    row = await questions.ask(db, asker_id=auth.user.id, product_id=product_id, question=body.question)
    return question_read(row, auth.user.id)


@router.get("/products/{product_id}/questions", responses=PROBLEMS)
async def product_questions(product_id: ID, auth: MaybeAuth, db: DB) -> list[QuestionRead]:
    """Answered questions, newest first, and your own still waiting."""
    await shops.product(db, product_id=product_id)  # 404 for no such product
    viewer_id = auth.user.id if auth else None
    return [question_read(q, viewer_id) for q in await questions.of_product(db, product_id=product_id,
                                                                              viewer_id=viewer_id)]


@router.get("/shops/mine/questions", responses=PROBLEMS)
async def waiting_questions(auth: CurrentAuth, db: DB) -> list[QuestionRead]:
    """Your shop's unanswered questions, the longest waiting first."""
    shop = await shops.shop_of(db, owner_id=auth.user.id)
    return [question_read(q, auth.user.id) for q in await questions.waiting_for(db, shop_id=shop.id)]


@router.post("/questions/{question_id}/answer", responses=PROBLEMS)
async def answer_question(question_id: ID, body: AnswerCreate, auth: CurrentAuth, db: DB) -> QuestionRead:
    """Answer a question about one of your products (once)."""
    return question_read(await questions.answer(db, owner_id=auth.user.id, question_id=question_id,
                                                text=body.answer), auth.user.id)


class ShippingTemplateCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Line(30, min_length=1)  # type: ignore[valid-type]
    fee: int = Field(ge=0, le=100_000_00, description="Fen per order")
    free_over: int | None = Field(default=None, gt=0, le=10**10, description="Goods total (fen) that ships free")
    excluded_regions: list[Line(20, min_length=1)] = Field(  # type: ignore[valid-type]
        default=[], max_length=40, description="Regions not delivered to, matched at the start of an address's "
                                               "region (\"新疆\", \"西藏\")")


@router.post("/shops/mine/shipping-templates", status_code=status.HTTP_201_CREATED, responses=PROBLEMS)
async def add_shipping_template(body: ShippingTemplateCreate, auth: CurrentAuth, db: DB) -> ShippingRead:
    """A shipping rule (运费模板) for your products: a fee per order, free from a goods total, and
    regions you do not deliver to."""
    shop = await shops.shop_of(db, owner_id=auth.user.id)
    row = await shipping.add(db, shop=shop, name=body.name, fee=body.fee, free_over=body.free_over,
                             excluded_regions=body.excluded_regions)
    return shipping_read(row)


@router.get("/shops/mine/shipping-templates", responses=PROBLEMS)
async def list_shipping_templates(auth: CurrentAuth, db: DB) -> list[ShippingRead]:
    shop = await shops.shop_of(db, owner_id=auth.user.id)
    return [shipping_read(t) for t in await shipping.of_shop(db, shop_id=shop.id)]


class ScoreRead(BaseModel):
    score: float = Field(description="体验分, out of 5")
    reviews: float | None = Field(description="Average stars; null: none yet (counted as neutral)")
    shipping: float | None = Field(description="0–5 for paid → shipped time")
    after_sales: float | None = Field(description="0–5 for after-sales answer time")
    service: float | None = Field(description="0–5 for answering buyers' questions")


class StorefrontRead(BaseModel):
    shop: ShopRead
    score: ScoreRead
    products: list[ProductRead] = Field(description="On sale, newest first")


async def storefront(db: AsyncSession, *, shop_id: object, viewer_id: int | None) -> StorefrontRead:
    """A shop's public page: open shops for everyone, a pending or rejected one for its owner only."""
    found = await db.get(Shop, shop_id) if isinstance(shop_id, int) else None
    if found is None or (found.status != OPEN and found.owner_id != viewer_id):
        raise ShopNotFound()
    rated = await score.of_shop(db, shop_id=found.id)
    listed = [await product_read_of(db, p, found, skus)
              for p, skus in await shops.products_of(db, shop_id=found.id, on_sale_only=True) if skus]
    return StorefrontRead(shop=shop_read(found), products=listed, score=ScoreRead(
        score=rated.score, reviews=rated.reviews, shipping=rated.shipping, after_sales=rated.after_sales,
        service=rated.service))


@router.get("/shops/{shop_id}", responses=PROBLEMS)
async def read_shop(shop_id: ID, auth: MaybeAuth, db: DB) -> StorefrontRead:
    """A shop's storefront: who it is, its 体验分 and what it sells."""
    return await storefront(db, shop_id=shop_id, viewer_id=auth.user.id if auth else None)
