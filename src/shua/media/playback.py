"""Playback URLs and access. Public published videos are served at `/media/videos/{id}/...`;
everything else only through a signed, expiring prefix `/media/s/{exp}.{sig}/videos/{id}/...`.
The signature sits in the path, not the query, so the relative URLs inside HLS playlists
(variant playlists, segments) inherit it."""

from __future__ import annotations

from shua.core import clock, security
from shua.media.models import PUBLIC, Video, is_watchable

SIGNED_TTL_SECONDS = 6 * 3600


def _signature(secret: str, video_id: int, expires: int) -> str:
    return security.sign(secret, f"play:{video_id}:{expires}")[:32]


def is_public(video: Video) -> bool:
    return video.visibility == PUBLIC and is_watchable(video)


def playback_path(secret: str, video: Video, key: str, *, now: float | None = None, open_url: bool = True) -> str:
    """The URL path for a stored file of `video` (key under `videos/{id}/`): unsigned for a
    public video unless `open_url` is False (a private account's videos are signed too)."""
    if open_url and is_public(video):
        return f"/media/{key}"
    expires = int((now or clock.utcnow().timestamp()) + SIGNED_TTL_SECONDS)
    return f"/media/s/{expires}.{_signature(secret, video.id, expires)}/{key}"


def token_valid(secret: str, video_id: int, token: str, *, now: float | None = None) -> bool:
    expires_text, _, signature = token.partition(".")
    if not (expires_text.isascii() and expires_text.isdigit() and len(expires_text) <= 12):
        return False
    expires = int(expires_text)
    if expires < (now or clock.utcnow().timestamp()):
        return False
    return security.constant_time_equal(signature, _signature(secret, video_id, expires))
