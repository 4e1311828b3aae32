from __future__ import annotations

import httpx2

from tests.helpers import PASSWORD, Browser, api_token, assert_problem


class TestSignupAndLogin:
    async def test_signup_sets_cookie_and_me_works(self, client: httpx2.AsyncClient) -> None:
        b = Browser(client)
        body = await b.signup("alice", nickname="爱丽丝")
        assert body["user"]["handle"] == "alice"
        assert body["user"]["nickname"] == "爱丽丝"
        assert isinstance(body["user"]["id"], str)
        assert body["token"] is None
        me = await client.get("/api/v1/me")
        assert me.status_code == 200
        assert me.json()["handle"] == "alice"

    async def test_signup_with_phone(self, client: httpx2.AsyncClient) -> None:
        r = await client.post("/api/v1/auth/signup", json={"phone": "138 0013 8000", "password": PASSWORD})
        assert r.status_code == 201, r.text
        assert r.json()["user"]["phone_masked"] == "+86138****8000"
        client.cookies.clear()
        again = await Browser(client).login("13800138000")
        assert again.status_code == 200, again.text

    async def test_login_logout(self, client: httpx2.AsyncClient) -> None:
        b = Browser(client)
        await b.signup("bob")
        client.cookies.clear()
        assert (await client.get("/api/v1/me")).status_code == 401
        assert (await b.login("BOB")).status_code == 200
        r = await b.post("/api/v1/auth/logout")
        assert r.status_code == 204
        assert_problem(await client.get("/api/v1/me"), 401, "auth.required")

    async def test_bearer_token_for_api_clients(self, client: httpx2.AsyncClient) -> None:
        token = await api_token(client, "carol")
        client.cookies.clear()
        headers = {"Authorization": f"Bearer {token}"}
        assert (await client.get("/api/v1/me", headers=headers)).json()["handle"] == "carol"
        # Bearer-authenticated writes need no CSRF token: no ambient credential to abuse.
        r = await client.patch("/api/v1/me", json={"bio": "hi"}, headers=headers)
        assert r.status_code == 200
        assert r.json()["bio"] == "hi"


class TestProfile:
    async def test_edit_profile(self, client: httpx2.AsyncClient) -> None:
        b = Browser(client)
        await b.signup("dave")
        r = await b.patch("/api/v1/me", json={"nickname": "大卫", "bio": "line1\nline2", "birthday": "1990-05-01",
                                              "handle": "dave2", "locale": "en"})
        assert r.status_code == 200, r.text
        me = r.json()
        assert (me["nickname"], me["handle"], me["birthday"], me["locale"]) == ("大卫", "dave2", "1990-05-01", "en")
        public = await client.get("/api/v1/users/dave2")
        assert public.json()["nickname"] == "大卫"
        assert "birthday" not in public.json() and "phone_masked" not in public.json()

    async def test_handle_taken_on_edit(self, client: httpx2.AsyncClient) -> None:
        await Browser(client).signup("erin")
        client.cookies.clear()
        b = Browser(client)
        await b.signup("frank")
        assert_problem(await b.patch("/api/v1/me", json={"handle": "erin"}), 409, "accounts.handle_taken")

    async def test_future_birthday_rejected(self, client: httpx2.AsyncClient) -> None:
        b = Browser(client)
        await b.signup("gina")
        assert_problem(await b.patch("/api/v1/me", json={"birthday": "2999-01-01"}), 422, "request.invalid")


class TestPassword:
    async def test_change_password_logs_out_other_devices(self, app, client: httpx2.AsyncClient) -> None:  # type: ignore[no-untyped-def]
        b = Browser(client)
        await b.signup("henry")
        login = {"login": "henry", "password": PASSWORD, "session_kind": "api"}
        token = (await client.post("/api/v1/auth/login", json=login)).json()["token"]
        change = {"current_password": PASSWORD, "new_password": "Another-Horse-43"}
        r = await b.post("/api/v1/me/password", json=change)
        assert r.status_code == 204, r.text
        assert (await client.get("/api/v1/me")).status_code == 200  # this device stays in
        other = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert_problem(other, 401, "auth.session_invalid")
        client.cookies.clear()
        assert (await b.login("henry")).status_code == 401
        assert (await b.login("henry", "Another-Horse-43")).status_code == 200

    async def test_wrong_current_password(self, client: httpx2.AsyncClient) -> None:
        b = Browser(client)
        await b.signup("ivy")
        change = {"current_password": "nope-nope-1", "new_password": "Another-Horse-43"}
        r = await b.post("/api/v1/me/password", json=change)
        assert_problem(r, 401, "auth.invalid_credentials")


class TestSessions:
    async def test_list_and_revoke(self, client: httpx2.AsyncClient) -> None:
        b = Browser(client)
        await b.signup("jack")
        login = await client.post("/api/v1/auth/login",
                                  json={"login": "jack", "password": PASSWORD, "session_kind": "api"})
        other_id, token = login.json()["session_id"], login.json()["token"]
        sessions = (await client.get("/api/v1/me/sessions")).json()
        assert len(sessions) == 2
        assert sum(s["current"] for s in sessions) == 1
        assert (await b.delete(f"/api/v1/me/sessions/{other_id}")).status_code == 204
        gone = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert_problem(gone, 401, "auth.session_invalid")
        assert len((await client.get("/api/v1/me/sessions")).json()) == 1

    async def test_cannot_revoke_someone_elses_session(self, client: httpx2.AsyncClient) -> None:
        victim = await client.post("/api/v1/auth/signup",
                                   json={"username": "kate", "password": PASSWORD, "session_kind": "api"})
        victim_session = victim.json()["session_id"]
        b = Browser(client)
        await b.signup("leo")
        r = await b.delete(f"/api/v1/me/sessions/{victim_session}")
        assert_problem(r, 404, "accounts.session_not_found")
        headers = {"Authorization": f"Bearer {victim.json()['token']}"}
        assert (await client.get("/api/v1/me", headers=headers)).status_code == 200


class TestExport:
    async def test_export_contains_profile_and_sessions(self, client: httpx2.AsyncClient) -> None:
        b = Browser(client)
        body = await b.signup("mia", nickname="米娅")
        r = await client.get("/api/v1/me/export")
        assert r.status_code == 200
        assert "attachment" in r.headers["content-disposition"]
        data = r.json()
        assert data["account"]["id"] == body["user"]["id"]
        assert data["account"]["nickname"] == "米娅"
        assert len(data["sessions"]) == 1
        assert "password_hash" not in r.text and "secret_hash" not in r.text


class TestAdmin:
    async def test_admin_role_enforced(self, client: httpx2.AsyncClient, database) -> None:  # type: ignore[no-untyped-def]
        from shua.accounts import service

        b = Browser(client)
        await b.signup("norm")
        assert_problem(await client.get("/api/v1/admin/users"), 403, "auth.admin_required")
        async with database.transaction() as db:
            await service.ensure_admin(db, username="norm", password=PASSWORD)
        r = await client.get("/api/v1/admin/users")
        assert r.status_code == 200
        assert [u["handle"] for u in r.json()["items"]] == ["norm"]

    async def test_admin_pages_through_users(self, client: httpx2.AsyncClient, database) -> None:  # type: ignore[no-untyped-def]
        from shua.accounts import service

        async with database.transaction() as db:
            for i in range(5):
                await service.signup(db, username=f"user{i}", password=PASSWORD)
            await service.ensure_admin(db, username="root", password=PASSWORD)
        b = Browser(client)
        assert (await b.login("root")).status_code == 200
        seen: list[str] = []
        cursor = None
        while True:
            params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
            page = (await client.get("/api/v1/admin/users", params=params)).json()
            seen += [u["handle"] for u in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert sorted(seen) == sorted(["root", *(f"user{i}" for i in range(5))])


class TestWriteRateLimit:
    async def test_authenticated_writes_have_a_per_user_budget(self, settings, database_url) -> None:  # type: ignore[no-untyped-def]
        from shua.web.app import create_app
        from tests.helpers import assert_problem

        app = create_app(settings.model_copy(update={"api_write_rate": "3/minute"}), configure_logs=False)
        transport = httpx2.ASGITransport(app=app)
        async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as c:
            token = await api_token(c, "busy")  # signup is not counted: it has its own limit
            headers = {"Authorization": f"Bearer {token}"}
            for i in range(3):
                assert (await c.patch("/api/v1/me", json={"bio": f"v{i}"}, headers=headers)).status_code == 200
            limited = await c.patch("/api/v1/me", json={"bio": "too many"}, headers=headers)
            assert_problem(limited, 429, "rate_limited")
            assert "Retry-After" in limited.headers
            assert (await c.get("/api/v1/me", headers=headers)).json()["bio"] == "v2"  # reads still work
        await app.state.runtime.close()
