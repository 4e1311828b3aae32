"""Security properties of the web layer: headers, request ids, the session cookie, forged and
stale sessions, CSRF, login rate limits, user enumeration and the /media file server."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import unquote

import httpx2
import pytest
from fastapi import FastAPI

from shua.config import Settings
from shua.core import clock
from shua.core.db import Database
from shua.web.app import create_app
from tests.conftest import table_count
from tests.helpers import PASSWORD, Browser, api_token, assert_problem

LOGIN = "/api/v1/auth/login"
TABLES = ("users", "auth_sessions", "outbox_events", "jobs")


async def counts(database: Database) -> dict[str, int]:
    return {table: await table_count(database, table) for table in TABLES}


def client_for(app: FastAPI, ip: str = "127.0.0.1", base_url: str = "http://testserver") -> httpx2.AsyncClient:
    return httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app, client=(ip, 50000)), base_url=base_url)


@pytest.fixture
async def https_app(settings: Settings) -> AsyncIterator[FastAPI]:
    app = create_app(settings.model_copy(update={"base_url": "https://shua.example"}), configure_logs=False)
    yield app
    await app.state.runtime.close()


class TestSecurityHeaders:
    @pytest.mark.parametrize("path", ["/", "/login", "/healthz", "/api/v1/me", "/api/v1/nope", "/openapi.json",
                                      "/docs", "/media/avatars/none.jpg", "/static/nope.js"])
    async def test_on_every_response(self, client: httpx2.AsyncClient, path: str) -> None:
        r = await client.get(path)
        csp = r.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp
        assert "object-src 'none'" in csp
        assert "unsafe-eval" not in csp
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["referrer-policy"] == "strict-origin-when-cross-origin"
        assert "strict-transport-security" not in r.headers  # plain http: HSTS would be ignored

    async def test_app_pages_allow_no_inline_script(self, client: httpx2.AsyncClient) -> None:
        csp = (await client.get("/")).headers["content-security-policy"]
        script_src = next(d for d in csp.split(";") if d.strip().startswith("script-src"))
        assert "unsafe-inline" not in script_src

    async def test_on_errors_and_writes(self, client: httpx2.AsyncClient) -> None:
        for r in (await client.post(LOGIN, content=b"{", headers={"Content-Type": "application/json"}),
                  await client.post(LOGIN, json={"login": "x", "password": "y"})):
            assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
            assert r.headers["x-content-type-options"] == "nosniff"

    async def test_hsts_when_served_over_https(self, https_app: FastAPI) -> None:
        async with client_for(https_app, base_url="https://shua.example") as client:
            r = await client.get("/healthz")
        assert r.headers["strict-transport-security"].startswith("max-age=")


class TestRequestId:
    async def test_generated_and_echoed(self, client: httpx2.AsyncClient) -> None:
        r = await client.get("/api/v1/me")
        request_id = r.headers["x-request-id"]
        assert re.fullmatch(r"[0-9a-f]{6,32}", request_id)
        assert r.json()["request_id"] == request_id
        assert (await client.get("/api/v1/me")).headers["x-request-id"] != request_id

    @pytest.mark.parametrize("supplied", ["abc-123", "trace.ABC_9", "x" * 64])
    async def test_safe_one_reused(self, client: httpx2.AsyncClient, supplied: str) -> None:
        r = await client.get("/api/v1/me", headers={"X-Request-ID": supplied})
        assert r.headers["x-request-id"] == supplied
        assert r.json()["request_id"] == supplied

    @pytest.mark.parametrize("supplied", ["x" * 65, "a b", "<script>alert(1)</script>", "id;drop", "a/b",
                                          "%0d%0aSet-Cookie:x=1", "日志", ""])
    async def test_unsafe_one_replaced(self, client: httpx2.AsyncClient, supplied: str) -> None:
        r = await client.get("/api/v1/me", headers={b"X-Request-ID": supplied.encode()})
        assert r.headers["x-request-id"] != supplied
        assert re.fullmatch(r"[0-9a-f]{6,32}", r.headers["x-request-id"])
        assert supplied == "" or supplied not in r.text


def set_cookie_attributes(response: httpx2.Response) -> tuple[str, dict[str, str]]:
    header = next(v for k, v in response.headers.multi_items() if k == "set-cookie" and "shua_session=" in v)
    first, *rest = [part.strip() for part in header.split(";")]
    attributes = {}
    for part in rest:
        name, _, value = part.partition("=")
        attributes[name.lower()] = value
    return first.partition("=")[2], attributes


class TestSessionCookie:
    async def test_attributes_over_http(self, client: httpx2.AsyncClient, settings: Settings) -> None:
        r = await client.post("/api/v1/auth/signup", json={"username": "alice", "password": PASSWORD})
        value, attributes = set_cookie_attributes(r)
        assert re.fullmatch(r"[0-9]{1,19}\.[A-Za-z0-9_\-]{20,100}", value)
        assert "httponly" in attributes
        assert attributes["samesite"].lower() == "lax"
        assert attributes["path"] == "/"
        assert "secure" not in attributes
        assert "domain" not in attributes  # host-only: never shared with subdomains
        assert int(attributes["max-age"]) == settings.session_days * 86400
        client.cookies.clear()
        _, on_login = set_cookie_attributes(await client.post(LOGIN, json={"login": "alice", "password": PASSWORD}))
        assert on_login == attributes

    async def test_secure_over_https(self, https_app: FastAPI) -> None:
        async with client_for(https_app, base_url="https://shua.example") as client:
            r = await client.post("/api/v1/auth/signup", json={"username": "alice", "password": PASSWORD})
        _, attributes = set_cookie_attributes(r)
        assert "secure" in attributes and "httponly" in attributes
        assert attributes["samesite"].lower() == "lax"

    async def test_api_sessions_set_no_cookie(self, client: httpx2.AsyncClient) -> None:
        r = await client.post("/api/v1/auth/signup", json={"username": "bot", "password": PASSWORD,
                                                           "session_kind": "api"})
        assert "set-cookie" not in r.headers
        assert r.json()["token"] and r.json()["csrf_token"] is None

    async def test_logout_expires_cookie(self, client: httpx2.AsyncClient) -> None:
        b = Browser(client)
        await b.signup("alice")
        r = await b.post("/api/v1/auth/logout")
        _, attributes = set_cookie_attributes(r)
        assert attributes["max-age"] == "0"
        assert attributes["path"] == "/"


def cookie_header(token: str) -> dict[str, str]:
    return {"Cookie": f"shua_session={token}"}


FORGED = [
    "garbage", "1.x", "123456789.abcdef", ".", "1.", ".secret", "x" * 5000, "1." + "s" * 5000,
    "9" * 19 + ".secret", "9223372036854775808.secret", "9" * 40 + ".secret", "-1.secret", "0.secret",
    "1.2.3", "+1.secret", "0x1f.secret", "1e3.secret", "%00.secret", "1%00.secret",
]


class TestForgedAndStaleSessions:
    async def test_expired_session(self, client: httpx2.AsyncClient, settings: Settings) -> None:
        b = Browser(client)
        await b.signup("alice")
        token = await api_token(client, "bob")
        clock.travel(settings.session_days * 86400 - 60)
        assert (await client.get("/api/v1/me")).status_code == 200
        clock.travel(120)
        assert_problem(await client.get("/api/v1/me"), 401, "auth.session_invalid")
        assert_problem(await b.patch("/api/v1/me", json={"bio": "late"}), 401, "auth.session_invalid")
        client.cookies.clear()
        assert_problem(await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}),
                       401, "auth.session_invalid")

    @pytest.mark.parametrize("token", FORGED)
    async def test_forged_cookie(self, client: httpx2.AsyncClient, token: str) -> None:
        await Browser(client).signup("alice")
        client.cookies.clear()
        assert_problem(await client.get("/api/v1/me", headers=cookie_header(token)), 401, "auth.session_invalid")
        r = await client.patch("/api/v1/me", json={"bio": "x"}, headers=cookie_header(token))
        assert_problem(r, 401, "auth.session_invalid")

    @pytest.mark.parametrize("token", [*FORGED, "\xb2.secret", "\u0661\u0662.secret", "1.s\xe9cret"])
    async def test_forged_bearer(self, client: httpx2.AsyncClient, token: str) -> None:
        await Browser(client).signup("alice")
        client.cookies.clear()
        value = f"Bearer {token}"
        # Raw header bytes reach the app as latin-1: b"\xb2" arrives as "²", which str.isdigit() accepts.
        headers = {b"Authorization": value.encode("latin-1") if max(value) <= "\xff" else value.encode()}
        assert_problem(await client.get("/api/v1/me", headers=headers), 401, "auth.session_invalid")

    @pytest.mark.parametrize("scheme", ["Basic", "Token", "Bearer", "bearer"])
    async def test_empty_or_foreign_authorization(self, client: httpx2.AsyncClient, scheme: str) -> None:
        r = await client.get("/api/v1/me", headers={"Authorization": f"{scheme} "})
        assert_problem(r, 401, "auth.required")

    async def test_right_id_wrong_secret(self, client: httpx2.AsyncClient) -> None:
        victim = await api_token(client, "victim")
        await Browser(client).signup("attacker")
        session_id, _, secret = victim.partition(".")
        for wrong in (secret[:-1] + ("A" if secret[-1] != "A" else "B"), secret.upper(), secret[:10], "x"):
            forged = f"{session_id}.{wrong}"
            assert_problem(await client.get("/api/v1/me", headers={"Authorization": f"Bearer {forged}"}),
                           401, "auth.session_invalid")
            # The attacker's own valid cookie does not help: a bad bearer is never "fallen back" from.
            r = await client.get("/api/v1/me", headers=cookie_header(forged))
            assert_problem(r, 401, "auth.session_invalid")
        victim_me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {victim}"})
        assert victim_me.json()["handle"] == "victim"

    async def test_revoked_session(self, client: httpx2.AsyncClient) -> None:
        b = Browser(client)
        await b.signup("alice")
        cookie = client.cookies["shua_session"]
        assert (await b.post("/api/v1/auth/logout")).status_code == 204
        client.cookies.clear()
        assert_problem(await client.get("/api/v1/me", headers=cookie_header(cookie)), 401, "auth.session_invalid")

    async def test_idle_session_can_still_write(self, client: httpx2.AsyncClient, settings: Settings) -> None:
        # The first request after a pause refreshes last_seen_at; for a write it must not wait on itself.
        b = Browser(client)
        await b.signup("alice")
        token = await api_token(client, "bob")
        clock.travel(3600)
        r = await b.patch("/api/v1/me", json={"bio": "back again"})
        assert r.status_code == 200, r.text
        r = await client.patch("/api/v1/me", json={"bio": "me too"}, headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200, r.text
        sessions = (await client.get("/api/v1/me/sessions", headers={"Authorization": f"Bearer {token}"})).json()
        assert sessions[0]["last_seen_at"] > sessions[0]["created_at"]


CSRF_WRITES: list[tuple[str, str, dict[str, Any]]] = [
    ("POST", "/api/v1/auth/logout", {}),
    ("PATCH", "/api/v1/me", {"json": {"bio": "pwned", "handle": "pwned"}}),
    ("POST", "/api/v1/me/password", {"json": {"current_password": PASSWORD, "new_password": "Pwned-Horse-99"}}),
    ("DELETE", "/api/v1/me/avatar", {}),
    ("PUT", "/api/v1/me/avatar", {"files": {"file": ("a.png", b"\x89PNG\r\n\x1a\n", "image/png")}}),
    ("POST", "/api/v1/me/deletion", {"json": {"password": PASSWORD}}),
    ("DELETE", "/api/v1/me/sessions/{other}", {}),
]


class TestCsrf:
    async def setup(self, client: httpx2.AsyncClient) -> tuple[Browser, str]:
        b = Browser(client)
        await b.signup("alice")
        other = (await client.post(LOGIN, json={"login": "alice", "password": PASSWORD, "session_kind": "api"}))
        return b, str(other.json()["session_id"])

    async def assert_unchanged(self, client: httpx2.AsyncClient, database: Database, before: dict[str, int]) -> None:
        me = await client.get("/api/v1/me")
        assert me.status_code == 200
        assert (me.json()["handle"], me.json()["bio"]) == ("alice", "")
        assert len((await client.get("/api/v1/me/sessions")).json()) == 2
        assert await counts(database) == before

    @pytest.mark.parametrize(("method", "path", "kw"), CSRF_WRITES)
    @pytest.mark.parametrize("csrf", [None, "0" * 64])
    async def test_write_without_valid_token(
        self, client: httpx2.AsyncClient, database: Database, method: str, path: str, kw: dict[str, Any],
        csrf: str | None,
    ) -> None:
        b, other = await self.setup(client)
        before = await counts(database)
        headers = {} if csrf is None else {"X-CSRF-Token": csrf}
        r = await client.request(method, path.format(other=other), headers=headers, **kw)
        assert_problem(r, 403, "auth.csrf_failed")
        await self.assert_unchanged(client, database, before)
        client.cookies.clear()
        assert (await b.login("alice")).status_code == 200  # the password did not change

    @pytest.mark.parametrize("csrf", ["", "wrong", "é", "x" * 10_000])
    async def test_malformed_token(self, client: httpx2.AsyncClient, database: Database, csrf: str) -> None:
        await self.setup(client)
        before = await counts(database)
        r = await client.patch("/api/v1/me", json={"bio": "pwned"}, headers={b"X-CSRF-Token": csrf.encode()})
        assert_problem(r, 403, "auth.csrf_failed")
        await self.assert_unchanged(client, database, before)

    async def test_token_of_another_session(self, client: httpx2.AsyncClient, database: Database) -> None:
        b, _ = await self.setup(client)
        mine = b.csrf
        client.cookies.clear()
        await Browser(client).signup("mallory")
        stolen_cookie = client.cookies["shua_session"]
        client.cookies.clear()
        client.cookies.set("shua_session", stolen_cookie)
        r = await client.patch("/api/v1/me", json={"bio": "x"}, headers={"X-CSRF-Token": mine})
        assert_problem(r, 403, "auth.csrf_failed")
        assert (await client.get("/api/v1/me")).json()["bio"] == ""

    async def test_valid_token_works(self, client: httpx2.AsyncClient) -> None:
        b, _ = await self.setup(client)
        token = (await client.get("/api/v1/me/csrf")).json()["csrf_token"]
        assert token == b.csrf
        r = await client.patch("/api/v1/me", json={"bio": "ok"}, headers={"X-CSRF-Token": token})
        assert r.json()["bio"] == "ok"

    async def test_bearer_writes_need_no_token(self, client: httpx2.AsyncClient) -> None:
        token = await api_token(client, "robot")
        client.cookies.clear()
        headers = {"Authorization": f"Bearer {token}"}
        r = await client.patch("/api/v1/me", json={"bio": "beep"}, headers=headers)
        assert r.status_code == 200, r.text
        r = await client.post("/api/v1/auth/logout", headers=headers)
        assert r.status_code == 204
        assert_problem(await client.get("/api/v1/me", headers=headers), 401, "auth.session_invalid")


class TestLoginRateLimit:
    RATE = 3

    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        return settings.model_copy(update={"login_rate": f"{self.RATE}/minute"})

    def assert_limited(self, r: httpx2.Response) -> None:
        assert_problem(r, 429, "rate_limited")
        assert 1 <= int(r.headers["retry-after"]) <= 60

    async def test_wrong_password_per_account(self, app: FastAPI, client: httpx2.AsyncClient,
                                              database: Database) -> None:
        await Browser(client).signup("alice")
        before = await counts(database)
        for i in range(self.RATE):  # each attempt from its own address: only the account limit applies
            async with client_for(app, f"10.0.0.{i}") as c:
                assert_problem(await c.post(LOGIN, json={"login": "alice", "password": f"guess-{i}-x"}),
                               401, "auth.invalid_credentials")
        async with client_for(app, "10.0.1.1") as c:
            self.assert_limited(await c.post(LOGIN, json={"login": "alice", "password": "guess-again"}))
        async with client_for(app, "10.0.1.2") as c:
            self.assert_limited(await c.post(LOGIN, json={"login": "alice", "password": PASSWORD}))
            # Other accounts are not affected.
            bob = await c.post("/api/v1/auth/signup", json={"username": "bob", "password": PASSWORD})
            assert bob.status_code == 201
        async with client_for(app, "10.0.1.3") as c:
            assert (await c.post(LOGIN, json={"login": "bob", "password": PASSWORD})).status_code == 200
        assert await table_count(database, "auth_sessions") == before["auth_sessions"] + 2

    @pytest.mark.parametrize("spellings", [["alice", "ALICE", " Alice "],
                                           ["13800138000", "+8613800138000", "138 0013 8000"]])
    async def test_spelling_the_login_differently_does_not_help(
        self, app: FastAPI, client: httpx2.AsyncClient, spellings: list[str]
    ) -> None:
        await Browser(client).signup("alice", phone="13800138000")
        for i, login in enumerate(spellings):
            async with client_for(app, f"10.0.2.{i}") as c:
                assert_problem(await c.post(LOGIN, json={"login": login, "password": "nope-nope-1"}),
                               401, "auth.invalid_credentials")
        async with client_for(app, "10.0.3.1") as c:
            self.assert_limited(await c.post(LOGIN, json={"login": spellings[-1], "password": PASSWORD}))

    async def test_per_client_address(self, app: FastAPI, client: httpx2.AsyncClient) -> None:
        await Browser(client).signup("alice")
        async with client_for(app, "10.9.9.9") as c:
            for i in range(self.RATE):
                r = await c.post(LOGIN, json={"login": f"nobody{i}", "password": "nope-nope-1"},
                                 headers={"X-Forwarded-For": f"192.0.2.{i}"})  # spoofed: not trusted
                assert_problem(r, 401, "auth.invalid_credentials")
            self.assert_limited(await c.post(LOGIN, json={"login": "alice", "password": PASSWORD}))
        async with client_for(app, "10.9.9.10") as c:  # another address is still welcome
            assert (await c.post(LOGIN, json={"login": "alice", "password": PASSWORD})).status_code == 200


class TestUserEnumeration:
    async def test_unknown_user_and_wrong_password_look_alike(self, client: httpx2.AsyncClient) -> None:
        await Browser(client).signup("alice", phone="13900139000")
        client.cookies.clear()
        attempts = [
            {"login": "alice", "password": "wrong-password-1"},
            {"login": "nobody", "password": "wrong-password-1"},
            {"login": "13900139000", "password": "wrong-password-1"},
            {"login": "13900139999", "password": "wrong-password-1"},
            {"login": "not a login!", "password": "wrong-password-1"},
        ]
        responses = [await client.post(LOGIN, json=body) for body in attempts]
        shapes = set()
        for r in responses:
            body = assert_problem(r, 401, "auth.invalid_credentials")
            assert "set-cookie" not in r.headers
            shapes.add((r.status_code, tuple(sorted(body)), body["title"], body["detail"], body["type"]))
        assert len(shapes) == 1, shapes

    async def test_deleted_account_looks_unknown(self, client: httpx2.AsyncClient) -> None:
        b = Browser(client)
        await b.signup("alice")
        assert (await b.post("/api/v1/me/deletion", json={"password": PASSWORD})).status_code == 202
        client.cookies.clear()
        deleted = await client.post(LOGIN, json={"login": "alice", "password": PASSWORD})
        unknown = await client.post(LOGIN, json={"login": "nobody", "password": PASSWORD})
        a, b_ = assert_problem(deleted, 401, "auth.invalid_credentials"), assert_problem(unknown, 401,
                                                                                         "auth.invalid_credentials")
        assert (a["title"], a["detail"]) == (b_["title"], b_["detail"])


async def raw_get(app: FastAPI, raw_path: str) -> tuple[int, bytes]:
    """GET a path exactly as written (no client-side dot-segment removal), like `curl --path-as-is`."""
    status = 0
    body = bytearray()
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
        "path": unquote(raw_path), "raw_path": raw_path.encode(), "query_string": b"", "root_path": "",
        "headers": [(b"host", b"testserver")], "client": ("127.0.0.1", 50000), "server": ("testserver", 80),
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            body.extend(message.get("body", b""))

    await app(scope, receive, send)
    return status, bytes(body)


TRAVERSALS = [
    "/media/../var/shua.db", "/media/../canary.txt", "/media/avatars/../../canary.txt",
    "/media/avatars/../../secret_key", "/media/avatars/../../../etc/passwd", "/media/avatars/%2e%2e/%2e%2e/canary.txt",
    "/media/avatars/..%2f..%2fcanary.txt", "/media/avatars/%2e%2e%2f%2e%2e%2fcanary.txt",
    "/media/avatars/..%5c..%5ccanary.txt", "/media/avatars/....//....//canary.txt", "/media//etc/passwd",
    "/media/avatars//etc/passwd", "/media/avatars/%2fetc%2fpasswd", "/media/canary.txt", "/media/avatars/..",
    "/media/avatars/link.jpg", "/media/%2e%2e/canary.txt", "/media/avatars/%252e%252e/%252e%252e/canary.txt",
    "/media/avatars/x%00y.jpg",
]


class TestMediaTraversal:
    @pytest.mark.parametrize("path", TRAVERSALS)
    async def test_outside_files_are_not_served(self, app: FastAPI, settings: Settings, path: str) -> None:
        media = settings.effective_media_dir
        (media / "avatars").mkdir(parents=True, exist_ok=True)
        canary = media.parent / "canary.txt"
        canary.write_text("CANARY-SECRET")
        link = media / "avatars" / "link.jpg"
        link.unlink(missing_ok=True)
        link.symlink_to(canary)
        try:
            status, body = await raw_get(app, path)
        finally:
            link.unlink()
            canary.unlink()
        assert status == 404, (status, body[:300])
        assert b"CANARY" not in body and b"root:" not in body
