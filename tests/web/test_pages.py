from __future__ import annotations

import importlib
import io
import pkgutil
import re

import httpx2
import pytest
from PIL import Image

import shua
from shua.core.errors import ShuaError
from shua.core.i18n import catalog
from shua.web import errors as web_errors
from shua.web.pages import TEMPLATES_DIR, safe_next
from tests.helpers import PASSWORD, Browser

STATIC_DIR = TEMPLATES_DIR.parent / "static"
PUBLIC_PAGES = ["/", "/login", "/signup", "/search"]
PROTECTED_PAGES = ["/friends", "/create", "/inbox", "/me", "/me/edit", "/settings", "/admin", "/wallet",
                   "/wallet/statements/2026-12", "/admin/payments", "/orders", "/shop", "/admin/shop", "/cart"]
APP_PAGES = ["/", "/friends", "/create", "/inbox", "/me", "/me/edit", "/settings", "/wallet", "/u/alice", "/search",
             "/search?q=%E7%8C%AB", "/wallet/statements/2026-12", "/orders", "/orders?role=seller", "/shop", "/cart"]
# One string per language that only that language's catalogue has, shown on every page.
MARKER = {"zh-CN": ">首页</a>", "en": ">Home</a>"}


def html_lang(html: str) -> str:
    match = re.search(r'<html lang="([^"]+)"', html)
    assert match, html[:200]
    return match.group(1)


def form_next(html: str) -> str:
    match = re.search(r'data-next="([^"]*)"', html)
    assert match
    return match.group(1)


def use_lang(client: httpx2.AsyncClient, locale: str) -> httpx2.AsyncClient:
    """The language switch: a cookie, as the client's JS sets it."""
    client.cookies.set("shua_lang", locale)
    return client


async def signup(client: httpx2.AsyncClient, handle: str = "alice", **extra: str) -> Browser:
    b = Browser(client)
    await b.signup(handle, **extra)
    return b


class TestRendering:
    @pytest.mark.parametrize("locale", ["zh-CN", "en"])
    @pytest.mark.parametrize("path", PUBLIC_PAGES)
    async def test_public_pages_render(self, client: httpx2.AsyncClient, path: str, locale: str) -> None:
        r = await use_lang(client, locale).get(path)
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/html")
        assert html_lang(r.text) == locale
        assert MARKER[locale] in r.text
        assert 'name="csrf-token"' not in r.text

    @pytest.mark.parametrize("locale", ["zh-CN", "en"])
    async def test_app_pages_render_for_a_user(self, client: httpx2.AsyncClient, locale: str) -> None:
        b = await signup(client)
        client.cookies.set("shua_lang", locale)
        for path in APP_PAGES:
            r = await client.get(path)
            assert r.status_code == 200, path
            assert html_lang(r.text) == locale, path
            assert MARKER[locale] in r.text, path
            assert f'<meta name="csrf-token" content="{b.csrf}">' in r.text, path
            assert r.headers["cache-control"] == "no-store", path

    async def test_every_page_sets_the_strict_csp(self, client: httpx2.AsyncClient) -> None:
        await signup(client)
        for path in APP_PAGES:
            csp = (await client.get(path)).headers["content-security-policy"]
            assert "script-src 'self';" in csp and "'unsafe-inline'" not in csp

    async def test_no_inline_scripts_handlers_or_styles(self, client: httpx2.AsyncClient) -> None:
        await signup(client)
        pages = [(await client.get(path)).text for path in APP_PAGES]
        client.cookies.clear()
        pages += [(await client.get(path)).text for path in PUBLIC_PAGES]
        for html in pages:
            path = re.search(r"<title>([^<]*)", html)
            for tag in re.findall(r"<script\b[^>]*>", html):
                assert "src=" in tag or 'type="application/json"' in tag, (path, tag)
            assert not re.search(r"<style\b|\sstyle=", html), path
            assert not re.search(r"\son[a-z]+=", html), path

    async def test_static_files_are_served(self, client: httpx2.AsyncClient) -> None:
        for path in ("/static/css/app.css", "/static/js/main.js", "/static/js/shua.js", "/static/icon.svg"):
            r = await client.get(path)
            assert r.status_code == 200, path
        assert "javascript" in (await client.get("/static/js/main.js")).headers["content-type"]

    def test_stylesheets_are_well_formed(self) -> None:
        """Every rule closes: one stray brace silently swallows every rule after it."""
        for path in (STATIC_DIR / "css").glob("*.css"):
            text = re.sub(r"/\*.*?\*/", "", path.read_text(), flags=re.S)
            text = re.sub(r'"[^"]*"|\'[^\']*\'', "", text)
            depth = 0
            for line_no, line in enumerate(text.splitlines(), 1):
                depth += line.count("{") - line.count("}")
                assert depth >= 0, f"{path.name}:{line_no}: a closing brace too many"
            assert depth == 0, f"{path.name}: {depth} rule(s) never closed"

    async def test_home_is_an_honest_empty_state(self, client: httpx2.AsyncClient) -> None:
        r = await client.get("/", headers={"Accept-Language": "en"})
        assert "No one has posted a public video yet" in r.text
        assert 'id="feed-first">[]<' in r.text


class TestLanguage:
    async def test_accept_language_english(self, client: httpx2.AsyncClient) -> None:
        r = await client.get("/", headers={"Accept-Language": "en-GB,en;q=0.9"})
        assert html_lang(r.text) == "en"
        assert "For You" in r.text

    async def test_accept_language_chinese(self, client: httpx2.AsyncClient) -> None:
        r = await client.get("/login", headers={"Accept-Language": "zh-TW,zh;q=0.9,en;q=0.5"})
        assert html_lang(r.text) == "zh-CN"
        assert "登录" in r.text

    async def test_cookie_beats_accept_language(self, client: httpx2.AsyncClient) -> None:
        r = await use_lang(client, "zh-CN").get("/", headers={"Accept-Language": "en"})
        assert html_lang(r.text) == "zh-CN"

    async def test_unknown_cookie_value_is_ignored(self, client: httpx2.AsyncClient) -> None:
        r = await use_lang(client, "xx").get("/", headers={"Accept-Language": "en"})
        assert html_lang(r.text) == "en"

    async def test_account_language_beats_accept_language(self, client: httpx2.AsyncClient) -> None:
        b = await signup(client)
        assert (await b.patch("/api/v1/me", json={"locale": "en"})).status_code == 200
        r = await client.get("/me", headers={"Accept-Language": "zh-CN"})
        assert html_lang(r.text) == "en"
        client.cookies.set("shua_lang", "zh-CN")
        assert html_lang((await client.get("/me", headers={"Accept-Language": "en"})).text) == "zh-CN"

    def test_catalogues_have_the_same_keys(self) -> None:
        assert catalog("en").keys() == catalog("zh-CN").keys()
        assert all(catalog("en").values()) and all(catalog("zh-CN").values())

    def test_every_key_used_by_templates_and_scripts_exists(self) -> None:
        used: set[str] = set()
        for path in TEMPLATES_DIR.glob("*.html"):
            used |= set(re.findall(r"""\bt\(\s*["']([a-z_.]+)["']""", path.read_text()))
        # Keys handed to templates by name: heading="friends.empty_title", kind="notfound.user".
        pages_py = "\n".join(p.read_text() for p in (TEMPLATES_DIR.parent.parent).glob("*pages.py"))
        used |= set(re.findall(r'(?:title|heading|body)="([a-z_]+\.[a-z_.]+)"', pages_py))
        for kind in re.findall(r'kind="([a-z_]+)\.([a-z_]+)"', pages_py):
            used |= {f"{kind[0]}.title", f"{kind[0]}.{kind[1]}_title", f"{kind[0]}.{kind[1]}_body"}
        for path in (STATIC_DIR / "js").glob("*.js"):
            text = path.read_text()
            in_js = set(re.findall(r"""\bt\(\s*["']([a-z_.]+)["']""", text))
            in_js |= set(re.findall(r"""["'](js\.[a-z_]+)["']""", text))
            # Only these prefixes are shipped to the browser (pages._client_catalog).
            assert all(k.startswith(("js.", "error.")) for k in in_js), (path.name, in_js)
            used |= in_js
        assert len(used) > 50
        # `t("js.mood_" ~ tag)` shows up as the prefix "js.mood_": some keys must start with it.
        prefixes = {k for k in used if k.endswith(("_", "."))}
        missing = sorted(k for k in used - prefixes if k not in catalog("en") or k not in catalog("zh-CN"))
        missing += sorted(p for p in prefixes if not any(k.startswith(p) for k in catalog("zh-CN")))
        assert not missing

    def test_every_error_code_has_a_message(self) -> None:
        for module in pkgutil.walk_packages(shua.__path__, "shua."):
            if not module.name.startswith("shua.migrations"):
                importlib.import_module(module.name)
        codes = set(web_errors._HTTP_CODES.values())
        stack: list[type[ShuaError]] = [ShuaError]
        while stack:
            cls = stack.pop()
            codes.add(cls.code)
            stack += cls.__subclasses__()
        assert {"auth.invalid_credentials", "accounts.handle_taken", "rate_limited"} <= codes
        missing = sorted(c for c in codes if f"error.{c}" not in catalog("en") or f"error.{c}" not in catalog("zh-CN"))
        assert not missing

    def test_client_gets_error_and_js_keys_only(self) -> None:
        from shua.web.pages import _client_catalog

        shipped = _client_catalog("zh-CN")
        assert shipped["error.auth.invalid_credentials"] == catalog("zh-CN")["error.auth.invalid_credentials"]
        assert all(k.startswith(("error.", "js.")) for k in shipped)


class TestLoginRedirect:
    @pytest.mark.parametrize("path", PROTECTED_PAGES)
    async def test_logged_out_visitor_goes_to_login(self, client: httpx2.AsyncClient, path: str) -> None:
        r = await client.get(path)
        assert r.status_code == 303
        assert r.headers["location"] == "/login?next=" + path.replace("/", "%2F")

    async def test_query_string_survives_the_round_trip(self, client: httpx2.AsyncClient) -> None:
        r = await client.get("/settings?tab=devices")
        assert r.headers["location"] == "/login?next=%2Fsettings%3Ftab%3Ddevices"
        login = await client.get(r.headers["location"])
        assert form_next(login.text) == "/settings?tab=devices"

    async def test_a_forged_cookie_is_just_logged_out(self, client: httpx2.AsyncClient) -> None:
        client.cookies.set("shua_session", "12345.not-a-real-secret")
        assert (await client.get("/")).status_code == 200
        assert (await client.get("/me")).status_code == 303
        client.cookies.set("shua_session", "garbage")
        assert (await client.get("/login")).status_code == 200

    async def test_logged_in_user_skips_the_login_page(self, client: httpx2.AsyncClient) -> None:
        await signup(client)
        r = await client.get("/login?next=/settings")
        assert (r.status_code, r.headers["location"]) == (303, "/settings")
        assert (await client.get("/signup")).headers["location"] == "/me"

    @pytest.mark.parametrize("target", [
        "//evil.example", "https://evil.example/", "/\\evil.example", "\\\\evil.example",
        "javascript:alert(1)", "evil.example", "/%0a//evil.example".replace("%0a", "\n"), "///evil.example",
        " //evil.example", "/login?next=//evil.example",
    ])
    async def test_open_redirect_is_refused(self, client: httpx2.AsyncClient, target: str) -> None:
        assert form_next((await client.get("/login", params={"next": target})).text) == "/me"
        assert form_next((await client.get("/signup", params={"next": target})).text) == "/me"
        await signup(client, "mallory")
        r = await client.get("/login", params={"next": target})
        assert r.headers["location"] == "/me"

    @pytest.mark.parametrize(("value", "expected"), [
        ("/settings", "/settings"), ("/u/alice?x=1#top", "/u/alice?x=1#top"), (None, "/me"), ("", "/me"),
        ("//evil.example/x", "/me"), ("/\\evil.example", "/me"), ("http://evil.example", "/me"),
        ("/ok\r\nSet-Cookie: x=1", "/me"), ("/" + "a" * 2000, "/me"),
    ])
    def test_safe_next(self, value: str | None, expected: str) -> None:
        assert safe_next(value) == expected


class TestAdminPage:
    async def test_non_admin_gets_403(self, client: httpx2.AsyncClient) -> None:
        await signup(client)
        r = await client.get("/admin", headers={"Accept-Language": "en"})
        assert r.status_code == 403
        assert r.headers["content-type"].startswith("text/html")
        assert "Administrators only" in r.text
        assert 'id="users"' not in r.text

    async def test_admin_gets_the_dashboard(self, client: httpx2.AsyncClient, database) -> None:  # type: ignore[no-untyped-def]
        from shua.accounts import service

        async with database.transaction() as db:
            await service.ensure_admin(db, username="root", password=PASSWORD)
        assert (await Browser(client).login("root")).status_code == 200
        r = await use_lang(client, "zh-CN").get("/admin")
        assert r.status_code == 200
        assert 'id="users"' in r.text and 'id="jobs"' in r.text
        assert "管理后台" in r.text
        assert 'href="/admin"' in (await client.get("/me")).text


class TestProfiles:
    async def test_html_in_user_text_is_escaped(self, client: httpx2.AsyncClient) -> None:
        b = await signup(client, nickname="<script>alert(1)</script>")
        await b.patch("/api/v1/me", json={"bio": '<img src=x onerror="alert(2)">'})
        for path in ("/me", "/u/alice", "/me/edit"):
            html = (await client.get(path)).text
            assert "<script>alert(1)" not in html and "<img src=x" not in html, path
            assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, path
            assert "&lt;img src=x onerror=" in html, path

    async def test_me_shows_profile_fields(self, client: httpx2.AsyncClient) -> None:
        b = await signup(client, nickname="小明")
        await b.patch("/api/v1/me", json={"bio": "爱生活", "birthday": "1990-05-01"})
        zh = (await use_lang(client, "zh-CN").get("/me")).text
        assert "小明" in zh and "@alice" in zh and "爱生活" in zh and "1990年5月1日" in zh
        en = (await use_lang(client, "en").get("/me")).text
        assert "May 1, 1990" in en

    async def test_placeholder_avatar_then_uploaded_avatar(self, client: httpx2.AsyncClient) -> None:
        b = await signup(client, nickname="bob")
        html = (await client.get("/me")).text
        assert 'class="avatar__initial" aria-hidden="true">B<' in html
        assert "avatar__img" not in html
        png = io.BytesIO()
        Image.new("RGB", (40, 30), "red").save(png, "PNG")
        r = await b.put("/api/v1/me/avatar", files={"file": ("a.png", png.getvalue(), "image/png")})
        assert r.status_code == 200, r.text
        url = r.json()["avatar_url"]
        assert f'<img class="avatar__img" src="{url}"' in (await client.get("/me")).text
        assert (await client.get(url)).status_code == 200

    async def test_public_profile_is_public(self, client: httpx2.AsyncClient) -> None:
        await signup(client, nickname="Alice")
        client.cookies.clear()
        r = await client.get("/u/alice")
        assert r.status_code == 200 and "Alice" in r.text and "@alice" in r.text

    async def test_public_profile_hides_private_fields(self, client: httpx2.AsyncClient) -> None:
        b = await signup(client)
        await b.patch("/api/v1/me", json={"birthday": "1990-05-01"})
        client.cookies.clear()
        assert "1990" not in (await use_lang(client, "en").get("/u/alice")).text

    async def test_unknown_user_is_a_404_page(self, client: httpx2.AsyncClient) -> None:
        r = await client.get("/u/nobody", headers={"Accept-Language": "en"})
        assert r.status_code == 404
        assert "No such user" in r.text

    @pytest.mark.parametrize("ref", ["99999999999999999999", "%00", "a%00b", "%E4%B8%AD", "-1", "0", "a" * 64])
    async def test_hostile_profile_address_is_a_404(self, client: httpx2.AsyncClient, ref: str) -> None:
        r = await client.get(f"/u/{ref}")
        assert r.status_code == 404
        assert r.headers["content-type"].startswith("text/html")

    async def test_id_or_case_redirects_to_the_handle(self, client: httpx2.AsyncClient) -> None:
        body = await Browser(client).signup("alice")
        for ref in (body["user"]["id"], "ALICE"):
            r = await client.get(f"/u/{ref}")
            assert (r.status_code, r.headers["location"]) == (302, "/u/alice")

    async def test_deleted_user_is_gone(self, client: httpx2.AsyncClient) -> None:
        b = await signup(client)
        assert (await b.post("/api/v1/me/deletion", json={"password": PASSWORD})).status_code == 202
        assert (await client.get("/u/alice")).status_code == 404
        assert (await client.get("/me")).status_code == 303


class TestVideoPages:
    async def _post(self, b: Browser, client: httpx2.AsyncClient, visibility: str = "public") -> str:
        tus = {**b.headers(), "Tus-Resumable": "1.0.0"}
        r = await client.post("/api/v1/uploads", headers={**tus, "Upload-Length": "4"})
        assert r.status_code == 201, r.text
        r = await client.patch(r.headers["location"], content=b"fake", headers={
            **tus, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"})
        assert r.status_code == 204, r.text
        upload_id = r.request.url.path.rsplit("/", 1)[1]
        r = await b.post("/api/v1/videos", json={"upload_id": upload_id, "caption": "你好 #日常 <b>x</b>",
                                                 "visibility": visibility})
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    async def test_creator_sees_processing_and_their_grid(self, client: httpx2.AsyncClient) -> None:
        b = await signup(client)
        video_id = await self._post(b, client)
        r = await use_lang(client, "zh-CN").get(f"/v/{video_id}")
        assert r.status_code == 200
        assert "处理中…" in r.text and '<span class="watch__tag">#日常</span>' in r.text
        assert "&lt;b&gt;x&lt;/b&gt;" in r.text and "<video" not in r.text
        me = await client.get("/me")
        assert f'href="/v/{video_id}"' in me.text and "处理中…" in me.text

    async def test_create_page_has_the_form(self, client: httpx2.AsyncClient) -> None:
        await signup(client)
        r = await use_lang(client, "zh-CN").get("/create")
        assert 'accept="video/*" capture' in r.text and "/static/js/create.js" in r.text
        for label in ("公开", "朋友可见", "仅自己可见", "允许评论", "允许合拍"):
            assert label in r.text

    @pytest.mark.parametrize("visibility", ["public", "private"])
    async def test_others_get_404_until_visible(self, client: httpx2.AsyncClient, visibility: str) -> None:
        b = await signup(client)
        video_id = await self._post(b, client, visibility)
        client.cookies.clear()
        r = await use_lang(client, "zh-CN").get(f"/v/{video_id}")
        assert r.status_code == 404 and "视频不存在" in r.text  # processing, or not theirs to see

    @pytest.mark.parametrize("ref", ["123", "abc", "1%00", "9" * 30])
    async def test_unknown_video_is_a_404_page(self, client: httpx2.AsyncClient, ref: str) -> None:
        r = await client.get(f"/v/{ref}")
        assert r.status_code == 404
