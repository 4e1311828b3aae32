"""The yellow cart on a video (小黄车): its creator puts one product on it — their own shop's, or
another shop's to earn its affiliate commission (带货) — or a link out to another store, whose
taps are counted apart from GMV."""

from __future__ import annotations

from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from shua.commerce.errors import ProductNotFound
from shua.commerce.models import ExternalClick, Product, VideoCart
from shua.core import clock, jobs
from shua.core.errors import InvalidRequest, NotFound
from shua.core.ids import new_id
from shua.media import videos


class CartNotFound(NotFound):
    code = "commerce.cart_not_found"
    title = "This video has no cart"


class LinkInvalid(InvalidRequest):
    code = "commerce.link_invalid"
    title = "A link out must be an http(s) address"


def check_link(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or len(url) > 500:
        raise LinkInvalid()
    return url


async def attach(db: AsyncSession, *, creator_id: int, video_id: object, product_id: int | None = None,
                 external_url: str | None = None, external_title: str | None = None) -> VideoCart:
    """Put a product (or a link out) on your video's cart, replacing what was there."""
    video = await videos.own_video(db, owner_id=creator_id, video_id=video_id)
    if (product_id is None) == (external_url is None):
        raise InvalidRequest(reason="a product or a link, one of them")
    if product_id is not None:
        product = await db.get(Product, product_id)
        if product is None or product.status != "on_sale":
            raise ProductNotFound()
    else:
        check_link(external_url or "")
    cart = await db.get(VideoCart, video.id)
    if cart is None:
        cart = VideoCart(video_id=video.id, creator_id=creator_id, created_at=clock.utcnow())
        db.add(cart)
    cart.product_id, cart.external_url, cart.external_title = product_id, external_url, external_title
    await db.flush()
    await jobs.publish(db, "commerce.cart_attached", {"video_id": str(video.id), "product_id": str(product_id)
                                                      if product_id else None})
    return cart


async def detach(db: AsyncSession, *, creator_id: int, video_id: object) -> None:
    video = await videos.own_video(db, owner_id=creator_id, video_id=video_id)
    cart = await db.get(VideoCart, video.id)
    if cart is not None:
        await db.delete(cart)


async def of_video(db: AsyncSession, *, video_id: int) -> VideoCart | None:
    return await db.get(VideoCart, video_id)


async def click_out(db: AsyncSession, *, video_id: object, user_id: int | None) -> str:
    """Count a tap on the video's link out; where to send the viewer."""
    cart = await db.get(VideoCart, video_id) if isinstance(video_id, int) else None
    if cart is None or not cart.external_url:
        raise CartNotFound()
    db.add(ExternalClick(id=new_id(), video_id=cart.video_id, user_id=user_id, at=clock.utcnow()))
    return cart.external_url
