"""Server-rendered pages of the web client (filled in by the web client work)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
