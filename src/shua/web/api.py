"""Every router of the app, in one place."""

from __future__ import annotations

from fastapi import FastAPI

from shua.accounts import routes as accounts
from shua.commerce import extra_routes as commerce_extra
from shua.commerce import routes as commerce
from shua.feed import events_routes as feed_events
from shua.feed import experiments_routes as experiments
from shua.feed import routes as feed
from shua.media import routes as uploads
from shua.payments import admin_routes as payments_admin
from shua.payments import intent_routes as payments
from shua.payments import routes as wallet
from shua.search import routes as search
from shua.social import engagement_routes as engagement
from shua.social import messaging_routes as messages
from shua.social import moments_routes as moments
from shua.social import routes as social
from shua.web import media, ops, pages, payments_pages, search_pages, shop_pages, social_pages


def include_routers(app: FastAPI) -> None:
    app.include_router(ops.router)
    app.include_router(accounts.router)
    app.include_router(accounts.admin)
    app.include_router(uploads.router)
    app.include_router(uploads.videos_router)
    app.include_router(uploads.admin_router)
    app.include_router(uploads.playback_router)
    app.include_router(feed.router)
    app.include_router(feed_events.router)
    app.include_router(experiments.admin)
    app.include_router(social.router)
    app.include_router(social.admin)
    app.include_router(moments.router)
    app.include_router(moments.media_router)
    app.include_router(engagement.router)
    app.include_router(messages.router)
    app.include_router(search.router)
    app.include_router(search.admin)
    app.include_router(wallet.router)
    app.include_router(payments.router)
    app.include_router(payments_admin.admin)
    app.include_router(commerce.router)
    app.include_router(commerce.admin)
    app.include_router(commerce.gmv_admin)
    app.include_router(commerce_extra.router)
    app.include_router(commerce_extra.media_router)
    app.include_router(media.router)
    app.include_router(social_pages.router)
    app.include_router(search_pages.router)
    app.include_router(payments_pages.router)
    app.include_router(shop_pages.router)
    app.include_router(pages.router)
