"""Typed domain errors. Each has a stable machine-readable `code` (API: never renamed)
and an HTTP status; the web layer renders them as RFC 9457 problem+json."""

from __future__ import annotations

from typing import Any, ClassVar


class ShuaError(Exception):
    code: ClassVar[str] = "internal"
    status: ClassVar[int] = 500
    title: ClassVar[str] = "Internal error"

    def __init__(self, message: str | None = None, **details: Any) -> None:
        super().__init__(message or self.title)
        self.message = message or self.title
        self.details = details
        self.headers: dict[str, str] = {}


class InvalidRequest(ShuaError):
    code = "request.invalid"
    status = 422
    title = "The request is not valid"


class MalformedBody(ShuaError):
    code = "request.malformed"
    status = 400
    title = "The request body could not be parsed"


class BodyTooLarge(ShuaError):
    code = "request.too_large"
    status = 413
    title = "The request body is too large"


class UnsupportedMediaType(ShuaError):
    code = "request.unsupported_media_type"
    status = 415
    title = "Unsupported content type"


class NotFound(ShuaError):
    code = "not_found"
    status = 404
    title = "Not found"


class Conflict(ShuaError):
    code = "conflict"
    status = 409
    title = "Conflict"


class Unauthenticated(ShuaError):
    code = "auth.required"
    status = 401
    title = "Log in to continue"


class Forbidden(ShuaError):
    code = "forbidden"
    status = 403
    title = "You are not allowed to do this"


class RateLimited(ShuaError):
    code = "rate_limited"
    status = 429
    title = "Too many requests"

    def __init__(self, retry_after: int, message: str | None = None) -> None:
        super().__init__(message, retry_after=retry_after)
        self.headers["Retry-After"] = str(max(1, retry_after))


class ServiceUnavailable(ShuaError):
    code = "unavailable"
    status = 503
    title = "Service temporarily unavailable"
