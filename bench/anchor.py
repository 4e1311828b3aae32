"""Reference apps for bench/api.py, served exactly like Shua (`uvicorn --app-dir bench ...`).

`app` is the anchor: a bare Starlette hello-world JSON endpoint, the floor the ratio is
measured against. `fastapi_app` is the same endpoint on a bare FastAPI app; `--breakdown`
measures it to separate the framework's own cost from Shua's.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


async def hello(request: Request) -> JSONResponse:
    return JSONResponse({"hello": "world"})


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


app = Starlette(routes=[Route("/", hello), Route("/healthz", healthz)])

fastapi_app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)


@fastapi_app.get("/")
async def fastapi_hello() -> dict[str, str]:
    return {"hello": "world"}


@fastapi_app.get("/healthz")
async def fastapi_healthz() -> dict[str, str]:
    return {"status": "ok"}
