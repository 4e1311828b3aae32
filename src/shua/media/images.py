"""Photos people upload (a daily post, a product's pictures, a review's, an after-sales claim's):
decoded and re-encoded here, never stored as sent — a re-encoded upright JPEG carries no EXIF
(a phone's GPS position), no trailing payload and no format a browser would sniff otherwise."""

from __future__ import annotations

import io

from PIL import Image, ImageOps

PHOTO_FORMATS = ("JPEG", "PNG", "WEBP", "GIF")
PHOTO_MAX_SIDE = 1440
# A decompression bomb (a tiny file that decodes to gigapixels) is refused before decoding: the
# header gives the size, and nothing is decoded past it.
MAX_PIXELS = 40_000_000


class NotAPhoto(ValueError):
    """The bytes are not a photo in one of PHOTO_FORMATS; each context says so in its own words."""


def normalise_photo(data: bytes, *, max_side: int = PHOTO_MAX_SIDE) -> bytes:
    """An upright JPEG at most `max_side` px, re-encoded so EXIF (GPS!) and payloads are gone."""
    try:
        with Image.open(io.BytesIO(data), formats=PHOTO_FORMATS) as img:
            if img.width * img.height > MAX_PIXELS:
                raise NotAPhoto(f"{img.width}×{img.height} is more than {MAX_PIXELS:,} pixels")
            img.seek(0)
            rgb = ImageOps.exif_transpose(img).convert("RGB")
            rgb.thumbnail((max_side, max_side))
            out = io.BytesIO()
            rgb.save(out, "JPEG", quality=85, optimize=True)
            return out.getvalue()
    except Exception as exc:  # hostile files fail in many ways; each means "not a photo"
        raise NotAPhoto(str(exc)) from exc
