"""The shop's photos (a product's, a review's, an after-sales claim's: re-encoded, attached only by
their uploader, served only to who may see them), buyer questions and the shop's answers (part of
the score), sanitised product descriptions and a product's return policy."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import httpx2
from PIL import Image
from sqlalchemy import func, select

from shua.commerce.models import Product
from shua.core import clock, jobs
from shua.core.db import Database
from tests.commerce.test_orders import PIN, buyer_with_money, keyed, line, merchant_with, paid_order
from tests.helpers import assert_problem
from tests.media.test_moderation import admin as make_admin
from tests.social.test_graph import User, sign_up
from tests.social.test_moments import photo


async def upload(user: User, purpose: str, data: bytes | None = None) -> httpx2.Response:
    return await user.post("/api/v1/shop/photos", files={"file": ("p.jpg", data or photo(), "image/jpeg")},
                           data={"purpose": purpose})


async def completed_order(client: httpx2.AsyncClient, database: Database) -> tuple[User, User, dict[str, Any]]:
    seller, buyer, order = await paid_order(client, database)
    await seller.post(f"/api/v1/orders/{order['id']}/shipment", json={"carrier": "sf", "tracking_number": "SF0000001"})
    await jobs.drain(database)
    r = await buyer.post(f"/api/v1/orders/{order['id']}/receipt")
    assert r.status_code == 200, r.text
    return seller, buyer, (await buyer.get(f"/api/v1/orders/{order['id']}")).json()


class TestPhotos:
    async def test_a_product_shows_its_photos_in_order_re_encoded(self, client: httpx2.AsyncClient) -> None:
        seller, product = await merchant_with(client)
        first, second = [(await upload(seller, "product", photo(exif=True))).json() for _ in range(2)]
        r = await seller.patch(f"/api/v1/products/{product['id']}", json={"photos": [second["id"], first["id"]]})
        assert r.status_code == 200, r.text
        assert r.json()["photos"] == [second["url"], first["url"]]
        served = await client.get(first["url"])  # anyone, signed in or not
        assert served.status_code == 200 and served.headers["content-type"] == "image/jpeg"
        img = Image.open(io.BytesIO(served.content))
        assert img.format == "JPEG" and not img.getexif()  # no GPS position left
        assert max(img.size) <= 1440
        assert (await client.get(f"/api/v1/products/{product['id']}")).json()["photos"] == [second["url"], first["url"]]
        # Taken off the product: gone for others (and deleted when the job runs).
        await seller.patch(f"/api/v1/products/{product['id']}", json={"photos": [second["id"]]})
        assert (await client.get(first["url"])).status_code == 404

    async def test_bad_files_and_other_peoples_photos_are_refused(self, client: httpx2.AsyncClient) -> None:
        seller, product = await merchant_with(client)
        other = await sign_up(client, "other")
        assert_problem(await upload(seller, "product", b"<svg onload=alert(1)>"), 422, "commerce.invalid_photo")
        assert_problem(await upload(seller, "avatar"), 422, "request.invalid")
        theirs = (await upload(other, "product")).json()
        assert (await client.get(theirs["url"])).status_code == 404  # unattached: its uploader only
        assert (await other.get(theirs["url"])).status_code == 200
        assert_problem(await seller.patch(f"/api/v1/products/{product['id']}", json={"photos": [theirs["id"]]}), 404,
                       "commerce.photo_not_found")
        review_photo = (await upload(seller, "review")).json()
        assert_problem(await seller.patch(f"/api/v1/products/{product['id']}", json={"photos": [review_photo["id"]]}),
                       404, "commerce.photo_not_found")  # a review's photo is not a product's
        assert_problem(await other.patch(f"/api/v1/products/{product['id']}", json={"title": "mine now"}), 404,
                       "commerce.product_not_found")
        many = [(await upload(seller, "product")).json()["id"] for _ in range(10)]
        assert_problem(await seller.patch(f"/api/v1/products/{product['id']}", json={"photos": many}), 422,
                       "request.invalid")
        assert (await client.get(f"/api/v1/products/{product['id']}")).json()["photos"] == []  # nothing changed

    async def test_unattached_photos_are_deleted_after_a_day(self, client: httpx2.AsyncClient,
                                                              database: Database) -> None:
        from shua.commerce.models import ShopPhoto

        seller, product = await merchant_with(client)
        kept, dropped = [(await upload(seller, "product")).json() for _ in range(2)]
        await seller.patch(f"/api/v1/products/{product['id']}", json={"photos": [kept["id"]]})
        clock.travel(86_400 + 60)
        await jobs.drain(database)
        async with database.transaction(write=False) as db:
            left = set((await db.scalars(select(ShopPhoto.id))).all())
        assert left == {int(kept["id"])}
        assert (await seller.get(dropped["url"])).status_code == 404
        assert (await client.get(kept["url"])).status_code == 200

    async def test_review_photos_are_public_and_claim_photos_private(self, client: httpx2.AsyncClient,
                                                                     database: Database) -> None:
        seller, buyer, order = await completed_order(client, database)
        item = order["items"][0]
        shot = (await upload(buyer, "review")).json()
        r = await buyer.post(f"/api/v1/order-items/{item['id']}/review", json={"stars": 4, "photos": [shot["id"]]})
        assert r.status_code == 201 and r.json()["photos"] == [shot["url"]], r.text
        assert (await client.get(f"/api/v1/products/{item['product_id']}/reviews")).json()["items"][0]["photos"] \
            == [shot["url"]]
        assert (await client.get(shot["url"])).status_code == 200
        evidence = (await upload(buyer, "after_sale")).json()
        r = await buyer.post(f"/api/v1/orders/{order['id']}/after-sales",
                             json={"kind": "refund_only", "reason": "damaged", "photos": [evidence["id"]]})
        assert r.status_code == 201 and r.json()["photos"] == [evidence["url"]], r.text
        stranger = await sign_up(client, "stranger")
        root = await make_admin(client, database)
        assert [(await u.get(evidence["url"])).status_code for u in (buyer, seller, root, stranger)] \
            == [200, 200, 200, 404]
        assert (await client.get(evidence["url"])).status_code == 404
        assert (await seller.get(f"/api/v1/orders/{order['id']}")).json()["after_sales"][0]["photos"] \
            == [evidence["url"]]

    async def test_a_user_cannot_pile_up_unattached_photos(self, client: httpx2.AsyncClient) -> None:
        from shua.commerce.photos import PENDING_MOST

        user = await sign_up(client, "hoarder")
        tiny = io.BytesIO()
        Image.new("RGB", (8, 8)).save(tiny, "PNG")
        for _ in range(PENDING_MOST):
            assert (await upload(user, "review", tiny.getvalue())).status_code == 201
        assert_problem(await upload(user, "review", tiny.getvalue()), 422, "commerce.too_many_photos")


class TestDescriptions:
    async def test_html_is_sanitised_to_a_few_bare_tags(self, client: httpx2.AsyncClient) -> None:
        seller, product = await merchant_with(client)  # its description: "<script>alert(1)</script> 不锈钢"
        assert product["description"] == "不锈钢"
        r = await seller.patch(f"/api/v1/products/{product['id']}", json={
            "description": '<p onclick="x()">好用</p><img src=x onerror=alert(1)><a href="javascript:1">链接</a>'
                           '<ul><li><b>加厚</b></li></ul><style>p{}</style> 1 < 2'})
        assert r.json()["description"] == "<p>好用</p>链接<ul><li><b>加厚</b></li></ul> 1 &lt; 2"
        page = await client.get(f"/p/{product['id']}")
        assert "<ul><li><b>加厚</b></li></ul>" in page.text and "onerror" not in page.text


class TestQuestions:
    async def test_ask_answer_and_who_sees_what(self, client: httpx2.AsyncClient) -> None:
        seller, product = await merchant_with(client)
        asker, other = await sign_up(client, "asker"), await sign_up(client, "other")
        url = f"/api/v1/products/{product['id']}/questions"
        r = await asker.post(url, json={"question": "能用电磁炉吗？"})
        assert r.status_code == 201 and r.json()["answer"] is None, r.text
        question = r.json()
        assert [q["id"] for q in (await asker.get(url)).json()] == [question["id"]]  # their own, waiting
        assert (await other.get(url)).json() == []  # not answered yet: not shown to others
        assert [q["question"] for q in (await seller.get("/api/v1/shops/mine/questions")).json()] == ["能用电磁炉吗？"]
        assert_problem(await other.post(f"/api/v1/questions/{question['id']}/answer", json={"answer": "能"}), 404,
                       "commerce.question_not_found")
        assert_problem(await seller.post(f"/api/v1/questions/{question['id']}/answer", json={"answer": "  "}), 422,
                       "request.invalid")
        r = await seller.post(f"/api/v1/questions/{question['id']}/answer", json={"answer": "可以，底部是复合钢"})
        assert r.status_code == 200 and r.json()["answer"] == "可以，底部是复合钢", r.text
        assert_problem(await seller.post(f"/api/v1/questions/{question['id']}/answer", json={"answer": "再答"}), 409,
                       "commerce.already_answered")
        shown = (await client.get(url)).json()
        assert [(q["question"], q["answer"], q["mine"]) for q in shown] \
            == [("能用电磁炉吗？", "可以，底部是复合钢", False)]
        assert (await seller.get("/api/v1/shops/mine/questions")).json() == []
        page = await client.get(f"/p/{product['id']}")
        assert "能用电磁炉吗？" in page.text and "可以，底部是复合钢" in page.text

    async def test_bad_questions_are_refused(self, client: httpx2.AsyncClient) -> None:
        seller, product = await merchant_with(client)
        asker = await sign_up(client, "asker")
        url = f"/api/v1/products/{product['id']}/questions"
        assert (await client.post(url, json={"question": "匿名？"})).status_code == 401
        for bad in ("", "x" * 201, "两行\n问题"):
            assert_problem(await asker.post(url, json={"question": bad}), 422, "request.invalid")
        assert_problem(await asker.post("/api/v1/products/123/questions", json={"question": "有货吗"}), 404,
                       "commerce.product_not_found")
        for n in range(5):
            assert (await asker.post(url, json={"question": f"问题 {n}"})).status_code == 201
        assert_problem(await asker.post(url, json={"question": "第六个"}), 429, "commerce.too_many_questions")

    async def test_answer_speed_is_part_of_the_score(self, client: httpx2.AsyncClient, database: Database) -> None:
        from shua.commerce import score
        from shua.commerce.models import Shop

        seller, product = await merchant_with(client)
        asker = await sign_up(client, "asker")
        url = f"/api/v1/products/{product['id']}/questions"
        fast = (await asker.post(url, json={"question": "快问"})).json()
        await seller.post(f"/api/v1/questions/{fast['id']}/answer", json={"answer": "快答"})
        async with database.transaction(write=False) as db:
            shop_id = await db.scalar(select(Shop.id))
            assert shop_id is not None
            assert (await score.of_shop(db, shop_id=shop_id)).service == 5.0
        await asker.post(url, json={"question": "没人回答"})
        clock.travel(timedelta(hours=47).total_seconds())  # waiting two days: counted as it waits
        async with database.transaction(write=False) as db:
            found = await score.of_shop(db, shop_id=shop_id)
        # The mean answer time is now (0 + 47) / 2 = 23.5 h, near the day that scores nothing.
        assert found.service is not None and round(found.service, 2) == round(5 * (24 - 23.5) / 23, 2)


class TestReturnPolicy:
    async def test_no_returns_for_a_change_of_mind_when_the_product_takes_none(
            self, client: httpx2.AsyncClient, database: Database) -> None:
        seller, product = await merchant_with(client)
        r = await seller.patch(f"/api/v1/products/{product['id']}", json={"return_days": 0})
        assert r.json()["return_days"] == 0
        buyer = await buyer_with_money(client, database, "buyer", 50_000)
        order = (await keyed(buyer, "/api/v1/orders", {"items": [line(product)], "expected_total": 9_900})).json()
        await keyed(buyer, f"/api/v1/payments/intents/{order['intent_id']}/confirmation", {"method": "wallet",
                                                                                           "pin": PIN})
        await jobs.drain(database)
        await seller.post(f"/api/v1/orders/{order['id']}/shipment",
                          json={"carrier": "sf", "tracking_number": "SF01234"})
        url = f"/api/v1/orders/{order['id']}/after-sales"
        assert_problem(await buyer.post(url, json={"kind": "return_refund", "reason": "changed_mind"}), 409,
                       "commerce.no_reason_returns_refused")
        assert (await buyer.post(url, json={"kind": "return_refund", "reason": "damaged"})).status_code == 201

    async def test_a_longer_return_policy_keeps_after_sales_open_longer(self, client: httpx2.AsyncClient,
                                                                         database: Database) -> None:
        seller, buyer, order = await completed_order(client, database)
        product_id = order["items"][0]["product_id"]
        await seller.patch(f"/api/v1/products/{product_id}", json={"return_days": 15})
        clock.travel(10 * 86_400)  # past the 7 days of a default policy, within 15
        r = await buyer.post(f"/api/v1/orders/{order['id']}/after-sales", json={"kind": "return_refund",
                                                                                 "reason": "changed_mind"})
        assert r.status_code == 201, r.text

    async def test_editing_an_off_sale_product_hides_it(self, client: httpx2.AsyncClient, database: Database) -> None:
        seller, product = await merchant_with(client)
        await seller.patch(f"/api/v1/products/{product['id']}", json={"on_sale": False, "title": "新标题"})
        shown = (await client.get(f"/api/v1/products/{product['id']}")).json()
        assert (shown["status"], shown["title"]) == ("off_sale", "新标题")
        buyer = await buyer_with_money(client, database, "buyer", 50_000)
        assert_problem(await keyed(buyer, "/api/v1/orders", {"items": [line(product)], "expected_total": 9_900}), 404,
                       "commerce.sku_not_found")
        async with database.transaction(write=False) as db:
            from shua.commerce.models import Order
            assert await db.scalar(select(func.count()).select_from(Order)) == 0


class TestPhotoBombs:
    async def test_a_decompression_bomb_is_refused_before_decoding(self, client: httpx2.AsyncClient) -> None:
        from tests.accounts.test_bad_input import huge_png

        seller, _ = await merchant_with(client)
        data = huge_png(7000)  # 49 M pixels in a small file
        assert len(data) < 1_000_000
        assert_problem(await upload(seller, "product", data), 422, "commerce.invalid_photo")


class TestAddressBook:
    async def test_default_moves_and_a_deleted_default_is_replaced(self, client: httpx2.AsyncClient,
                                                                   database: Database) -> None:
        buyer = await buyer_with_money(client, database, "buyer", 100)  # one address: the default
        second = (await buyer.post("/api/v1/addresses", json={"name": "王小明", "phone": "13800138000",
                                                               "region": "北京市 海淀区", "detail": "1 号"})).json()
        book = (await buyer.get("/api/v1/addresses")).json()
        assert [a["is_default"] for a in book] == [True, False]
        r = await buyer.post(f"/api/v1/addresses/{second['id']}/default")
        assert r.status_code == 200 and r.json()["is_default"], r.text
        assert [a["id"] for a in (await buyer.get("/api/v1/addresses")).json() if a["is_default"]] == [second["id"]]
        other = await sign_up(client, "other")
        assert_problem(await other.post(f"/api/v1/addresses/{second['id']}/default"), 404,
                       "commerce.address_not_found")
        await buyer.client.delete(f"/api/v1/addresses/{second['id']}", headers=buyer.headers)
        left = (await buyer.get("/api/v1/addresses")).json()
        assert len(left) == 1 and left[0]["is_default"]  # the one left took over
        assert (await client.get("/addresses")).status_code == 303  # the page: signed in only


class TestStorefront:
    async def test_the_shop_page_shows_its_score_and_what_is_on_sale(self, client: httpx2.AsyncClient,
                                                                      database: Database) -> None:
        seller, product = await merchant_with(client)
        hidden = (await seller.post("/api/v1/shops/mine/products", json={
            "title": "下架的杯子", "skus": [{"name": "白", "price": 1_000, "stock": 1}]})).json()
        await seller.patch(f"/api/v1/products/{hidden['id']}", json={"on_sale": False})
        shop_id = product["shop"]["id"]
        r = await client.get(f"/api/v1/shops/{shop_id}")
        assert r.status_code == 200, r.text
        body = r.json()
        assert [p["title"] for p in body["products"]] == ["手冲咖啡壶"]  # off-sale ones are not shown
        assert body["score"] == {"score": 3.5, "reviews": None, "shipping": None, "after_sales": None, "service": None}
        page = await client.get(f"/s/{shop_id}")
        assert page.status_code == 200 and "手冲咖啡壶" in page.text and "下架的杯子" not in page.text
        assert f'href="/s/{shop_id}"' in (await client.get(f"/p/{product['id']}")).text
        assert_problem(await client.get("/api/v1/shops/123"), 404, "commerce.shop_not_found")
        assert (await client.get("/s/abc")).status_code == 404

    async def test_many_newer_off_sale_products_do_not_push_out_what_is_on_sale(
            self, client: httpx2.AsyncClient, database: Database) -> None:
        seller, product = await merchant_with(client)
        shop_id = int(product["shop"]["id"])
        async with database.transaction() as db:  # 60 newer products, all taken off sale
            db.add_all(Product(shop_id=shop_id, title=f"下架{n}", status="off_sale") for n in range(60))
        body = (await client.get(f"/api/v1/shops/{shop_id}")).json()
        assert [p["title"] for p in body["products"]] == ["手冲咖啡壶"]

    async def test_a_brand_shop_waiting_for_verification_is_not_public(self, client: httpx2.AsyncClient) -> None:
        brand = await sign_up(client, "brand")
        shop = (await brand.post("/api/v1/shops", json={"name": "官方旗舰店", "kind": "brand"})).json()
        assert_problem(await client.get(f"/api/v1/shops/{shop['id']}"), 404, "commerce.shop_not_found")
        assert (await brand.get(f"/api/v1/shops/{shop['id']}")).status_code == 200  # its owner sees it


class TestPhotosOnObjectStorage:
    async def test_a_photo_redirects_to_a_signed_url_cached_shorter_than_it_lives(
            self, settings: Any, s3_endpoint: str) -> None:
        from shua.web.app import create_app
        from shua.web.media import REDIRECT_MAX_AGE
        from tests.core.s3_fixtures import create_bucket, s3_settings

        app = create_app(settings.model_copy(update=s3_settings(s3_endpoint, create_bucket(s3_endpoint))),
                         configure_logs=False)
        transport = httpx2.ASGITransport(app=app, client=("127.0.0.1", 50000))
        async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as client:
            seller, product = await merchant_with(client)
            shot = (await upload(seller, "product")).json()
            await seller.patch(f"/api/v1/products/{product['id']}", json={"photos": [shot["id"]]})
            served = await client.get(shot["url"])  # public, yet its URL is signed for 5 minutes
        assert served.status_code == 307 and "Signature" in served.headers["location"]
        assert served.headers["cache-control"] == f"private, max-age={REDIRECT_MAX_AGE}"
