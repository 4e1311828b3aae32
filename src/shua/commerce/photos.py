"""Shop photos: a product's pictures, a review's, an after-sales claim's evidence. A photo is
uploaded first and attached when its product, review or claim is saved, by its uploader only;
who may then see it follows what it is attached to — a product's and a review's photos are
public, a claim's only for its buyer, the shop and operators."""

from __future__ import annotations

import asyncio
import secrets
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shua.commerce.errors import InvalidPhoto, PhotoNotFound, TooManyPhotos
from shua.commerce.models import AFTER_SALE_PHOTO, PRODUCT_PHOTO, REVIEW_PHOTO, AfterSale, Product, Shop, ShopPhoto
from shua.core import clock, jobs
from shua.core.ids import new_id
from shua.core.storage import Storage
from shua.media import images

MOST = {PRODUCT_PHOTO: 9, REVIEW_PHOTO: 6, AFTER_SALE_PHOTO: 6}  # per product, review or claim
PENDING_MOST = 30  # uploaded and not yet attached, per user: enough for a form, not a free file host
EXPIRE_TASK = "commerce.expire_photo"
UNATTACHED_FOR = timedelta(days=1)


async def upload(db: AsyncSession, storage: Storage, *, owner_id: int, purpose: str, data: bytes) -> ShopPhoto:
    """Store a re-encoded copy of the photo for `owner_id` to attach within a day."""
    pending = await db.scalar(select(func.count()).select_from(ShopPhoto).where(
        ShopPhoto.owner_id == owner_id, ShopPhoto.attached_to.is_(None)))
    if (pending or 0) >= PENDING_MOST:
        raise TooManyPhotos(most=PENDING_MOST)
    try:
        jpeg = await asyncio.to_thread(images.normalise_photo, data)
    except images.NotAPhoto as exc:
        raise InvalidPhoto() from exc
    photo = ShopPhoto(id=new_id(), owner_id=owner_id, purpose=purpose, created_at=clock.utcnow())
    photo.key = f"shop/{purpose}/{owner_id}/{photo.id}-{secrets.token_hex(8)}.jpg"
    await storage.put(photo.key, jpeg, content_type="image/jpeg")
    db.add(photo)
    await jobs.enqueue(db, EXPIRE_TASK, {"photo_id": str(photo.id)}, run_at=photo.created_at + UNATTACHED_FOR)
    return photo


async def attach(db: AsyncSession, *, owner_id: int, purpose: str, target_id: int, photo_ids: list[int]) -> None:
    """Make `photo_ids` (in that order) the photos of the target. Each must be the caller's own,
    of this purpose, and free or already on this target: a photo never moves between things."""
    wanted = list(dict.fromkeys(photo_ids))
    if len(wanted) > MOST[purpose]:
        raise TooManyPhotos(most=MOST[purpose])
    found = {p.id: p for p in (await db.scalars(select(ShopPhoto).where(ShopPhoto.id.in_(wanted)))).all()} \
        if wanted else {}
    for photo_id in wanted:
        photo = found.get(photo_id)
        if photo is None or photo.owner_id != owner_id or photo.purpose != purpose \
                or photo.attached_to not in (None, target_id):
            raise PhotoNotFound(photo_id=str(photo_id))
    current = (await db.scalars(select(ShopPhoto).where(ShopPhoto.purpose == purpose,
                                                        ShopPhoto.attached_to == target_id))).all()
    for photo in current:
        if photo.id not in found:
            photo.attached_to = None  # taken off: deleted with the unattached ones
            await jobs.enqueue(db, EXPIRE_TASK, {"photo_id": str(photo.id)}, run_at=clock.utcnow())
    for position, photo_id in enumerate(wanted):
        found[photo_id].attached_to = target_id
        found[photo_id].position = position


async def of(db: AsyncSession, *, purpose: str, target_ids: list[int]) -> dict[int, list[int]]:
    """The photo ids of each target, in their order."""
    if not target_ids:
        return {}
    rows = (await db.execute(select(ShopPhoto.attached_to, ShopPhoto.id).where(
        ShopPhoto.purpose == purpose, ShopPhoto.attached_to.in_(set(target_ids)))
        .order_by(ShopPhoto.attached_to, ShopPhoto.position))).all()
    by_target: dict[int, list[int]] = {}
    for target, photo_id in rows:
        by_target.setdefault(int(target or 0), []).append(int(photo_id))
    return by_target


async def readable(db: AsyncSession, *, viewer_id: int | None, is_admin: bool, photo_id: object) -> ShopPhoto:
    """The photo if the viewer may see it, else PhotoNotFound (never "it exists, but not for you")."""
    photo = await db.get(ShopPhoto, photo_id) if isinstance(photo_id, int) else None
    if photo is None:
        raise PhotoNotFound()
    if viewer_id is not None and photo.owner_id == viewer_id:
        return photo
    if photo.attached_to is None:
        raise PhotoNotFound()
    if photo.purpose == PRODUCT_PHOTO:
        if await db.get(Product, photo.attached_to) is not None:
            return photo
    elif photo.purpose == REVIEW_PHOTO:
        return photo  # attached only by a review's own buyer, and reviews are public
    elif photo.purpose == AFTER_SALE_PHOTO:
        claim = await db.get(AfterSale, photo.attached_to)
        shop = await db.get(Shop, claim.shop_id) if claim else None
        if claim is not None and (is_admin or viewer_id in (claim.buyer_id, shop.owner_id if shop else None)):
            return photo
    raise PhotoNotFound()


async def expire(db: AsyncSession, storage: Storage, *, photo_id: int) -> bool:
    """Delete the photo if it is (still) attached to nothing."""
    photo = await db.get(ShopPhoto, photo_id)
    if photo is None or photo.attached_to is not None:
        return False
    await storage.delete(photo.key)
    await db.delete(photo)
    return True


def url_of(photo_id: int) -> str:
    return f"/media/shop/{photo_id}.jpg"
