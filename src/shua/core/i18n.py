"""zh-CN and English UI strings. Catalogues are JSON files in shua/i18n/, keyed by message id;
error messages for the client are looked up by their stable error code."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from pathlib import Path

LOCALES = ("zh-CN", "en")
CATALOG_DIR = Path(__file__).resolve().parent.parent / "i18n"


@cache
def catalog(locale: str) -> dict[str, str]:
    path = CATALOG_DIR / f"{locale}.json"
    data: dict[str, str] = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    return data


def translator(locale: str) -> Callable[[str], str]:
    primary, fallback = catalog(locale), catalog("en")

    def t(key: str) -> str:
        return primary.get(key) or fallback.get(key) or key

    return t


def negotiate(accept_language: str | None, *, preferred: str | None = None, default: str = "zh-CN") -> str:
    """An explicit choice wins; otherwise the first supported language in Accept-Language."""
    if preferred in LOCALES:
        return preferred
    ranked: list[tuple[float, str]] = []
    for index, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        ranked.append((quality - index * 1e-6, tag.strip().lower()))
    for _, tag in sorted(ranked, reverse=True):
        if tag.startswith("zh"):
            return "zh-CN"
        if tag.startswith("en"):
            return "en"
    return default if default in LOCALES else "zh-CN"
