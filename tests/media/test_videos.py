"""Posting a video end to end: tus upload → post → the processing job → ready renditions."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx2
import pytest
from sqlalchemy import func, select

from shua.config import Settings
from shua.core import clock, jobs
from shua.core.db import Database
from shua.media.synth import synthesize
from shua.media.uploads import part_path
from shua.media.videos import parse_caption
from tests.conftest import table_count
from tests.core.s3_fixtures import s3_settings
from tests.helpers import api_token, assert_problem

TUS = {"Tus-Resumable": "1.0.0"}


async def _upload(client: httpx2.AsyncClient, headers: dict[str, str], data: bytes) -> str:
    r = await client.post("/api/v1/uploads", headers={**headers, **TUS, "Upload-Length": str(len(data))})
    assert r.status_code == 201, r.text
    r2 = await client.patch(r.headers["location"], content=data, headers={
        **headers, **TUS, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"})
    assert r2.status_code == 204, r2.text
    return str(r.json()["id"])


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("clips") / "clip.mp4"
    synthesize(path, duration=2.0, width=320, height=568, fps=24, audio=True, caption="刷 Shua")
    return path.read_bytes()


async def _events(database: Database, topic: str) -> int:
    async with database.transaction(write=False) as db:
        query = select(func.count()).select_from(jobs.OutboxEvent).where(jobs.OutboxEvent.topic == topic)
        return int(await db.scalar(query) or 0)


class TestPostAndProcess:
    async def test_creator_posts_and_viewers_see_it_once_ready(
        self, client: httpx2.AsyncClient, database: Database, settings: Settings, clip: bytes
    ) -> None:
        creator = {"Authorization": f"Bearer {await api_token(client, 'creator')}"}
        viewer = {"Authorization": f"Bearer {await api_token(client, 'viewer')}"}
        upload_id = await _upload(client, creator, clip)
        r = await client.post("/api/v1/videos", headers=creator, json={
            "upload_id": upload_id, "caption": "第一条视频 #猫咪 #cats @viewer", "cover_ms": 500})
        assert r.status_code == 201, r.text
        video = r.json()
        assert (video["status"], video["playable"]) == ("uploaded", False)
        assert video["hashtags"] == ["猫咪", "cats"] and video["mentions"] == ["viewer"]
        url = f"/api/v1/videos/{video['id']}"
        assert_problem(await client.get(url, headers=viewer), 404, "media.video_not_found")  # still processing

        await jobs.drain(database)

        ready = (await client.get(url, headers=viewer)).json()
        assert ready["status"] == "ready" and ready["playable"] is True
        assert (ready["width"], ready["height"], ready["duration_ms"] // 100) == (320, 568, 20)
        assert ready["renditions"] and ready["renditions"][0]["url"].startswith("/media/videos/")
        assert ready["hls_url"].endswith("/hls/master.m3u8")
        assert ready["poster_url"].endswith("poster.jpg")
        media = settings.effective_media_dir
        sprite = ready["sprite"]
        assert (sprite["count"], sprite["columns"]) == (10, 5) and 0 < sprite["tile_width"] <= 160
        for key in [r["url"] for r in ready["renditions"]] + [ready["hls_url"], ready["poster_url"], sprite["url"]]:
            assert (media / key.removeprefix("/media/")).is_file(), key
        master = (media / ready["hls_url"].removeprefix("/media/")).read_text()
        assert master.startswith("#EXTM3U") and "RESOLUTION=320x568" in master
        assert await _events(database, "video.ready") == 1
        assert await table_count(database, "media_uploads") == 0  # the upload was consumed
        assert not part_path(settings.var_dir, int(upload_id)).exists()

    async def test_not_a_video_fails_with_a_readable_reason(self, client: httpx2.AsyncClient,
                                                            database: Database) -> None:
        creator = {"Authorization": f"Bearer {await api_token(client, 'creator2')}"}
        upload_id = await _upload(client, creator, b"this is a text file, not a video\n" * 50)
        video = (await client.post("/api/v1/videos", headers=creator, json={"upload_id": upload_id})).json()
        await jobs.drain(database)
        failed = (await client.get(f"/api/v1/videos/{video['id']}", headers=creator)).json()
        assert (failed["status"], failed["failure_code"]) == ("failed", "media.not_a_video")
        assert failed["failure_reason"] and failed["renditions"] == []
        assert await _events(database, "video.ready") == 0
        async with database.transaction(write=False) as db:
            job = await db.scalar(select(jobs.Job).where(jobs.Job.name == "media.process"))
        assert job is not None and (job.status, job.attempts) == (jobs.DONE, 1)  # refused, not retried
        assert await table_count(database, "media_uploads") == 0  # the useless upload is gone

    async def test_a_crashing_job_ends_failed_not_stuck(self, client: httpx2.AsyncClient, database: Database,
                                                        clip: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
        from shua.media import pipeline

        async def storage_down(*args: object, **kwargs: object) -> None:
            raise OSError("No space left on device")

        creator = {"Authorization": f"Bearer {await api_token(client, 'creator3')}"}
        upload_id = await _upload(client, creator, clip)
        video = (await client.post("/api/v1/videos", headers=creator, json={"upload_id": upload_id})).json()
        monkeypatch.setattr(pipeline, "_store", storage_down)  # every attempt crashes mid-way
        for _ in range(4):
            await jobs.drain(database)
            clock.travel(3600)
        state = (await client.get(f"/api/v1/videos/{video['id']}", headers=creator)).json()
        assert (state["status"], state["failure_code"]) == ("failed", "media.processing_failed")
        async with database.transaction(write=False) as db:
            job = await db.scalar(select(jobs.Job).where(jobs.Job.name == "media.process"))
        assert job is not None and job.attempts == 3  # retried with backoff, then given up cleanly


    async def test_published_with_its_poster_before_the_rest_of_the_ladder(
        self, client: httpx2.AsyncClient, database: Database, clip: bytes, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from shua.media import pipeline, transcode

        seen: dict[str, object] = {}
        real = pipeline._in_process

        async def spy(settings: Settings, fn: object, *args: object) -> object:
            if fn is transcode.package_hls and not seen:  # the step right after the ladder
                seen.update((await client.get(f"/api/v1/videos/{video['id']}")).json())  # as a stranger
            return await real(settings, fn, *args)  # type: ignore[arg-type]

        monkeypatch.setattr(pipeline, "_in_process", spy)
        creator = {"Authorization": f"Bearer {await api_token(client, 'early')}"}
        upload_id = await _upload(client, creator, clip)
        video = (await client.post("/api/v1/videos", headers=creator, json={"upload_id": upload_id})).json()
        await jobs.drain(database)
        assert (seen["status"], seen["playable"]) == ("transcoding", True)
        assert seen["poster_url"] and seen["renditions"] and seen["hls_url"] is None and seen["sprite"] is None
        assert await _events(database, "video.ready") == 1


class TestBadPosts:
    async def test_unfinished_foreign_and_reused_uploads(self, client: httpx2.AsyncClient, database: Database,
                                                         clip: bytes) -> None:
        owner = {"Authorization": f"Bearer {await api_token(client, 'poster1')}"}
        other = {"Authorization": f"Bearer {await api_token(client, 'poster2')}"}
        r = await client.post("/api/v1/uploads", headers={**owner, **TUS, "Upload-Length": "100"})
        unfinished = r.json()["id"]
        assert_problem(await client.post("/api/v1/videos", headers=owner, json={"upload_id": unfinished}),
                       409, "media.upload_not_ready")
        done = await _upload(client, owner, clip)
        assert_problem(await client.post("/api/v1/videos", headers=other, json={"upload_id": done}),
                       404, "media.upload_not_found")
        assert (await client.post("/api/v1/videos", headers=owner, json={"upload_id": done})).status_code == 201
        assert_problem(await client.post("/api/v1/videos", headers=owner, json={"upload_id": done}),
                       409, "media.upload_already_posted")
        assert await table_count(database, "videos") == 1

    async def test_caption_limits(self, client: httpx2.AsyncClient, database: Database, clip: bytes) -> None:
        owner = {"Authorization": f"Bearer {await api_token(client, 'poster3')}"}
        done = await _upload(client, owner, clip)
        long = await client.post("/api/v1/videos", headers=owner, json={"upload_id": done, "caption": "字" * 2201})
        assert_problem(long, 422, "request.invalid")
        huge = await client.post("/api/v1/videos", headers=owner, json={"upload_id": done, "caption": "x" * 1_100_000})
        assert_problem(huge, 413, "request.too_large")
        assert await table_count(database, "videos") == 0


class TestVisibilityAndDeletion:
    async def test_private_edit_and_delete(self, client: httpx2.AsyncClient, database: Database,
                                           settings: Settings, clip: bytes) -> None:
        owner = {"Authorization": f"Bearer {await api_token(client, 'owner9')}"}
        other = {"Authorization": f"Bearer {await api_token(client, 'other9')}"}
        upload_id = await _upload(client, owner, clip)
        video = (await client.post("/api/v1/videos", headers=owner,
                                   json={"upload_id": upload_id, "visibility": "private"})).json()
        await jobs.drain(database)
        url = f"/api/v1/videos/{video['id']}"
        assert (await client.get(url, headers=owner)).json()["status"] == "ready"
        assert_problem(await client.get(url, headers=other), 404, "media.video_not_found")
        assert_problem(await client.get(url), 404, "media.video_not_found")
        edited = await client.patch(url, headers=owner, json={"visibility": "public", "caption": "公开了 #hello"})
        assert edited.json()["hashtags"] == ["hello"]
        assert (await client.get(url, headers=other)).status_code == 200
        assert_problem(await client.patch(url, headers=other, json={"caption": "mine now"}), 404,
                       "media.video_not_found")
        assert_problem(await client.delete(url, headers=other), 404, "media.video_not_found")
        assert (await client.delete(url, headers=owner)).status_code == 204
        assert_problem(await client.get(url, headers=owner), 404, "media.video_not_found")
        await jobs.drain(database)
        assert not (settings.effective_media_dir / "videos" / video["id"]).exists()
        assert await _events(database, "video.deleted") == 1


@pytest.mark.parametrize(("caption", "tags", "mentions"), [
    ("#猫咪日常 和 #Cats!", ["猫咪日常", "Cats"], []),
    ("@Alice 看 @bob_1 @alice", [], ["alice", "bob_1"]),
    ("no tags", [], []),
    ("#a#b #a", ["a", "b"], []),
])
def test_parse_caption(caption: str, tags: list[str], mentions: list[str]) -> None:
    assert parse_caption(caption) == (tags, mentions)


def test_clip_fixture_is_small(clip: bytes, tmp_path: Path) -> None:
    assert 0 < len(clip) < 2_000_000


class TestPlayback:
    async def _ready_video(self, client: httpx2.AsyncClient, database: Database, clip: bytes, handle: str,
                           visibility: str = "public") -> tuple[dict[str, str], dict[str, object]]:
        owner = {"Authorization": f"Bearer {await api_token(client, handle)}"}
        upload_id = await _upload(client, owner, clip)
        video = (await client.post("/api/v1/videos", headers=owner,
                                   json={"upload_id": upload_id, "visibility": visibility})).json()
        await jobs.drain(database)
        return owner, (await client.get(f"/api/v1/videos/{video['id']}", headers=owner)).json()

    async def test_range_requests_and_faststart(self, client: httpx2.AsyncClient, database: Database,
                                                clip: bytes) -> None:
        _, video = await self._ready_video(client, database, clip, "player1")
        url = video["renditions"][0]["url"]  # type: ignore[index]
        full = await client.get(url)
        assert full.status_code == 200 and full.headers["content-type"] == "video/mp4"
        assert full.headers["etag"] and "max-age" in full.headers["cache-control"]
        assert full.content.find(b"moov") < full.content.find(b"mdat")  # plays before the whole file arrives
        part = await client.get(url, headers={"Range": "bytes=0-99"})
        assert part.status_code == 206
        assert part.headers["content-range"] == f"bytes 0-99/{len(full.content)}"
        assert part.content == full.content[:100]

    async def test_hls_ladder_resolves(self, client: httpx2.AsyncClient, database: Database, clip: bytes) -> None:
        _, video = await self._ready_video(client, database, clip, "player2")
        master_url = str(video["hls_url"])
        master = await client.get(master_url)
        assert master.status_code == 200 and "mpegurl" in master.headers["content-type"]
        variant = next(line for line in master.text.splitlines() if line and not line.startswith("#"))
        base = master_url.rsplit("/", 1)[0]
        playlist = await client.get(f"{base}/{variant}")
        assert playlist.status_code == 200
        segment = next(line for line in playlist.text.splitlines() if line and not line.startswith("#"))
        seg = await client.get(f"{base}/{variant.rsplit('/', 1)[0]}/{segment}")
        assert seg.status_code == 200 and seg.headers["content-type"] == "video/mp2t" and len(seg.content) > 1000

    async def test_private_video_only_through_signed_urls(self, client: httpx2.AsyncClient, database: Database,
                                                          clip: bytes) -> None:
        owner, video = await self._ready_video(client, database, clip, "player3", visibility="private")
        signed = str(video["renditions"][0]["url"])  # type: ignore[index]
        assert signed.startswith("/media/s/")
        assert (await client.get(signed)).status_code == 200
        unsigned = "/media/" + signed.split("/", 4)[4]
        assert_problem(await client.get(unsigned), 404, "media.video_not_found")
        token = signed.split("/")[3]
        tampered = signed.replace(token, token[:-1] + ("0" if token[-1] != "0" else "1"))
        assert_problem(await client.get(tampered), 404, "media.video_not_found")
        other_video = signed.replace(f"/videos/{video['id']}/", "/videos/123456789/")
        assert (await client.get(other_video)).status_code == 404  # a signature is for one video only
        clock.travel(7 * 3600)
        assert_problem(await client.get(signed), 404, "media.video_not_found")  # expired
        clock.reset()
        hls = str(video["hls_url"])
        master = await client.get(hls)
        variant = next(line for line in master.text.splitlines() if line and not line.startswith("#"))
        assert (await client.get(hls.rsplit("/", 1)[0] + "/" + variant)).status_code == 200  # relative URLs keep it

    @pytest.mark.parametrize("rest", ["../../secret_key", "..%2f..%2fsecret_key", "x%00.mp4", "/etc/passwd"])
    async def test_no_traversal_out_of_the_video(self, client: httpx2.AsyncClient, database: Database,
                                                 clip: bytes, rest: str) -> None:
        _, video = await self._ready_video(client, database, clip, "player4")
        r = await client.get(f"/media/videos/{video['id']}/{rest}")
        assert r.status_code == 404

    async def test_deleted_video_stops_playing(self, client: httpx2.AsyncClient, database: Database,
                                               clip: bytes) -> None:
        owner, video = await self._ready_video(client, database, clip, "player5")
        url = str(video["renditions"][0]["url"])  # type: ignore[index]
        assert (await client.delete(f"/api/v1/videos/{video['id']}", headers=owner)).status_code == 204
        assert (await client.get(url)).status_code == 404


class TestReprocess:
    async def test_cli_reprocesses_from_the_stored_rendition(
        self, client: httpx2.AsyncClient, database: Database, settings: Settings, clip: bytes,
        monkeypatch: pytest.MonkeyPatch, database_url: str,
    ) -> None:
        from typer.testing import CliRunner

        from shua import cli
        from shua.config import get_settings

        owner = {"Authorization": f"Bearer {await api_token(client, 'reproc')}"}
        upload_id = await _upload(client, owner, clip)
        video = (await client.post("/api/v1/videos", headers=owner, json={"upload_id": upload_id})).json()
        await jobs.drain(database)  # ready; the upload is consumed, so the source is the stored rendition
        monkeypatch.setenv("SHUA_DATABASE_URL", database_url)
        monkeypatch.setenv("SHUA_VAR_DIR", str(settings.var_dir))
        get_settings.cache_clear()
        try:
            result = await asyncio.to_thread(CliRunner().invoke, cli.app, ["media", "reprocess", video["id"]])
            missing = await asyncio.to_thread(CliRunner().invoke, cli.app, ["media", "reprocess", "42"])
            nothing = await asyncio.to_thread(CliRunner().invoke, cli.app, ["media", "reprocess"])
        finally:
            get_settings.cache_clear()
        assert result.exit_code == 0, result.output
        assert "1 video(s) reprocessed" in result.output
        assert (missing.exit_code, nothing.exit_code) == (1, 2)
        again = (await client.get(f"/api/v1/videos/{video['id']}", headers=owner)).json()
        assert again["status"] == "ready" and again["renditions"]
        async with database.transaction(write=False) as db:
            names = (await db.scalars(select(jobs.Job.name).where(jobs.Job.status == jobs.DONE))).all()
        assert names.count("media.process") == 2

    async def test_source_gone_fails_readably(self, client: httpx2.AsyncClient, database: Database,
                                              settings: Settings, clip: bytes) -> None:
        from shua.media.videos import request_reprocess

        owner = {"Authorization": f"Bearer {await api_token(client, 'reproc2')}"}
        upload_id = await _upload(client, owner, clip)
        video = (await client.post("/api/v1/videos", headers=owner, json={"upload_id": upload_id})).json()
        await jobs.drain(database)
        for path in (settings.effective_media_dir / "videos" / video["id"]).glob("*.mp4"):
            path.unlink()  # storage lost the files
        async with database.transaction() as db:
            await request_reprocess(db, video_id=int(video["id"]))
        await jobs.drain(database)
        state = (await client.get(f"/api/v1/videos/{video['id']}", headers=owner)).json()
        assert (state["status"], state["failure_code"]) == ("failed", "media.source_missing")


class TestOnObjectStorage:
    async def test_pipeline_stores_on_s3_and_playback_redirects(self, settings: Settings, clip: bytes,
                                                                s3_endpoint: str) -> None:
        from shua.core.storage import S3Storage
        from shua.web.app import create_app
        from tests.core.s3_fixtures import create_bucket

        bucket = create_bucket(s3_endpoint)
        app = create_app(settings.model_copy(update=s3_settings(s3_endpoint, bucket)), configure_logs=False)
        assert isinstance(app.state.runtime.storage, S3Storage)
        transport = httpx2.ASGITransport(app=app, client=("127.0.0.1", 50000))
        try:
            async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as client:
                owner = {"Authorization": f"Bearer {await api_token(client, 'cloudcreator')}"}
                upload_id = await _upload(client, owner, clip)
                # Finished: staged in the bucket for a worker on any host, gone from this one's disk.
                storage = app.state.runtime.storage
                staged = await storage.stat(f"uploads/{upload_id}")
                assert staged is not None and staged.size == len(clip)
                assert not part_path(settings.var_dir, int(upload_id)).exists()
                video = (await client.post("/api/v1/videos", headers=owner, json={"upload_id": upload_id})).json()
                await jobs.drain(app.state.runtime.database)
                assert await storage.stat(f"uploads/{upload_id}") is None  # consumed once processed
                ready = (await client.get(f"/api/v1/videos/{video['id']}", headers=owner)).json()
                served = await client.get(ready["renditions"][0]["url"])
                master = await client.get(ready["hls_url"])
                variant_uri = next(line for line in master.text.splitlines() if line and not line.startswith("#"))
                variant = await client.get(ready["hls_url"].rsplit("/", 1)[0] + "/" + variant_uri)
                # A private video on a bucket with no CDN: only the signed path reaches the playlist.
                await client.patch(f"/api/v1/videos/{video['id']}", headers=owner, json={"visibility": "private"})
                private = (await client.get(f"/api/v1/videos/{video['id']}", headers=owner)).json()
                private_master = await client.get(private["hls_url"])
                refused = await client.get(ready["hls_url"])
        finally:
            await app.state.runtime.close()
        assert ready["status"] == "ready"
        assert served.status_code == 307
        location = served.headers["location"]
        assert location.startswith(f"{s3_endpoint}/{bucket}/videos/{video['id']}/")
        async with httpx2.AsyncClient() as plain:
            mp4 = await plain.get(location, headers={"Range": "bytes=0-99"})
        assert mp4.status_code == 206 and len(mp4.content) == 100
        assert not (settings.effective_media_dir / "videos" / video["id"]).exists()  # nothing on local disk
        # HLS: the app serves the (small) playlists and points every segment straight at the bucket.
        assert master.status_code == 200 and master.text.startswith("#EXTM3U") and variant_uri.endswith(".m3u8")
        segments = [line for line in variant.text.splitlines() if line and not line.startswith("#")]
        assert segments and all(u.startswith(f"{s3_endpoint}/{bucket}/videos/{video['id']}/hls/") for u in segments)
        async with httpx2.AsyncClient() as plain:
            first = await plain.get(segments[0])
        assert first.status_code == 200 and first.content[:1] == b"G"  # an MPEG-TS packet
        assert private_master.status_code == 200 and refused.status_code == 404


class TestSeparateLadders:
    async def test_mp4_and_hls_ladders_are_configured_apart(self, settings: Settings, tmp_path: Path) -> None:
        from shua.web.app import create_app

        clip = synthesize(tmp_path / "wide.mp4", duration=2.0, width=540, height=960, fps=24, audio=False)
        app = create_app(settings.model_copy(update={"mp4_renditions": "360p", "hls_renditions": "360p,540p",
                                                     "keep_original_uploads": True}), configure_logs=False)
        transport = httpx2.ASGITransport(app=app)
        try:
            async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as client:
                owner = {"Authorization": f"Bearer {await api_token(client, 'ladders')}"}
                upload_id = await _upload(client, owner, clip.read_bytes())
                video = (await client.post("/api/v1/videos", headers=owner, json={"upload_id": upload_id})).json()
                await jobs.drain(app.state.runtime.database)
                ready = (await client.get(f"/api/v1/videos/{video['id']}", headers=owner)).json()
                master = (await client.get(ready["hls_url"])).text
        finally:
            await app.state.runtime.close()
        assert [r["name"] for r in ready["renditions"]] == ["360p"]
        assert master.count("#EXT-X-STREAM-INF") == 2 and "RESOLUTION=540x960" in master
        assert (settings.effective_media_dir / "videos" / video["id"] / "original").read_bytes() == clip.read_bytes()


class TestAccountLifecycle:
    async def test_export_lists_videos_and_deletion_removes_them(self, client: httpx2.AsyncClient,
                                                                 database: Database, settings: Settings,
                                                                 clip: bytes) -> None:
        from tests.helpers import PASSWORD

        owner = {"Authorization": f"Bearer {await api_token(client, 'leaver')}"}
        upload_id = await _upload(client, owner, clip)
        video = (await client.post("/api/v1/videos", headers=owner,
                                   json={"upload_id": upload_id, "caption": "再见 #bye"})).json()
        await jobs.drain(database)
        exported = (await client.get("/api/v1/me/export", headers=owner)).json()
        assert [v["id"] for v in exported["videos"]] == [video["id"]]
        assert exported["videos"][0]["hashtags"] == ["bye"]
        gone = await client.post("/api/v1/me/deletion", headers=owner, json={"password": PASSWORD})
        assert gone.status_code == 202
        await jobs.drain(database)
        assert_problem(await client.get(f"/api/v1/videos/{video['id']}"), 404, "media.video_not_found")
        assert not (settings.effective_media_dir / "videos" / video["id"]).exists()
        assert await _events(database, "video.deleted") == 1
