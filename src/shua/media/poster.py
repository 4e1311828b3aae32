"""Still images from a video: the poster (cover frame) and a sprite sheet of thumbnails for
scrubbing previews. Both honour rotation, so they look like the video plays."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import av
import av.error
from PIL import Image

from shua.media.probe import OPEN_OPTIONS

_UPRIGHT = {90: Image.Transpose.ROTATE_90, 180: Image.Transpose.ROTATE_180, 270: Image.Transpose.ROTATE_270}


@dataclass(frozen=True)
class Sprite:
    """Where each thumbnail sits: tile `i` is at column i % columns, row i // columns."""

    columns: int
    rows: int
    tile_width: int
    tile_height: int
    times: tuple[float, ...]


# The sprite every video gets: tile i shows the moment duration × (i + 0.5) / SPRITE_COUNT.
SPRITE_COUNT, SPRITE_COLUMNS = 10, 5


def make_poster(
    src: str | os.PathLike[str], dst_jpeg: str | os.PathLike[str], at_seconds: float = 0.0,
    *, max_side: int | None = None, quality: int = 85,
) -> tuple[int, int]:
    """Write the frame shown at `at_seconds` (the last frame if past the end) as an upright JPEG;
    return its size."""
    with av.open(str(src), options=OPEN_OPTIONS) as container:
        image = _frame_at(container, at_seconds)
    if max_side:
        image.thumbnail((max_side, max_side))
    image.save(str(dst_jpeg), format="JPEG", quality=quality, optimize=True)
    return image.size


def make_sprite(
    src: str | os.PathLike[str], dst_jpeg: str | os.PathLike[str], duration: float,
    *, count: int = SPRITE_COUNT, columns: int = SPRITE_COLUMNS, tile_side: int = 160, quality: int = 75,
) -> Sprite:
    """A grid of `count` evenly spaced upright thumbnails (tile fits in `tile_side`) as one JPEG."""
    times = tuple(round(duration * (i + 0.5) / count, 3) for i in range(count))
    tiles = []
    with av.open(str(src), options=OPEN_OPTIONS) as container:
        for at in times:
            tile = _frame_at(container, at)
            tile.thumbnail((tile_side, tile_side))
            tiles.append(tile)
    tile_w, tile_h = tiles[0].size
    rows = math.ceil(count / columns)
    sheet = Image.new("RGB", (tile_w * columns, tile_h * rows))
    for i, tile in enumerate(tiles):
        sheet.paste(tile.resize((tile_w, tile_h)), ((i % columns) * tile_w, (i // columns) * tile_h))
    sheet.save(str(dst_jpeg), format="JPEG", quality=quality, optimize=True)
    return Sprite(columns=columns, rows=rows, tile_width=tile_w, tile_height=tile_h, times=times)


def _frame_at(container: av.container.InputContainer, at_seconds: float) -> Image.Image:
    stream = container.streams.video[0]
    # Seeking lands on the keyframe at or before the target; decode forward to the exact frame.
    time_base = stream.time_base
    offset = float(stream.start_time * time_base) if stream.start_time and time_base else 0.0
    target = max(0.0, at_seconds) + offset
    if time_base is not None and at_seconds > 0:
        container.seek(int(target / time_base), stream=stream, backward=True)
    chosen: av.VideoFrame | None = None
    try:
        for frame in container.decode(stream):
            if chosen is not None and frame.time is not None and frame.time > target + 1e-6:
                break
            chosen = frame
    except av.error.FFmpegError:
        if chosen is None:
            raise
    if chosen is None:
        raise ValueError("no decodable video frame")
    image: Image.Image = chosen.to_image()  # type: ignore[no-untyped-call]
    rotation = (round(chosen.rotation / 90) * 90) % 360
    return image.transpose(_UPRIGHT[rotation]) if rotation in _UPRIGHT else image
