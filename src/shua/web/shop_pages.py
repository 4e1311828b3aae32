"""The shop's pages, first slice: a product page with its SKUs and 立即购买, the buyer's and the
seller's order lists, and 我的小店 (open a shop, list products)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from shua.commerce import addresses, after_sales, cart, carts, gmv, orders, questions, reviews, score, shipping, shops
from shua.commerce.errors import ProductNotFound, ShopNotFound
from shua.commerce.extra_routes import question_read, storefront
from shua.commerce.logistics import CARRIERS
from shua.commerce.routes import (
    address_read,
    after_sale_reads,
    order_read,
    product_read_of,
    review_reads,
    shipping_read,
)
from shua.core import clock
from shua.core.ids import parse_id
from shua.web.deps import get_runtime
from shua.web.pages import current_viewer, error_page, login_redirect, pick_locale, render

router = APIRouter(include_in_schema=False)


@router.get("/p/{product_id}", response_class=HTMLResponse)
async def show_product(request: Request, product_id: str,
                       v: Annotated[str | None, Query(max_length=20, description="the video it was found on")] = None,
                       ) -> Response:
    viewer = await current_viewer(request)
    locale = pick_locale(request, viewer)
    async with get_runtime(request).database.transaction(write=False) as db:
        try:
            number = parse_id(product_id)
            product, shop, skus = await shops.product(db, product_id=number)
        except ProductNotFound:
            return error_page(request, viewer, locale, status=404, kind="notfound.page", icon="search")
        book = [address_read(a) for a in await addresses.list_of(db, user_id=viewer.me.id)] if viewer else []
        rating, latest = await reviews.of_product(db, product_id=product.id)
        shown_reviews = await review_reads(db, latest)
        experience = await score.of_shop(db, shop_id=shop.id)
        asked = [question_read(q, viewer.me.id if viewer else None) for q in await questions.of_product(
            db, product_id=product.id, viewer_id=viewer.me.id if viewer else None)]
        shown = await product_read_of(db, product, shop, skus)
    own = viewer is not None and viewer.me.id == shop.owner_id
    if product.status != "on_sale" and not own:
        return error_page(request, viewer, locale, status=404, kind="notfound.page", icon="search")
    return render(request, "product.html", viewer=viewer, locale=locale, title="product.title", tab=None,
                  product=shown, own=own, addresses=book, rating=rating, latest=shown_reviews,
                  experience=experience, questions=asked,
                  video_id=parse_id(v))


@router.get("/go/{video_id}")
async def go_out(request: Request, video_id: str) -> Response:
    """A tap on a video's link out to another store: counted (never as GMV), then away."""
    viewer = await current_viewer(request)
    try:
        async with get_runtime(request).database.transaction() as db:
            url = await carts.click_out(db, video_id=parse_id(video_id), user_id=viewer.me.id if viewer else None)
    except carts.CartNotFound:
        return error_page(request, viewer, pick_locale(request, viewer), status=404, kind="notfound.page",
                          icon="search")
    return RedirectResponse(url, status_code=302)


@router.get("/orders", response_class=HTMLResponse)
async def show_orders(request: Request, role: Annotated[str, Query(max_length=10)] = "buyer") -> Response:
    viewer = await current_viewer(request)
    if viewer is None:
        return login_redirect(request)
    chosen = "seller" if role == "seller" else "buyer"
    async with get_runtime(request).database.transaction(write=False) as db:
        found = [await order_read(db, o) for o in await orders.list_orders(db, user_id=viewer.me.id, role=chosen,
                                                                            limit=50)]
    return render(request, "orders.html", viewer=viewer, locale=pick_locale(request, viewer), title="orders.title",
                  tab="me", orders=found, role=chosen, carriers=CARRIERS)


@router.get("/cart", response_class=HTMLResponse)
async def show_cart(request: Request) -> Response:
    viewer = await current_viewer(request)
    if viewer is None:
        return login_redirect(request)
    async with get_runtime(request).database.transaction(write=False) as db:
        found = await cart.lines(db, user_id=viewer.me.id)
        book = [address_read(a) for a in await addresses.list_of(db, user_id=viewer.me.id)]
        rules = await shipping.templates_of(db, [line.product for line in found])
    groups: dict[str, list[dict[str, object]]] = {}
    for line in found:
        groups.setdefault(line.shop.name, []).append({
            "product_id": line.product.id, "sku_id": line.sku.id, "title": line.product.title,
            "sku_name": line.sku.name, "price": line.sku.price, "stock": line.sku.stock, "quantity": line.quantity,
            "subtotal": line.sku.price * line.quantity,
            "template": rules.get(line.product.shipping_template_id or 0)})
    shops_in_cart = []
    for name, lines in groups.items():  # one order per shop: its goods, and its shipping as checkout charges it
        goods = sum(int(str(line["subtotal"])) for line in lines)
        fee = shipping.order_fee([line["template"] for line in lines], goods)  # type: ignore[misc]
        shops_in_cart.append({"name": name, "lines": lines, "goods": goods, "shipping": fee, "total": goods + fee})
    return render(request, "cart.html", viewer=viewer, locale=pick_locale(request, viewer), title="cart.heading",
                  tab="me", groups=shops_in_cart, addresses=book)


@router.get("/s/{shop_id}", response_class=HTMLResponse)
async def show_storefront(request: Request, shop_id: str) -> Response:
    """A shop's storefront: its name, 体验分 with its parts, and what it sells."""
    viewer = await current_viewer(request)
    locale = pick_locale(request, viewer)
    async with get_runtime(request).database.transaction(write=False) as db:
        try:
            page = await storefront(db, shop_id=parse_id(shop_id), viewer_id=viewer.me.id if viewer else None)
        except ShopNotFound:
            return error_page(request, viewer, locale, status=404, kind="notfound.page", icon="search")
    return render(request, "storefront.html", viewer=viewer, locale=locale, title="store.title", tab=None, page=page)


@router.get("/addresses", response_class=HTMLResponse)
async def show_addresses(request: Request) -> Response:
    """The buyer's address book."""
    viewer = await current_viewer(request)
    if viewer is None:
        return login_redirect(request)
    async with get_runtime(request).database.transaction(write=False) as db:
        book = [address_read(a) for a in await addresses.list_of(db, user_id=viewer.me.id)]
    return render(request, "addresses.html", viewer=viewer, locale=pick_locale(request, viewer), title="address.book",
                  tab="me", addresses=book)


@router.get("/shop", response_class=HTMLResponse)
async def show_my_shop(request: Request) -> Response:
    viewer = await current_viewer(request)
    if viewer is None:
        return login_redirect(request)
    async with get_runtime(request).database.transaction(write=False) as db:
        try:
            shop = await shops.shop_of(db, owner_id=viewer.me.id)
        except ShopNotFound:
            shop = None
        listed = [await product_read_of(db, p, shop, skus)
                  for p, skus in await shops.products_of(db, shop_id=shop.id)] \
            if shop else []
        waiting = [question_read(q, viewer.me.id) for q in await questions.waiting_for(db, shop_id=shop.id)] \
            if shop else []
        titles = {p.id: p.title for p in listed}
        rules = [shipping_read(t) for t in await shipping.of_shop(db, shop_id=shop.id)] if shop else []
    return render(request, "shop.html", viewer=viewer, locale=pick_locale(request, viewer), title="shop.title",
                  tab="me", shop=shop, products=listed, questions=waiting, titles=titles, templates=rules)


@router.get("/admin/shop", response_class=HTMLResponse)
async def show_gmv(request: Request, days: Annotated[int, Query(ge=1, le=366)] = 30) -> Response:
    """The operators' GMV dashboard: closed-loop sales, link-out taps apart."""
    viewer = await current_viewer(request)
    if viewer is None:
        return login_redirect(request)
    locale = pick_locale(request, viewer)
    if not viewer.is_admin:
        return error_page(request, viewer, locale, status=403, kind="forbidden.admin", icon="lock")
    until = clock.utcnow()
    async with get_runtime(request).database.transaction(write=False) as db:
        found = await gmv.report(db, since=until - timedelta(days=days), until=until)
        disputes = await after_sale_reads(db, await after_sales.in_arbitration(db))
    return render(request, "admin_shop.html", viewer=viewer, locale=locale, title="admin_shop.title", tab="me",
                  report=found, days=days, disputes=disputes)
