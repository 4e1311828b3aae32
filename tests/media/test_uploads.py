"""Resumable uploads over tus 1.0, end to end against the real database and disk."""

from __future__ import annotations

import base64
import fcntl
from pathlib import Path

import httpx2
import pytest
from sqlalchemy import func, select

from shua.config import Settings
from shua.core import clock, jobs
from shua.core.db import Database
from shua.media.uploads import clean_filename, part_path
from tests.conftest import table_count
from tests.helpers import Browser, api_token, assert_problem

TUS = {"Tus-Resumable": "1.0.0"}
CHUNK = {"Content-Type": "application/offset+octet-stream"}


def _meta(**values: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


async def _auth(client: httpx2.AsyncClient, handle: str = "uploader") -> dict[str, str]:
    return {"Authorization": f"Bearer {await api_token(client, handle)}", **TUS}


async def _create(client: httpx2.AsyncClient, headers: dict[str, str], length: int, **meta: str) -> str:
    r = await client.post("/api/v1/uploads", headers={**headers, "Upload-Length": str(length),
                                                      "Upload-Metadata": _meta(**meta)})
    assert r.status_code == 201, r.text
    assert r.headers["location"] == f"/api/v1/uploads/{r.json()['id']}"
    return str(r.headers["location"])


class TestTusFlow:
    async def test_chunks_then_resume_then_complete(self, client: httpx2.AsyncClient, settings: Settings,
                                                    database: Database) -> None:
        headers = await _auth(client)
        data = bytes(range(256)) * 1000  # 256,000 bytes
        url = await _create(client, headers, len(data), filename="猫.mp4", filetype="video/mp4")
        r = await client.patch(url, content=data[:100_000], headers={**headers, **CHUNK, "Upload-Offset": "0"})
        assert r.status_code == 204, r.text
        assert r.headers["upload-offset"] == "100000"
        # The connection drops; the client asks where to resume.
        head = await client.head(url, headers=headers)
        assert head.status_code == 200
        assert (head.headers["upload-offset"], head.headers["upload-length"]) == ("100000", "256000")
        assert head.headers["cache-control"] == "no-store"
        r = await client.patch(url, content=data[100_000:], headers={**headers, **CHUNK, "Upload-Offset": "100000"})
        assert r.headers["upload-offset"] == "256000"
        info = (await client.get(url, headers=headers)).json()
        assert info["completed"] is True and info["filename"] == "猫.mp4"
        assert part_path(settings.var_dir, int(info["id"])).read_bytes() == data
        async with database.transaction(write=False) as db:
            events = await db.scalar(select(func.count()).select_from(jobs.OutboxEvent)
                                     .where(jobs.OutboxEvent.topic == "media.upload_completed"))
        assert events == 1

    async def test_discovery(self, client: httpx2.AsyncClient, settings: Settings) -> None:
        r = await client.options("/api/v1/uploads")
        assert r.status_code == 204
        assert r.headers["tus-version"] == "1.0.0"
        assert r.headers["tus-max-size"] == str(settings.max_upload_bytes)
        assert "creation" in r.headers["tus-extension"]

    async def test_browser_session_needs_csrf(self, client: httpx2.AsyncClient) -> None:
        b = Browser(client)
        await b.signup("webuploader")
        r = await client.post("/api/v1/uploads", headers={**TUS, "Upload-Length": "10"})
        assert_problem(r, 403, "auth.csrf_failed")
        r = await client.post("/api/v1/uploads", headers={**TUS, **b.headers(), "Upload-Length": "10"})
        assert r.status_code == 201
        r = await client.patch(r.headers["location"], content=b"0123456789",
                               headers={**TUS, **CHUNK, **b.headers(), "Upload-Offset": "0"})
        assert r.status_code == 204


class TestBadUploads:
    async def test_wrong_offset_is_409_and_changes_nothing(self, client: httpx2.AsyncClient) -> None:
        headers = await _auth(client)
        url = await _create(client, headers, 100)
        await client.patch(url, content=b"x" * 10, headers={**headers, **CHUNK, "Upload-Offset": "0"})
        r = await client.patch(url, content=b"y" * 10, headers={**headers, **CHUNK, "Upload-Offset": "50"})
        body = assert_problem(r, 409, "media.upload_offset_mismatch")
        assert body["expected"] == 10
        assert (await client.head(url, headers=headers)).headers["upload-offset"] == "10"

    async def test_chunk_past_the_length_is_413_and_cut_back(self, client: httpx2.AsyncClient,
                                                             settings: Settings) -> None:
        headers = await _auth(client)
        url = await _create(client, headers, 100)
        await client.patch(url, content=b"a" * 40, headers={**headers, **CHUNK, "Upload-Offset": "0"})
        r = await client.patch(url, content=b"b" * 200, headers={**headers, **CHUNK, "Upload-Offset": "40"})
        assert_problem(r, 413, "media.upload_too_large")
        assert (await client.head(url, headers=headers)).headers["upload-offset"] == "40"
        assert part_path(settings.var_dir, int(url.rsplit("/", 1)[1])).read_bytes() == b"a" * 40

    async def test_announced_length_over_the_limit(self, client: httpx2.AsyncClient, database: Database,
                                                   settings: Settings) -> None:
        headers = await _auth(client)
        r = await client.post("/api/v1/uploads",
                              headers={**headers, "Upload-Length": str(settings.max_upload_bytes + 1)})
        assert_problem(r, 413, "media.upload_too_large")
        assert await table_count(database, "media_uploads") == 0

    @pytest.mark.parametrize("length", ["0", "-5", "abc", "1e9", ""])
    async def test_bad_length_header(self, client: httpx2.AsyncClient, length: str) -> None:
        headers = await _auth(client)
        r = await client.post("/api/v1/uploads", headers={**headers, "Upload-Length": length})
        assert_problem(r, 422, "request.invalid")

    async def test_missing_tus_header_is_412(self, client: httpx2.AsyncClient) -> None:
        headers = await _auth(client)
        del headers["Tus-Resumable"]
        r = await client.post("/api/v1/uploads", headers={**headers, "Upload-Length": "5"})
        body = assert_problem(r, 412, "media.tus_version")
        assert r.headers["tus-version"] == "1.0.0"
        assert body["status"] == 412

    async def test_chunk_with_wrong_content_type(self, client: httpx2.AsyncClient) -> None:
        headers = await _auth(client)
        url = await _create(client, headers, 5)
        r = await client.patch(url, content=b"12345", headers={**headers, "Upload-Offset": "0",
                                                                "Content-Type": "application/json"})
        assert_problem(r, 415, "request.unsupported_media_type")

    async def test_someone_elses_upload_is_not_found(self, client: httpx2.AsyncClient) -> None:
        owner = await _auth(client, "owner1")
        url = await _create(client, owner, 5)
        other = await _auth(client, "snoop")
        assert (await client.head(url, headers=other)).status_code == 404
        assert_problem(await client.get(url, headers=other), 404, "media.upload_not_found")
        r = await client.patch(url, content=b"12345", headers={**other, **CHUNK, "Upload-Offset": "0"})
        assert_problem(r, 404, "media.upload_not_found")
        assert_problem(await client.delete(url, headers=other), 404, "media.upload_not_found")
        assert (await client.head(url, headers=owner)).headers["upload-offset"] == "0"

    @pytest.mark.parametrize("raw", ["../../etc/passwd", "..\\..\\boot.ini", "a/b/../c.mp4", "\x00evil.mp4",
                                     "  .hidden.mov", "x" * 1000])
    def test_filenames_are_display_names_only(self, raw: str) -> None:
        cleaned = clean_filename(raw)
        assert "/" not in cleaned and "\\" not in cleaned and "\x00" not in cleaned
        assert not cleaned.startswith(".") and len(cleaned) <= 200

    async def test_traversal_filename_never_reaches_the_path(self, client: httpx2.AsyncClient,
                                                             settings: Settings) -> None:
        headers = await _auth(client)
        url = await _create(client, headers, 3, filename="../../../../tmp/owned.mp4")
        info = (await client.get(url, headers=headers)).json()
        assert info["filename"] == "owned.mp4"
        assert part_path(settings.var_dir, int(info["id"])).parent == settings.var_dir / "uploads"

    async def test_bad_metadata_is_422(self, client: httpx2.AsyncClient) -> None:
        headers = await _auth(client)
        r = await client.post("/api/v1/uploads", headers={**headers, "Upload-Length": "5",
                                                          "Upload-Metadata": "filename !!notbase64"})
        assert_problem(r, 422, "request.invalid")


class TestRecovery:
    async def test_bytes_written_but_not_committed_are_cut(self, client: httpx2.AsyncClient,
                                                           settings: Settings) -> None:
        headers = await _auth(client)
        url = await _create(client, headers, 20)
        await client.patch(url, content=b"A" * 5, headers={**headers, **CHUNK, "Upload-Offset": "0"})
        path = part_path(settings.var_dir, int(url.rsplit("/", 1)[1]))
        with path.open("ab") as f:  # a worker died after writing, before committing the offset
            f.write(b"GARBAGE")
        r = await client.patch(url, content=b"B" * 15, headers={**headers, **CHUNK, "Upload-Offset": "5"})
        assert r.status_code == 204
        assert path.read_bytes() == b"A" * 5 + b"B" * 15

    async def test_concurrent_chunk_is_refused(self, client: httpx2.AsyncClient, settings: Settings) -> None:
        headers = await _auth(client)
        url = await _create(client, headers, 10)
        path = part_path(settings.var_dir, int(url.rsplit("/", 1)[1]))
        with path.open("r+b") as held:  # another process is mid-PATCH on this upload
            fcntl.flock(held.fileno(), fcntl.LOCK_EX)
            r = await client.patch(url, content=b"1" * 10, headers={**headers, **CHUNK, "Upload-Offset": "0"})
        assert_problem(r, 409, "media.upload_busy")
        assert (await client.head(url, headers=headers)).headers["upload-offset"] == "0"

    async def test_terminate_and_expire(self, client: httpx2.AsyncClient, settings: Settings,
                                        database: Database) -> None:
        headers = await _auth(client)
        done = await _create(client, headers, 2)
        await client.patch(done, content=b"ok", headers={**headers, **CHUNK, "Upload-Offset": "0"})
        abandoned = await _create(client, headers, 10)
        deleted = await _create(client, headers, 10)
        assert (await client.delete(deleted, headers=headers)).status_code == 204
        assert not part_path(settings.var_dir, int(deleted.rsplit("/", 1)[1])).exists()
        clock.travel((settings.upload_ttl_hours + 1) * 3600)
        assert_problem(await client.get(abandoned, headers=headers), 410, "media.upload_expired")
        await jobs.drain(database)
        assert not part_path(settings.var_dir, int(abandoned.rsplit("/", 1)[1])).exists()
        assert await table_count(database, "media_uploads") == 0  # never posted: all gone after the TTL
        assert not part_path(settings.var_dir, int(done.rsplit("/", 1)[1])).exists()


def test_part_files_live_under_var(tmp_path: Path) -> None:
    assert part_path(tmp_path, 42) == tmp_path / "uploads" / "42.part"
