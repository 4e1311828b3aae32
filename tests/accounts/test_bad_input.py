"""Bad input to the accounts API. Every refusal is a 4xx problem+json with a stable `code`, and
nothing in the database changes; text that is allowed is stored and returned byte for byte."""

from __future__ import annotations

import asyncio
import io
from typing import Any

import httpx2
import pytest
from PIL import Image

from shua.accounts import service
from shua.config import Settings
from shua.core import clock, jobs
from shua.core.db import Database
from tests.conftest import table_count
from tests.helpers import PASSWORD, Browser, api_token, assert_problem

SIGNUP = "/api/v1/auth/signup"
TABLES = ("users", "auth_sessions", "outbox_events", "jobs")


async def counts(database: Database) -> dict[str, int]:
    return {table: await table_count(database, table) for table in TABLES}


async def me(client: httpx2.AsyncClient, **kw: Any) -> dict[str, Any]:
    r = await client.get("/api/v1/me", **kw)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


class TestSignupDuplicates:
    async def test_same_handle_is_taken(self, client: httpx2.AsyncClient, database: Database) -> None:
        await Browser(client).signup("alice")
        before = await counts(database)
        r = await client.post(SIGNUP, json={"username": "alice", "password": "Other-Horse-77"})
        assert_problem(r, 409, "accounts.handle_taken")
        assert await counts(database) == before

    @pytest.mark.parametrize("variant", ["ALICE", "Alice", " alice "])
    async def test_handles_differ_only_in_case(
        self, client: httpx2.AsyncClient, database: Database, variant: str
    ) -> None:
        await Browser(client).signup("alice")
        before = await counts(database)
        r = await client.post(SIGNUP, json={"username": variant, "password": "Other-Horse-77"})
        assert_problem(r, 409, "accounts.handle_taken")
        assert await counts(database) == before

    async def test_concurrent_signups_one_wins(self, client: httpx2.AsyncClient, database: Database) -> None:
        bodies = [{"username": "racer", "password": PASSWORD, "nickname": f"n{i}", "session_kind": "api"}
                  for i in range(2)]
        responses = await asyncio.gather(*(client.post(SIGNUP, json=b) for b in bodies))
        assert sorted(r.status_code for r in responses) == [201, 409], [r.text for r in responses]
        assert_problem(next(r for r in responses if r.status_code == 409), 409, "accounts.handle_taken")
        assert await table_count(database, "users") == 1
        assert await table_count(database, "auth_sessions") == 1

    async def test_phone_taken(self, client: httpx2.AsyncClient, database: Database) -> None:
        r = await client.post(SIGNUP, json={"phone": "13800138000", "password": PASSWORD})
        assert r.status_code == 201, r.text
        before = await counts(database)
        r = await client.post(SIGNUP, json={"phone": "+86 138-0013-8000", "password": PASSWORD})
        assert_problem(r, 409, "accounts.phone_taken")
        assert await counts(database) == before


class TestWeakPassword:
    @pytest.mark.parametrize(
        ("password", "reason"),
        [
            ("Sh0rt!", "too_short"),
            ("12345678", "too_common"),
            ("password", "too_common"),
            ("PassWord", "too_common"),
            ("aaaaaaaaaaaa", "too_common"),
            ("8461937205", "digits_only"),
            ("my-quokka-2024", "contains_login"),
            ("xxQUOKKAxx99", "contains_login"),
        ],
    )
    async def test_signup_refused(
        self, client: httpx2.AsyncClient, database: Database, password: str, reason: str
    ) -> None:
        r = await client.post(SIGNUP, json={"username": "quokka", "password": password})
        body = assert_problem(r, 422, "accounts.weak_password")
        assert body["reason"] == reason
        assert password not in body.values()  # a refused password is never echoed back
        assert await counts(database) == dict.fromkeys(TABLES, 0)

    async def test_password_with_phone_digits_refused(self, client: httpx2.AsyncClient) -> None:
        r = await client.post(SIGNUP, json={"phone": "13800138000", "password": "pw-00138000-x"})
        assert assert_problem(r, 422, "accounts.weak_password")["reason"] == "contains_login"

    async def test_change_to_weak_password_keeps_old(self, client: httpx2.AsyncClient) -> None:
        b = Browser(client)
        await b.signup("wombat")
        r = await b.post("/api/v1/me/password", json={"current_password": PASSWORD, "new_password": "12345678"})
        assert_problem(r, 422, "accounts.weak_password")
        client.cookies.clear()
        assert (await b.login("wombat")).status_code == 200
        assert (await b.login("wombat", "12345678")).status_code == 401


HOSTILE_TEXT = [
    "Robert'); DROP TABLE users;--",
    "<img src=x onerror=alert(1)>",
    "<script>alert('x')</script>",
    "1' OR '1'='1",
    '"; DELETE FROM auth_sessions; --',
    "{{ 7*7 }} ${7*7} %s %n",
    "\\x00 \\u202e (escaped, not real controls)",
    "你好 👋🏽 é",
]


class TestTextStoredVerbatim:
    @pytest.mark.parametrize("text", HOSTILE_TEXT)
    async def test_nickname_and_bio(self, client: httpx2.AsyncClient, database: Database, text: str) -> None:
        b = Browser(client)
        nickname = text[:30].strip()  # single lines are trimmed, nothing else is touched
        created = await b.signup("mallory", nickname=nickname)
        assert created["user"]["nickname"] == nickname
        r = await b.patch("/api/v1/me", json={"bio": text, "nickname": nickname})
        assert r.status_code == 200, r.text
        assert (r.json()["bio"], r.json()["nickname"]) == (text, nickname)
        public = await client.get("/api/v1/users/mallory")
        assert (public.json()["bio"], public.json()["nickname"]) == (text, nickname)
        export = (await client.get("/api/v1/me/export")).json()
        assert export["account"]["bio"] == text
        # The tables are intact and hold exactly the one user.
        assert await table_count(database, "users") == 1
        assert await table_count(database, "auth_sessions") == 1

    async def test_multiline_bio_kept(self, client: httpx2.AsyncClient) -> None:
        b = Browser(client)
        await b.signup("lines")
        r = await b.patch("/api/v1/me", json={"bio": "one\n<b>two</b>\r\nthree"})
        assert r.json()["bio"] == "one\n<b>two</b>\r\nthree"

    @pytest.mark.parametrize("login", [*HOSTILE_TEXT, "admin'--", "mallory' --", "%", "_"])
    async def test_login_is_only_a_name(self, client: httpx2.AsyncClient, login: str) -> None:
        await Browser(client).signup("mallory")
        r = await client.post("/api/v1/auth/login", json={"login": login, "password": PASSWORD})
        assert_problem(r, 401, "auth.invalid_credentials")

    @pytest.mark.parametrize("ref", ["mallory' OR '1'='1", "%", "_allory", "<b>", "mallory;--"])
    async def test_profile_lookup_is_only_a_name(self, client: httpx2.AsyncClient, ref: str) -> None:
        await Browser(client).signup("mallory")
        assert_problem(await client.get(f"/api/v1/users/{ref}"), 404, "accounts.user_not_found")


BAD_HANDLES = [
    "Robert'); DROP TABLE users;--", "<img src=x onerror=alert(1)>", "a b c", "ab", "1abc", "_abc",
    "x" * 25, "al\u202eice", "alice\x00", "ali/ce", "../etc", "アリス", "al\nice", "al%ce",
]


class TestHandleRules:
    @pytest.mark.parametrize("handle", BAD_HANDLES)
    async def test_signup_refused(self, client: httpx2.AsyncClient, database: Database, handle: str) -> None:
        r = await client.post(SIGNUP, json={"username": handle, "password": PASSWORD})
        assert_problem(r, 422, "request.invalid")
        assert await counts(database) == dict.fromkeys(TABLES, 0)

    @pytest.mark.parametrize("handle", BAD_HANDLES)
    async def test_rename_refused(self, client: httpx2.AsyncClient, database: Database, handle: str) -> None:
        b = Browser(client)
        await b.signup("honest")
        before = await counts(database)
        assert_problem(await b.patch("/api/v1/me", json={"handle": handle}), 422, "request.invalid")
        assert (await me(client))["handle"] == "honest"
        assert await counts(database) == before


CONTROL_TEXT = ["a\x00b", "a\x07b", "a\x1bb", "a\x7fb", "a\u202eb", "a\u202ab", "a\u2066b", "a\u2069b"]


class TestControlCharacters:
    @pytest.mark.parametrize("text", CONTROL_TEXT)
    async def test_nickname_and_bio_refused(
        self, client: httpx2.AsyncClient, database: Database, text: str
    ) -> None:
        b = Browser(client)
        await b.signup("ctrl")
        before = await counts(database)
        for field in ("nickname", "bio"):
            assert_problem(await b.patch("/api/v1/me", json={field: text}), 422, "request.invalid")
        assert_problem(await client.post(SIGNUP, json={"username": "ctrl2", "password": PASSWORD, "nickname": text}),
                       422, "request.invalid")
        profile = await me(client)
        assert (profile["nickname"], profile["bio"]) == ("ctrl", "")
        assert await counts(database) == before

    async def test_newline_in_nickname_refused(self, client: httpx2.AsyncClient) -> None:
        b = Browser(client)
        await b.signup("ctrl")
        assert_problem(await b.patch("/api/v1/me", json={"nickname": "two\nlines"}), 422, "request.invalid")


class TestLengths:
    async def test_nickname_of_31_characters(self, client: httpx2.AsyncClient, database: Database) -> None:
        b = Browser(client)
        await b.signup("longname")
        before = await counts(database)
        for nickname in ("x" * 31, "长" * 31, "👋" * 31):
            assert_problem(await b.patch("/api/v1/me", json={"nickname": nickname}), 422, "request.invalid")
        assert (await me(client))["nickname"] == "longname"
        assert await counts(database) == before
        ok = await b.patch("/api/v1/me", json={"nickname": "长" * 30})
        assert ok.json()["nickname"] == "长" * 30

    async def test_blank_nickname(self, client: httpx2.AsyncClient) -> None:
        b = Browser(client)
        await b.signup("blank")
        assert_problem(await b.patch("/api/v1/me", json={"nickname": "   "}), 422, "request.invalid")

    async def test_bio_of_201_characters(self, client: httpx2.AsyncClient) -> None:
        b = Browser(client)
        await b.signup("longbio")
        assert_problem(await b.patch("/api/v1/me", json={"bio": "b" * 201}), 422, "request.invalid")

    async def test_megabyte_nickname(self, client: httpx2.AsyncClient, database: Database) -> None:
        r = await client.post(SIGNUP, json={"username": "big", "password": PASSWORD, "nickname": "x" * 2**20})
        assert_problem(r, 413, "request.too_large")
        assert await counts(database) == dict.fromkeys(TABLES, 0)

    async def test_megabyte_password(self, client: httpx2.AsyncClient, database: Database) -> None:
        r = await client.post(SIGNUP, json={"username": "big", "password": "p" * 1000})
        assert_problem(r, 422, "request.invalid")
        assert "p" * 200 not in r.text
        assert await counts(database) == dict.fromkeys(TABLES, 0)

    async def test_unknown_field_refused(self, client: httpx2.AsyncClient, database: Database) -> None:
        b = Browser(client)
        await b.signup("sneaky")
        before = await counts(database)
        for field, value in (("role", "admin"), ("status", "active"), ("id", "1"), ("password_hash", "x")):
            assert_problem(await b.patch("/api/v1/me", json={field: value}), 422, "request.invalid")
        assert (await me(client))["role"] == "user"
        assert await counts(database) == before


BAD_IDS = [
    "abc", "-1", "0", "1.5", "1e3", "0x10", " 1", "99999999999999999999", "9999999999999999999",
    "-9999999999999999999", "-99999999999999999999", "%C2%B2", "%D9%A1%D9%A2", "%00", "1%00",
]


class TestIdsInPaths:
    @pytest.mark.parametrize("ref", BAD_IDS)
    async def test_revoke_session(self, client: httpx2.AsyncClient, database: Database, ref: str) -> None:
        b = Browser(client)
        await b.signup("ids")
        before = await counts(database)
        r = await b.delete(f"/api/v1/me/sessions/{ref}")
        assert r.status_code in (404, 422), r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert len((await client.get("/api/v1/me/sessions")).json()) == 1
        assert await counts(database) == before

    @pytest.mark.parametrize("ref", [*BAD_IDS, "9223372036854775807", "9223372036854775808"])
    async def test_read_user(self, client: httpx2.AsyncClient, ref: str) -> None:
        await Browser(client).signup("ids")
        r = await client.get(f"/api/v1/users/{ref}")
        assert r.status_code in (404, 422), r.text
        assert_problem(r, r.status_code, "accounts.user_not_found" if r.status_code == 404 else "request.invalid")

    @pytest.mark.parametrize("ref", BAD_IDS)
    async def test_admin_set_role(self, client: httpx2.AsyncClient, database: Database, ref: str) -> None:
        b = Browser(client)
        await b.signup("root")
        async with database.transaction() as db:
            await service.ensure_admin(db, username="root", password=PASSWORD)
        r = await b.put(f"/api/v1/admin/users/{ref}/role", json={"role": "admin"})
        assert r.status_code in (404, 422), r.text
        assert r.headers["content-type"].startswith("application/problem+json")

    @pytest.mark.parametrize("cursor", ["%%%", "bm90IGpzb24", "WzFd", "eyJpZCI6ImFiYyJ9",
                                        "eyJpZCI6MWUzMH0", "eyJpZCI6OTk5OTk5OTk5OTk5OTk5OTk5OTl9", "e30"])
    async def test_admin_list_with_forged_cursor(
        self, client: httpx2.AsyncClient, database: Database, cursor: str
    ) -> None:
        b = Browser(client)
        await b.signup("root")
        async with database.transaction() as db:
            await service.ensure_admin(db, username="root", password=PASSWORD)
        r = await client.get("/api/v1/admin/users", params={"cursor": cursor})
        assert_problem(r, 422, "request.invalid")


def png_with_exif(size: tuple[int, int] = (400, 200), orientation: int = 1) -> bytes:
    img = Image.new("RGB", size, (220, 30, 30))
    img.paste((30, 30, 220), (size[0] // 2, 0, size[0], size[1]))  # left half red, right half blue
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    exif[0x0110] = "Model-GPS-Leak"  # Model
    exif[0x0112] = orientation
    out = io.BytesIO()
    img.save(out, "PNG", exif=exif)
    return out.getvalue()


def jpeg_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 64), (0, 128, 0)).save(out, "JPEG")
    return out.getvalue()


def huge_png(side: int) -> bytes:
    out = io.BytesIO()
    Image.new("1", (side, side)).save(out, "PNG", optimize=True)  # tiny file, huge canvas
    return out.getvalue()


SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script><rect width="9" height="9"/></svg>'


class TestAvatar:
    async def upload(self, b: Browser, data: bytes, name: str = "a.png", ctype: str = "image/png") -> httpx2.Response:
        return await b.put("/api/v1/me/avatar", files={"file": (name, data, ctype)})

    @pytest.mark.parametrize(
        ("name", "data", "ctype"),
        [
            ("a.txt", b"hello, I am not an image", "text/plain"),
            ("a.jpg", b"", "image/jpeg"),
            ("a.jpg", b"\xff\xd8\xff", "image/jpeg"),
            ("a.svg", SVG, "image/svg+xml"),
            ("a.png", SVG, "image/png"),
            ("a.html", b"<html><script>alert(1)</script></html>", "image/gif"),
            ("a.pdf", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", "application/pdf"),
            ("a.bmp", b"BM" + b"\x00" * 60, "image/bmp"),
        ],
    )
    async def test_not_an_image(
        self, client: httpx2.AsyncClient, database: Database, name: str, data: bytes, ctype: str
    ) -> None:
        b = Browser(client)
        await b.signup("pic")
        before = await counts(database)
        assert_problem(await self.upload(b, data, name, ctype), 422, "accounts.invalid_image")
        assert (await me(client))["avatar_url"] is None
        assert await counts(database) == before

    async def test_truncated_jpeg(self, client: httpx2.AsyncClient) -> None:
        b = Browser(client)
        await b.signup("pic")
        data = jpeg_bytes()
        for cut in (len(data) // 2, len(data) - 10, 20):
            assert_problem(await self.upload(b, data[:cut], "a.jpg", "image/jpeg"), 422, "accounts.invalid_image")
        assert (await me(client))["avatar_url"] is None

    @pytest.mark.parametrize("side", [7000, 10000])
    async def test_decompression_bomb(self, client: httpx2.AsyncClient, side: int) -> None:
        b = Browser(client)
        await b.signup("pic")
        data = huge_png(side)
        assert len(data) < 1_000_000
        assert_problem(await self.upload(b, data), 422, "accounts.invalid_image")

    async def test_oversize_file(self, client: httpx2.AsyncClient, settings: Settings, database: Database) -> None:
        b = Browser(client)
        await b.signup("pic")
        before = await counts(database)
        just_over = png_with_exif() + b"\x00" * settings.max_avatar_bytes
        body = assert_problem(await self.upload(b, just_over), 413, "request.too_large")
        assert body["detail"]
        way_over = b"\x00" * (settings.max_avatar_bytes * 2)
        assert_problem(await self.upload(b, way_over), 413, "request.too_large")
        assert (await me(client))["avatar_url"] is None
        assert await counts(database) == before

    async def test_png_with_exif_is_reencoded(self, client: httpx2.AsyncClient) -> None:
        b = Browser(client)
        await b.signup("pic")
        r = await self.upload(b, png_with_exif())
        assert r.status_code == 200, r.text
        url = r.json()["avatar_url"]
        assert url.startswith("/media/avatars/") and url.endswith(".jpg")
        served = await client.get(url)
        assert served.status_code == 200
        assert served.headers["content-type"] == "image/jpeg"
        assert b"SecretCam" not in served.content and b"Model-GPS-Leak" not in served.content
        with Image.open(io.BytesIO(served.content)) as img:
            assert (img.format, img.size, img.mode) == ("JPEG", (256, 256), "RGB")
            assert dict(img.getexif()) == {}
            left, right = img.getpixel((20, 128)), img.getpixel((236, 128))
        assert isinstance(left, tuple) and isinstance(right, tuple)
        assert left[0] > 150 > left[2] and right[2] > 150 > right[0]  # centre crop kept both halves

    async def test_exif_orientation_applied_before_stripping(self, client: httpx2.AsyncClient) -> None:
        b = Browser(client)
        await b.signup("pic")
        r = await self.upload(b, png_with_exif(orientation=6))  # "rotate 90° clockwise to display"
        assert r.status_code == 200, r.text
        with Image.open(io.BytesIO((await client.get(r.json()["avatar_url"])).content)) as img:
            top, bottom = img.getpixel((128, 20)), img.getpixel((128, 236))
        assert isinstance(top, tuple) and isinstance(bottom, tuple)
        assert top[0] > 150 > top[2] and bottom[2] > 150 > bottom[0]

    async def test_replacing_avatar_deletes_old_file(self, client: httpx2.AsyncClient, database: Database) -> None:
        b = Browser(client)
        await b.signup("pic")
        first = (await self.upload(b, png_with_exif())).json()["avatar_url"]
        second = (await self.upload(b, jpeg_bytes(), "b.jpg", "image/jpeg")).json()["avatar_url"]
        assert first != second
        await jobs.drain(database)
        assert_problem(await client.get(first), 404, "not_found")
        assert (await client.get(second)).status_code == 200


class TestAccountDeletion:
    async def test_wrong_password_changes_nothing(self, client: httpx2.AsyncClient, database: Database) -> None:
        b = Browser(client)
        await b.signup("leaver")
        before = await counts(database)
        r = await b.post("/api/v1/me/deletion", json={"password": "not-the-password-1"})
        assert_problem(r, 401, "auth.invalid_credentials")
        assert (await me(client))["handle"] == "leaver"
        assert await counts(database) == before

    async def test_without_csrf_changes_nothing(self, client: httpx2.AsyncClient, database: Database) -> None:
        b = Browser(client)
        await b.signup("leaver")
        before = await counts(database)
        assert_problem(await client.post("/api/v1/me/deletion", json={"password": PASSWORD}), 403, "auth.csrf_failed")
        assert (await me(client))["handle"] == "leaver"
        assert await counts(database) == before

    async def test_delete_then_purge(
        self, client: httpx2.AsyncClient, database: Database, settings: Settings
    ) -> None:
        token = await api_token(client, "bystander")
        client.cookies.clear()
        b = Browser(client)
        await b.signup("leaver")
        await TestAvatar().upload(b, png_with_exif())
        avatar_key = (await me(client))["avatar_url"].removeprefix("/media/")
        assert (settings.effective_media_dir / avatar_key).is_file()
        await b.post("/api/v1/auth/login", json={"login": "leaver", "password": PASSWORD, "session_kind": "api"})

        r = await b.post("/api/v1/me/deletion", json={"password": PASSWORD})
        assert r.status_code == 202, r.text
        assert_problem(await client.get("/api/v1/me"), 401, "auth.required")  # the cookie was cleared
        client.cookies.clear()
        failed = await b.login("leaver")
        assert_problem(failed, 401, "auth.invalid_credentials")
        assert_problem(await client.get("/api/v1/users/leaver"), 404, "accounts.user_not_found")
        # Still reserved during the grace period: nobody can take over the name.
        assert_problem(await client.post(SIGNUP, json={"username": "leaver", "password": PASSWORD}),
                       409, "accounts.handle_taken")

        await jobs.drain(database)  # nothing due yet
        assert await table_count(database, "users") == 2
        clock.travel(settings.account_purge_days * 86400 - 3600)
        await jobs.drain(database)
        assert await table_count(database, "users") == 2

        clock.travel(2 * 3600)
        await jobs.drain(database)
        assert await table_count(database, "users") == 1
        assert await table_count(database, "auth_sessions") == 1  # the bystander's
        assert not (settings.effective_media_dir / avatar_key).exists()
        assert (await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})).status_code == 200
        again = await client.post(SIGNUP, json={"username": "leaver", "password": PASSWORD})
        assert again.status_code == 201, again.text

    async def test_purge_is_idempotent(self, client: httpx2.AsyncClient, database: Database) -> None:
        b = Browser(client)
        user_id = int((await b.signup("leaver"))["user"]["id"])
        assert (await b.post("/api/v1/me/deletion", json={"password": PASSWORD})).status_code == 202
        clock.travel(8 * 86400)
        await jobs.drain(database)
        async with database.transaction() as db:
            assert await service.purge(db, _NoStorage(), user_id=user_id) is False
        assert await table_count(database, "users") == 0


class _NoStorage:
    async def put(self, key: str, data: bytes, *, content_type: str) -> None:
        raise AssertionError("unexpected")

    async def get(self, key: str) -> bytes | None:
        raise AssertionError("unexpected")

    async def delete(self, key: str) -> None:
        raise AssertionError("unexpected")

    async def check(self) -> None:
        return None
