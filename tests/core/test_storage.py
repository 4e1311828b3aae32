"""Storage: one suite run against both backends, local disk and S3 (a moto server over HTTP,
started once per session, a fresh bucket per test), then what only one backend does."""

from __future__ import annotations

import io
import os
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import boto3
import httpx2
import pytest
from PIL import Image

from shua import doctor
from shua.config import Settings
from shua.core.storage import (
    InvalidKey,
    LocalStorage,
    ObjectInfo,
    S3Config,
    S3Storage,
    Storage,
    StorageUnavailable,
    validate_key,
)
from shua.web.app import create_app
from tests.core.s3_fixtures import (
    ACCESS_KEY,
    REGION,
    SECRET_KEY,
    closed_port,
    create_bucket,
    presigned_url_valid,
    s3_settings,
)
from tests.helpers import Browser

MB = 1024 * 1024


def s3_config(endpoint: str, bucket: str, **overrides: object) -> S3Config:
    return S3Config(bucket=bucket, endpoint_url=endpoint, region=REGION, access_key_id=ACCESS_KEY,
                    secret_access_key=SECRET_KEY, **overrides)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
async def s3_session(s3_endpoint: str) -> AsyncIterator[S3Storage]:
    """One bucket per run (boto3 clients are slow to build); each test leaves it empty."""
    storage = S3Storage(s3_config(s3_endpoint, create_bucket(s3_endpoint), multipart_threshold=5 * MB,
                                  multipart_chunksize=5 * MB, page_size=10))
    yield storage
    await storage.close()


@pytest.fixture
def s3(s3_session: S3Storage) -> Iterator[S3Storage]:
    yield s3_session
    client, bucket = s3_session.client, s3_session.bucket
    for obj in client.list_objects_v2(Bucket=bucket).get("Contents", []):
        client.delete_object(Bucket=bucket, Key=obj["Key"])


@pytest.fixture(params=["local", "s3"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    if request.param == "local":
        return LocalStorage(tmp_path / "media")
    s3: S3Storage = request.getfixturevalue("s3")
    return s3


class TestReadWrite:
    async def test_put_then_get(self, storage: Storage) -> None:
        await storage.put("avatars/1.jpg", b"\xff\xd8 jpeg", content_type="image/jpeg")
        assert await storage.get("avatars/1.jpg") == b"\xff\xd8 jpeg"
        assert await storage.stat("avatars/1.jpg") == ObjectInfo(size=7, content_type="image/jpeg")
        assert await storage.exists("avatars/1.jpg")

    async def test_overwrite_replaces(self, storage: Storage) -> None:
        await storage.put("a/k", b"first", content_type="text/plain")
        await storage.put("a/k", b"second!", content_type="text/plain")
        assert await storage.get("a/k") == b"second!"

    async def test_missing_object(self, storage: Storage) -> None:
        assert await storage.get("nothing/here") is None
        assert await storage.get_range("nothing/here", start=0, end=10) is None
        assert await storage.stat("nothing/here") is None
        assert not await storage.exists("nothing/here")
        await storage.delete("nothing/here")  # deleting what is gone is fine (jobs retry)

    async def test_range(self, storage: Storage) -> None:
        await storage.put("v/1/seg.ts", bytes(range(100)), content_type="video/mp2t")
        assert await storage.get_range("v/1/seg.ts", start=10, end=15) == bytes([10, 11, 12, 13, 14])
        assert await storage.get_range("v/1/seg.ts", start=95, end=200) == bytes(range(95, 100))
        assert await storage.get_range("v/1/seg.ts", start=100, end=120) == b""
        assert await storage.get_range("v/1/seg.ts", start=3, end=3) == b""
        with pytest.raises(ValueError, match="bad range"):
            await storage.get_range("v/1/seg.ts", start=5, end=4)

    async def test_delete(self, storage: Storage) -> None:
        await storage.put("a/k", b"x", content_type="text/plain")
        await storage.delete("a/k")
        assert not await storage.exists("a/k")

    async def test_delete_prefix_removes_all_renditions_only(self, storage: Storage) -> None:
        keys = ["videos/12/original.mp4", "videos/12/720p/index.m3u8", "videos/12/720p/seg0.ts", "videos/12/poster.jpg"]
        for key in keys:
            await storage.put(key, b"x", content_type="application/octet-stream")
        await storage.put("videos/123/original.mp4", b"keep", content_type="video/mp4")
        assert await storage.delete_prefix("videos/12/") == 4
        assert not any([await storage.exists(key) for key in keys])
        assert await storage.get("videos/123/original.mp4") == b"keep"
        assert await storage.delete_prefix("videos/12/") == 0

    async def test_put_file(self, storage: Storage, tmp_path: Path) -> None:
        data = os.urandom(12 * MB)
        source = tmp_path / "upload.mp4"
        source.write_bytes(data)
        await storage.put_file("videos/9/original.mp4", source, content_type="video/mp4")
        info = await storage.stat("videos/9/original.mp4")
        assert info is not None and info.size == len(data)
        assert await storage.get("videos/9/original.mp4") == data
        assert await storage.get_range("videos/9/original.mp4", start=6 * MB, end=6 * MB + 4) == data[6 * MB:6 * MB + 4]

    async def test_get_file_streams_to_disk(self, storage: Storage, tmp_path: Path) -> None:
        data = os.urandom(3 * 1024 * 1024 + 17)
        await storage.put("uploads/42", data, content_type="video/mp4")
        target = tmp_path / "fetched"
        assert await storage.get_file("uploads/42", target) is True
        assert target.read_bytes() == data
        assert await storage.get_file("uploads/43", tmp_path / "missing") is False
        assert not (tmp_path / "missing").exists()


BAD_KEYS = ["", "/etc/passwd", "../secret", "a/../../b", "a/./b", "a//b", "a\\b", "a\x00b", "a\nb", "trailing/",
            "x" * 513, "多" * 171]


class TestKeys:
    @pytest.mark.parametrize("key", BAD_KEYS)
    async def test_bad_keys_refused_everywhere(self, storage: Storage, key: str, tmp_path: Path) -> None:
        source = tmp_path / "f"
        source.write_bytes(b"x")
        calls = [
            storage.put(key, b"x", content_type="text/plain"), storage.put_file(key, source, content_type="text/plain"),
            storage.get(key), storage.get_range(key, start=0, end=1), storage.stat(key), storage.exists(key),
            storage.delete(key),
        ]
        for call in calls:
            with pytest.raises(InvalidKey):
                await call
        with pytest.raises(InvalidKey):
            storage.url(key)

    @pytest.mark.parametrize("prefix", ["", "/", "../", "a/../", "videos/12", "/videos/12/", "a//"])
    async def test_bad_prefixes_refused(self, storage: Storage, prefix: str) -> None:
        with pytest.raises(InvalidKey):
            await storage.delete_prefix(prefix)

    def test_ordinary_keys_pass(self) -> None:
        for key in ["avatars/1.jpg", "videos/12/720p/seg-00001.ts", "x", "头像/1.jpg", "a.b/c..d"]:
            assert validate_key(key) == key

    async def test_local_symlink_out_of_root_refused(self, tmp_path: Path) -> None:
        storage = LocalStorage(tmp_path / "media")
        (tmp_path / "media").mkdir()
        (tmp_path / "outside").mkdir()
        (tmp_path / "media" / "link").symlink_to(tmp_path / "outside")
        with pytest.raises(InvalidKey):
            await storage.put("link/x", b"x", content_type="text/plain")
        assert not (tmp_path / "outside" / "x").exists()


class TestUrls:
    async def test_local_files_are_served_by_the_app(self, tmp_path: Path) -> None:
        assert LocalStorage(tmp_path).url("avatars/1.jpg") is None

    async def test_presigned_url_fetches_the_object(self, s3: S3Storage) -> None:
        await s3.put("avatars/a b+c.jpg", b"jpeg bytes", content_type="image/jpeg")
        url = s3.url("avatars/a b+c.jpg", expires_in=120)
        assert url is not None
        async with httpx2.AsyncClient() as plain:
            r = await plain.get(url)
        assert r.status_code == 200, r.text
        assert r.content == b"jpeg bytes" and r.headers["content-type"] == "image/jpeg"

    async def test_presigned_url_is_signed_and_expires(self, s3: S3Storage) -> None:
        url = s3.url("avatars/1.jpg", expires_in=120)
        assert url is not None
        query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
        assert query["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
        assert query["X-Amz-Credential"].startswith(f"{ACCESS_KEY}/")
        assert query["X-Amz-Expires"] == "120"
        assert len(query["X-Amz-Signature"]) == 64
        signed_at = datetime.strptime(query["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        assert presigned_url_valid(url, secret=SECRET_KEY, now=signed_at + timedelta(seconds=119))
        assert not presigned_url_valid(url, secret=SECRET_KEY, now=signed_at + timedelta(seconds=121))
        tampered = url[:-1] + ("0" if url[-1] != "0" else "1")
        assert not presigned_url_valid(tampered, secret=SECRET_KEY, now=signed_at)
        other_key = url.replace("avatars/1.jpg", "avatars/2.jpg")
        assert not presigned_url_valid(other_key, secret=SECRET_KEY, now=signed_at)
        assert not presigned_url_valid(url, secret="not-the-secret", now=signed_at)

    async def test_default_expiry_is_configured(self, s3_endpoint: str) -> None:
        storage = S3Storage(s3_config(s3_endpoint, "b", presign_seconds=600))
        url = storage.url("avatars/1.jpg")
        await storage.close()
        assert url is not None and "X-Amz-Expires=600" in url

    async def test_public_base_url_for_cdn(self, s3_endpoint: str) -> None:
        storage = S3Storage(s3_config(s3_endpoint, "b", public_base_url="https://cdn.example.org/m/"))
        assert storage.url("avatars/a b.jpg") == "https://cdn.example.org/m/avatars/a%20b.jpg"
        presigned = storage.url("videos/1/original.mp4", expires_in=300)  # private objects still get signed
        await storage.close()
        assert presigned is not None and "X-Amz-Signature=" in presigned


class TestS3Only:
    async def test_big_file_goes_up_in_parts(self, s3: S3Storage, tmp_path: Path) -> None:
        source = tmp_path / "big.mp4"
        with source.open("wb") as f:
            for _ in range(12):
                f.write(os.urandom(MB))
        await s3.put_file("videos/1/original.mp4", source, content_type="video/mp4")
        head = s3.client.head_object(Bucket=s3.bucket, Key="videos/1/original.mp4")
        assert head["ETag"].strip('"').endswith("-3")  # S3's multipart ETag: 12 MB in 5 MB parts
        assert head["ContentType"] == "video/mp4"

    async def test_small_file_goes_up_whole(self, s3: S3Storage, tmp_path: Path) -> None:
        source = tmp_path / "small.jpg"
        source.write_bytes(b"x" * 1000)
        await s3.put_file("posters/1.jpg", source, content_type="image/jpeg")
        head = s3.client.head_object(Bucket=s3.bucket, Key="posters/1.jpg")
        assert "-" not in head["ETag"]

    async def test_delete_prefix_beyond_one_page(self, s3: S3Storage) -> None:
        assert s3.config.page_size == 10  # in production 1000, the most one list or delete call takes
        for i in range(25):
            s3.client.put_object(Bucket=s3.bucket, Key=f"videos/7/seg{i:04}.ts", Body=b"")
        assert await s3.delete_prefix("videos/7/") == 25
        assert s3.client.list_objects_v2(Bucket=s3.bucket, Prefix="videos/").get("KeyCount") == 0


class TestCheck:
    async def test_healthy(self, storage: Storage) -> None:
        await storage.check()

    async def test_unreachable_endpoint(self) -> None:
        storage = S3Storage(s3_config(f"http://127.0.0.1:{closed_port()}", "media"))
        with pytest.raises(StorageUnavailable, match=r"cannot reach bucket 'media' at http://127\.0\.0\.1:\d+ .*"
                                                     r"SHUA_S3_ENDPOINT_URL"):
            await storage.check()
        await storage.close()

    async def test_missing_bucket(self, s3_endpoint: str) -> None:
        storage = S3Storage(s3_config(s3_endpoint, "no-such-bucket"))
        with pytest.raises(StorageUnavailable, match="bucket 'no-such-bucket' .* does not exist.*SHUA_S3_BUCKET"):
            await storage.check()
        await storage.close()

    async def test_local_root_not_a_directory(self, tmp_path: Path) -> None:
        (tmp_path / "file").write_bytes(b"")
        with pytest.raises(StorageUnavailable, match="cannot write to .*SHUA_MEDIA_DIR"):
            await LocalStorage(tmp_path / "file").check()

    async def test_doctor_reports_s3_in_words(self, settings: Settings, s3_endpoint: str) -> None:
        check = dict(doctor.CHECKS)["storage"]
        bucket = create_bucket(s3_endpoint)
        ok = settings.model_copy(update=s3_settings(s3_endpoint, bucket))
        assert await check(ok) == (f"S3 bucket '{bucket}' at {s3_endpoint} is reachable and writable "
                                   "(presigned URLs valid 3600 s)")
        missing = settings.model_copy(update=s3_settings(s3_endpoint, "gone"))
        with pytest.raises(StorageUnavailable, match="does not exist"):
            await check(missing)


class TestAvatarOnS3:
    async def test_upload_then_serve(self, settings: Settings, s3_endpoint: str) -> None:
        bucket = create_bucket(s3_endpoint)
        app = create_app(settings.model_copy(update=s3_settings(s3_endpoint, bucket)), configure_logs=False)
        assert isinstance(app.state.runtime.storage, S3Storage)
        transport = httpx2.ASGITransport(app=app, client=("127.0.0.1", 50000))
        try:
            async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as client:
                b = Browser(client)
                await b.signup("cloudy")
                out = io.BytesIO()
                Image.new("RGB", (300, 300), (10, 200, 10)).save(out, "PNG")
                r = await b.put("/api/v1/me/avatar", files={"file": ("a.png", out.getvalue(), "image/png")})
                assert r.status_code == 200, r.text
                url = r.json()["avatar_url"]
                served = await client.get(url)
        finally:
            await app.state.runtime.close()
        assert served.status_code == 307
        assert served.headers["cache-control"] == "private, max-age=60"
        location = served.headers["location"]
        assert location.startswith(f"{s3_endpoint}/{bucket}/avatars/") and "X-Amz-Signature=" in location
        async with httpx2.AsyncClient() as plain:
            image = await plain.get(location)
        assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
        with Image.open(io.BytesIO(image.content)) as img:
            assert (img.format, img.size) == ("JPEG", (256, 256))
        assert not (settings.effective_media_dir / url.removeprefix("/media/")).exists()
        s3 = boto3.session.Session().client("s3", endpoint_url=s3_endpoint, region_name=REGION,
                                            aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY)
        try:
            assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 1
        finally:
            s3.close()
