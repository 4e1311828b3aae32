"""The categories a creator files a video under. Codes are stable; their names live in the UI
catalogues (`category.<code>`), and search indexes every language's name, so 美食 and "food"
both find a cooking video whose caption says neither. The list follows KuaiRec's first-level
categories (a real short-video app's), which the demo's videos come from."""

from __future__ import annotations

from typing import Literal

from shua.core import i18n

Category = Literal[
    "food", "pets", "fashion", "sports", "travel", "life", "dance", "music", "photography", "parenting",
    "comedy", "fitness", "rural", "cars", "games", "anime", "knowledge", "beauty",
]
CATEGORIES: tuple[str, ...] = Category.__args__  # type: ignore[attr-defined]

# KuaiRec's first-level category names → our codes (the demo and the benchmarks read KuaiRec).
FROM_KUAIREC = {
    "美食": "food", "宠物": "pets", "时尚": "fashion", "运动": "sports", "旅游": "travel", "生活": "life",
    "舞蹈": "dance", "音乐": "music", "摄影": "photography", "亲子": "parenting", "喜剧": "comedy",
    "健身": "fitness", "三农": "rural", "汽车": "cars", "游戏": "games", "二次元": "anime", "颜值": "beauty",
    "美妆": "beauty", "科普": "knowledge", "教育": "knowledge",
}


def names(code: str | None) -> list[str]:
    """The category's name in every UI language (what search indexes), or [] for none."""
    if code not in CATEGORIES:
        return []
    return list(dict.fromkeys(i18n.catalog(locale).get(f"category.{code}", code) for locale in i18n.LOCALES))
