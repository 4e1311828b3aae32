"""Every failure leaves as RFC 9457 problem+json with a stable `code`: bodies that cannot be
parsed, bodies of the wrong type or size, unknown routes and methods, and crashes (which show
no stack trace)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx2
import pytest
from fastapi import FastAPI

from shua.config import Settings
from shua.core.db import Database
from tests.conftest import table_count
from tests.helpers import PASSWORD, Browser, assert_problem

LOGIN = "/api/v1/auth/login"
SIGNUP = "/api/v1/auth/signup"


async def chunks(data: bytes, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    """A body without Content-Length (chunked transfer encoding)."""
    for start in range(0, len(data), size):
        yield data[start:start + size]


class TestMalformedBody:
    @pytest.mark.parametrize(
        "raw",
        [b"{bad", b'{"login": "a", "password": ', b"[", b"{'login': 'a'}", b'{"login": "a",}', b"\x00",
         b'{"login": "a"} trailing'],
    )
    async def test_not_json(self, client: httpx2.AsyncClient, raw: bytes) -> None:
        r = await client.post(LOGIN, content=raw, headers={"Content-Type": "application/json"})
        body = assert_problem(r, 400, "request.malformed")
        assert body["instance"] == LOGIN

    async def test_invalid_utf8(self, client: httpx2.AsyncClient) -> None:
        r = await client.post(LOGIN, content=b'{"login": "\xff\xfe", "password": "x"}',
                              headers={"Content-Type": "application/json"})
        assert_problem(r, 400, "request.malformed")

    async def test_nesting_too_deep(self, client: httpx2.AsyncClient) -> None:
        raw = b'{"login": ' + b"[" * 200_000 + b"]" * 200_000 + b"}"
        r = await client.post(LOGIN, content=raw, headers={"Content-Type": "application/json"})
        assert_problem(r, 400, "request.malformed")

    async def test_number_too_long(self, client: httpx2.AsyncClient) -> None:
        raw = b'{"login": ' + b"9" * 10_000 + b', "password": "x"}'
        r = await client.post(LOGIN, content=raw, headers={"Content-Type": "application/json"})
        assert r.status_code in (400, 422), r.text
        assert r.headers["content-type"].startswith("application/problem+json")

    @pytest.mark.parametrize("raw", [b"[]", b'"login"', b"42", b"null", b"true", b"{}"])
    async def test_json_of_the_wrong_shape(self, client: httpx2.AsyncClient, raw: bytes) -> None:
        r = await client.post(LOGIN, content=raw, headers={"Content-Type": "application/json"})
        body = assert_problem(r, 422, "request.invalid")
        assert all({"loc", "msg", "type"} <= set(e) for e in body["errors"])

    async def test_empty_body(self, client: httpx2.AsyncClient) -> None:
        r = await client.post(LOGIN, headers={"Content-Type": "application/json"})
        assert_problem(r, 422, "request.invalid")

    async def test_validation_error_does_not_echo_secrets(self, client: httpx2.AsyncClient) -> None:
        secret = "my-Secret-Passw0rd-" + "z" * 120  # over the 128-character limit
        r = await client.post(SIGNUP, json={"username": "alice", "password": secret})
        assert_problem(r, 422, "request.invalid")
        assert "my-Secret-Passw0rd" not in r.text
        assert "input" not in r.json()["errors"][0]


class TestContentType:
    BODY = b'{"login": "alice", "password": "Correct-Horse-42"}'

    @pytest.mark.parametrize(
        "content_type",
        ["text/plain", "application/x-www-form-urlencoded", "application/xml", "text/json",
         "application/jsonx", "multipart/form-data; boundary=x", "application/octet-stream", None],
    )
    async def test_json_endpoint_refuses_other_types(
        self, client: httpx2.AsyncClient, database: Database, content_type: str | None
    ) -> None:
        headers = {"Content-Type": content_type} if content_type else {}
        r = await client.post(SIGNUP, content=self.BODY.replace(b"login", b"username"), headers=headers)
        body = assert_problem(r, 415, "request.unsupported_media_type")
        assert body["expected"] == "application/json"
        assert await table_count(database, "users") == 0

    async def test_form_post_to_json_endpoint(self, client: httpx2.AsyncClient) -> None:
        r = await client.post(LOGIN, data={"login": "alice", "password": PASSWORD})
        assert_problem(r, 415, "request.unsupported_media_type")

    @pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "application/problem+json",
                                              "APPLICATION/JSON"])
    async def test_json_variants_accepted(self, client: httpx2.AsyncClient, content_type: str) -> None:
        await Browser(client).signup("alice")
        r = await client.post(LOGIN, content=self.BODY, headers={"Content-Type": content_type})
        assert r.status_code == 200, r.text

    async def test_upload_endpoint_refuses_json(self, client: httpx2.AsyncClient) -> None:
        b = Browser(client)
        await b.signup("alice")
        r = await b.put("/api/v1/me/avatar", json={"file": "aGVsbG8="})
        body = assert_problem(r, 415, "request.unsupported_media_type")
        assert body["expected"] == "multipart/form-data"

    async def test_upload_without_file_field(self, client: httpx2.AsyncClient) -> None:
        b = Browser(client)
        await b.signup("alice")
        r = await b.put("/api/v1/me/avatar", files={"other": ("a.png", b"x", "image/png")})
        assert_problem(r, 422, "request.invalid")


def big_signup(nickname_bytes: int) -> bytes:
    return b'{"username": "big", "password": "Correct-Horse-42", "nickname": "' + b"x" * nickname_bytes + b'"}'


class TestBodyLimit:
    async def test_declared_length_over_limit(
        self, client: httpx2.AsyncClient, settings: Settings, database: Database
    ) -> None:
        raw = big_signup(settings.max_body_bytes)
        body = assert_problem(await client.post(SIGNUP, content=raw, headers={"Content-Type": "application/json"}),
                              413, "request.too_large")
        assert body["limit"] == settings.max_body_bytes
        assert await table_count(database, "users") == 0

    async def test_chunked_body_over_limit(
        self, client: httpx2.AsyncClient, settings: Settings, database: Database
    ) -> None:
        raw = big_signup(settings.max_body_bytes)
        r = await client.post(SIGNUP, content=chunks(raw), headers={"Content-Type": "application/json"})
        assert "content-length" not in r.request.headers
        assert_problem(r, 413, "request.too_large")
        assert await table_count(database, "users") == 0

    async def test_chunked_upload_over_limit(self, client: httpx2.AsyncClient, settings: Settings) -> None:
        b = Browser(client)
        await b.signup("alice")
        boundary = "shua-test-boundary"
        head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n"
                "Content-Type: image/png\r\n\r\n").encode()
        raw = head + b"\x00" * (settings.max_avatar_bytes + 128 * 1024) + f"\r\n--{boundary}--\r\n".encode()
        r = await client.put("/api/v1/me/avatar", content=chunks(raw), headers={
            **b.headers(), "Content-Type": f"multipart/form-data; boundary={boundary}"})
        assert_problem(r, 413, "request.too_large")
        assert (await client.get("/api/v1/me")).json()["avatar_url"] is None

    async def test_chunked_body_under_limit(self, client: httpx2.AsyncClient) -> None:
        raw = b'{"username": "small", "password": "Correct-Horse-42", "nickname": "chunky"}'
        r = await client.post(SIGNUP, content=chunks(raw, size=7), headers={"Content-Type": "application/json"})
        assert r.status_code == 201, r.text
        assert r.json()["user"]["nickname"] == "chunky"


class TestRouting:
    @pytest.mark.parametrize("path", ["/api/v1/nope", "/api/v1/users", "/api/v2/me", "/api/v1/me/sessions/1/x"])
    async def test_unknown_route(self, client: httpx2.AsyncClient, path: str) -> None:
        assert_problem(await client.get(path), 404, "not_found")

    @pytest.mark.parametrize(
        ("method", "path"),
        [("PUT", "/api/v1/me/sessions"), ("DELETE", "/api/v1/auth/login"), ("GET", "/api/v1/auth/signup"),
         ("POST", "/api/v1/me"), ("PATCH", "/healthz")],
    )
    async def test_wrong_method(self, client: httpx2.AsyncClient, method: str, path: str) -> None:
        r = await client.request(method, path)
        assert_problem(r, 405, "request.method_not_allowed")
        assert r.headers["allow"]


def crashing_app(settings: Settings) -> FastAPI:
    from shua.web.app import create_app

    app = create_app(settings, configure_logs=False)

    async def boom() -> None:
        raise RuntimeError("secret-internal-detail at /srv/shua/settings.py")

    async def boom_in_dependency(value: int) -> None:
        raise KeyError(f"password_hash={value}")

    app.add_api_route("/api/v1/test/boom", boom, methods=["GET", "POST"])
    app.add_api_route("/api/v1/test/boom/{value}", boom_in_dependency)
    return app


class TestServerError:
    @pytest.mark.parametrize(("method", "path"), [("GET", "/api/v1/test/boom"), ("POST", "/api/v1/test/boom"),
                                                  ("GET", "/api/v1/test/boom/7")])
    async def test_crash_is_a_bare_problem(
        self, settings: Settings, method: str, path: str, caplog: pytest.LogCaptureFixture
    ) -> None:
        app = crashing_app(settings)
        transport = httpx2.ASGITransport(app=app, raise_app_exceptions=False)
        try:
            async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as client:
                r = await client.request(method, path, headers={"X-Request-ID": "crash-1"})
        finally:
            await app.state.runtime.close()
        body = assert_problem(r, 500, "internal")
        for leak in ("Traceback", "RuntimeError", "KeyError", "secret-internal-detail", "password_hash",
                     "settings.py", 'File "'):
            assert leak not in r.text
        assert set(body) == {"type", "title", "status", "code", "detail", "instance", "request_id"}
        # The crash response is still a full response: request id and security headers.
        assert body["request_id"] == r.headers["x-request-id"] == "crash-1"
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
        assert r.headers["x-content-type-options"] == "nosniff"
        # ...and the details went to the log instead.
        assert any(rec.exc_info and rec.levelname == "ERROR" for rec in caplog.records)
