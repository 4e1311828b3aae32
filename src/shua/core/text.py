"""Validated text types for request schemas: trimmed, length-bounded, free of control
characters. Text is stored as given (HTML and SQL included) and escaped when rendered; the one
exception, merchant-written rich text, is sanitised to a few bare tags on the way in."""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated

from pydantic import AfterValidator, StringConstraints

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202a-\u202e\u2066-\u2069]")


def _clean(value: str) -> str:
    value = unicodedata.normalize("NFC", value)
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters")
    return value


def _single_line(value: str) -> str:
    if "\n" in value or "\r" in value:
        raise ValueError("must be a single line")
    return value


def Line(max_length: int, min_length: int = 0) -> type[str]:  # noqa: N802 - reads like a type
    """A single line of user text."""
    return Annotated[  # type: ignore[return-value]
        str,
        StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length),
        AfterValidator(_clean),
        AfterValidator(_single_line),
    ]


def Paragraph(max_length: int) -> type[str]:  # noqa: N802
    """Multi-line user text (bios, captions)."""
    return Annotated[  # type: ignore[return-value]
        str, StringConstraints(strip_whitespace=True, max_length=max_length), AfterValidator(_clean)
    ]


# Rich text a merchant may write (a product's description): paragraphs, emphasis, lists and
# headings, with no attributes at all — so no links, styles, event handlers or images to abuse.
RICH_TAGS = frozenset({"p", "br", "b", "strong", "i", "em", "u", "s", "ul", "ol", "li", "h3", "h4", "blockquote"})


def sanitise_html(value: str) -> str:
    """`value` as safe HTML: the tags of RICH_TAGS kept bare, every other tag dropped (script and
    style with their content), text escaped — plain text comes out as escaped plain text."""
    import nh3

    return nh3.clean(value, tags=set(RICH_TAGS), attributes={}, clean_content_tags={"script", "style"},
                     strip_comments=True).strip()


def RichText(max_length: int) -> type[str]:  # noqa: N802
    """Merchant-written HTML, sanitised on the way in (stored and shown as it comes out)."""
    return Annotated[  # type: ignore[return-value]
        str, StringConstraints(strip_whitespace=True, max_length=max_length), AfterValidator(_clean),
        AfterValidator(sanitise_html),
    ]
