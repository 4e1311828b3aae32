"""Every error leaves as RFC 9457 problem+json with a stable `code`; never a stack trace."""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response

from shua.core.errors import ShuaError

log = logging.getLogger("shua.web")
PROBLEM = "application/problem+json"

_HTTP_CODES = {
    # FastAPI raises the 400 only when it cannot parse a body (bad UTF-8, nesting too deep).
    400: "request.malformed", 401: "auth.required", 403: "forbidden", 404: "not_found",
    405: "request.method_not_allowed", 406: "request.not_acceptable", 413: "request.too_large",
    415: "request.unsupported_media_type", 429: "rate_limited",
}


def problem(
    request: Request, *, status: int, code: str, title: str, detail: str | None = None,
    headers: dict[str, str] | None = None, **extra: Any,
) -> Response:
    body: dict[str, Any] = {
        "type": f"https://shua.dev/problems/{code}",
        "title": title,
        "status": status,
        "code": code,
        "detail": detail or title,
        "instance": request.url.path,
        "request_id": getattr(request.state, "request_id", None),
    }
    body.update({k: v for k, v in extra.items() if v is not None})
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return str(value)


# A problem's own members: an error's details never overwrite them.
_RESERVED = frozenset({"type", "title", "status", "code", "detail", "instance", "request_id", "headers", "request"})


async def shua_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ShuaError)
    return problem(
        request, status=exc.status, code=exc.code, title=exc.title, detail=exc.message,
        headers=exc.headers or None, **{k: _jsonable(v) for k, v in exc.details.items() if k not in _RESERVED},
    )


FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


def _expected_media_type(request: Request, exc: RequestValidationError) -> str | None:
    """The media type the route wanted, when the client sent another (else None).
    FastAPI hands on as raw bytes a body whose content type is not JSON, and parses a form
    body of any other type as an empty form; either way its fields would look "missing"."""
    if isinstance(exc.body, bytes):
        return "application/json"
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if isinstance(exc.body, FormData) and media_type not in FORM_TYPES:
        return "multipart/form-data"
    return None


async def validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    expected = _expected_media_type(request, exc)
    if expected is not None:
        return problem(request, status=415, code="request.unsupported_media_type",
                       title="Unsupported content type",
                       detail=f"Send the body as {expected}", expected=expected)
    errors = [
        {
            "loc": [str(p) for p in err.get("loc", ())],
            "msg": str(err.get("msg", "")),
            "type": str(err.get("type", "")),
        }
        for err in exc.errors()
    ]
    if any(e["type"] == "json_invalid" for e in errors):
        return problem(request, status=400, code="request.malformed",
                       title="The request body is not valid JSON", errors=errors)
    return problem(request, status=422, code="request.invalid", title="The request is not valid",
                   detail="; ".join(f"{'.'.join(e['loc'][1:]) or e['loc'][0]}: {e['msg']}" for e in errors[:5]),
                   errors=errors)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http.error")
    return problem(request, status=exc.status_code, code=code, title=str(exc.detail),
                   headers=getattr(exc, "headers", None))


def _is_outage(exc: BaseException) -> bool:
    """The database (or the network to it) is down or just restarted: worth a retry, not a bug."""
    if isinstance(exc, DBAPIError):
        return exc.connection_invalidated or isinstance(exc, OperationalError | InterfaceError)
    return isinstance(exc, ConnectionError | TimeoutError)


async def outage_error(request: Request, exc: Exception) -> Response:
    log.error("dependency unavailable", extra={"path": request.url.path, "error": type(exc).__name__})
    return problem(request, status=503, code="unavailable", title="Service temporarily unavailable",
                   detail="A backing service did not answer; try again in a moment",
                   headers={"Retry-After": "2"})


async def database_error(request: Request, exc: Exception) -> Response:
    if _is_outage(exc):
        return await outage_error(request, exc)
    return await unhandled_error(request, exc)


async def unhandled_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error", extra={"path": request.url.path})
    return problem(request, status=500, code="internal", title="Something went wrong on our side")


def install(app: FastAPI) -> None:
    app.add_exception_handler(ShuaError, shua_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(DBAPIError, database_error)
    app.add_exception_handler(ConnectionError, outage_error)
    app.add_exception_handler(TimeoutError, outage_error)
    app.add_exception_handler(Exception, unhandled_error)
