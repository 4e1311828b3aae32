"""Small helpers for driving the API like a client would."""

from __future__ import annotations

from typing import Any

import httpx2

PASSWORD = "Correct-Horse-42"


class Browser:
    """A cookie-authenticated client that sends its CSRF token like the web client does."""

    def __init__(self, client: httpx2.AsyncClient) -> None:
        self.client = client
        self.csrf = ""

    async def signup(self, handle: str, password: str = PASSWORD, **extra: Any) -> dict[str, Any]:
        r = await self.client.post("/api/v1/auth/signup", json={"username": handle, "password": password, **extra})
        assert r.status_code == 201, r.text
        self.csrf = r.json()["csrf_token"]
        return dict(r.json())

    async def login(self, login: str, password: str = PASSWORD) -> httpx2.Response:
        r = await self.client.post("/api/v1/auth/login", json={"login": login, "password": password})
        if r.status_code == 200:
            self.csrf = r.json()["csrf_token"]
        return r

    def headers(self) -> dict[str, str]:
        return {"X-CSRF-Token": self.csrf}

    async def post(self, url: str, **kw: Any) -> httpx2.Response:
        return await self.client.post(url, headers=self.headers(), **kw)

    async def patch(self, url: str, **kw: Any) -> httpx2.Response:
        return await self.client.patch(url, headers=self.headers(), **kw)

    async def put(self, url: str, **kw: Any) -> httpx2.Response:
        return await self.client.put(url, headers=self.headers(), **kw)

    async def delete(self, url: str, **kw: Any) -> httpx2.Response:
        return await self.client.delete(url, headers=self.headers(), **kw)

    async def get(self, url: str, **kw: Any) -> httpx2.Response:
        return await self.client.get(url, **kw)


async def api_token(client: httpx2.AsyncClient, handle: str, password: str = PASSWORD) -> str:
    r = await client.post("/api/v1/auth/signup",
                          json={"username": handle, "password": password, "session_kind": "api"})
    assert r.status_code == 201, r.text
    return str(r.json()["token"])


def assert_problem(r: httpx2.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json"), r.headers
    body: dict[str, Any] = r.json()
    assert body["code"] == code, body
    assert body["status"] == status
    assert "Traceback" not in r.text
    return body
