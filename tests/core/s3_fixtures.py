"""A real S3-compatible server for the storage tests (moto's, over HTTP on 127.0.0.1), and an
independent SigV4 check of presigned URLs: moto serves presigned URLs without verifying their
signature or expiry, so the tests verify them the way S3 does, from the secret key."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, quote, urlsplit

import boto3

ACCESS_KEY = "AKIASHUATESTKEY00000"
SECRET_KEY = "shua-test-secret-not-for-production"
REGION = "us-east-1"


@contextmanager
def moto_server() -> Iterator[str]:
    """Start moto's S3 server on a free port; yields its endpoint URL, stops it (and its thread) after."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def s3_settings(endpoint: str, bucket: str) -> dict[str, object]:
    """Settings overrides that point the app at the test server's bucket."""
    return {"s3_endpoint_url": endpoint, "s3_bucket": bucket, "s3_region": REGION,
            "s3_access_key_id": ACCESS_KEY, "s3_secret_access_key": SECRET_KEY}


def create_bucket(endpoint: str) -> str:
    name = f"shua-test-{secrets.token_hex(4)}"
    client = boto3.session.Session().client(
        "s3", endpoint_url=endpoint, region_name=REGION,
        aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY)
    try:
        client.create_bucket(Bucket=name)
    finally:
        client.close()
    return name


def closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def presigned_url_valid(url: str, *, secret: str, now: datetime) -> bool:
    """What S3 checks for a query-signed GET (AWS SigV4 documentation, "Authenticating Requests:
    Using Query Parameters"), with the clock passed in so tests never wait for an expiry."""
    parts = urlsplit(url)
    params = dict(parse_qsl(parts.query, keep_blank_values=True))
    signature = params.pop("X-Amz-Signature", "")
    if params.get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256" or params.get("X-Amz-SignedHeaders") != "host":
        return False
    signed_at = datetime.strptime(params["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    if not signed_at <= now <= signed_at + timedelta(seconds=int(params["X-Amz-Expires"])):
        return False
    query = "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in sorted(params.items()))
    canonical = "\n".join(["GET", parts.path, query, f"host:{parts.netloc}", "", "host", "UNSIGNED-PAYLOAD"])
    scope = params["X-Amz-Credential"].split("/", 1)[1]
    day, region, service, _ = scope.split("/")
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", params["X-Amz-Date"], scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = _hmac(_hmac(_hmac(_hmac(f"AWS4{secret}".encode(), day), region), service), "aws4_request")
    expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)
