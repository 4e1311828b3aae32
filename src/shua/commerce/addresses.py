"""The buyer's address book (收货地址): a default address, and the snapshot an order keeps (an
edited address never changes where a parcel already went)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shua.commerce.errors import AddressNotFound
from shua.commerce.models import Address
from shua.core import clock
from shua.core.errors import Conflict
from shua.core.ids import new_id

MAX_ADDRESSES = 20


class TooManyAddresses(Conflict):
    code = "commerce.too_many_addresses"
    title = "An address book holds 20 addresses"


async def add(db: AsyncSession, *, user_id: int, name: str, phone: str, region: str, detail: str,
              default: bool = False) -> Address:
    mine = await list_of(db, user_id=user_id)
    if len(mine) >= MAX_ADDRESSES:
        raise TooManyAddresses()
    if default or not mine:
        await db.execute(update(Address).where(Address.user_id == user_id).values(is_default=False))
    address = Address(id=new_id(), user_id=user_id, name=name, phone=phone, region=region, detail=detail,
                      is_default=default or not mine, created_at=clock.utcnow())
    db.add(address)
    await db.flush()
    return address


async def list_of(db: AsyncSession, *, user_id: int) -> list[Address]:
    return list((await db.scalars(select(Address).where(Address.user_id == user_id)
                                  .order_by(Address.is_default.desc(), Address.id))).all())


async def own(db: AsyncSession, *, user_id: int, address_id: object) -> Address:
    address = await db.get(Address, address_id) if isinstance(address_id, int) else None
    if address is None or address.user_id != user_id:
        raise AddressNotFound()
    return address


async def remove(db: AsyncSession, *, user_id: int, address_id: object) -> None:
    """Delete an address; when it was the default, the oldest one left becomes the default."""
    address = await own(db, user_id=user_id, address_id=address_id)
    was_default = address.is_default
    await db.delete(address)
    await db.flush()
    left = await list_of(db, user_id=user_id)
    if was_default and left:
        await set_default(db, user_id=user_id, address_id=min(a.id for a in left))


async def set_default(db: AsyncSession, *, user_id: int, address_id: object) -> Address:
    """Make one address the default (the one checkout picks first); the others stop being it."""
    address = await own(db, user_id=user_id, address_id=address_id)
    await db.execute(update(Address).where(Address.user_id == user_id, Address.id != address.id)
                     .values(is_default=False))
    address.is_default = True
    return address


def snapshot(address: Address) -> dict[str, Any]:
    return {"name": address.name, "phone": address.phone, "region": address.region, "detail": address.detail}
