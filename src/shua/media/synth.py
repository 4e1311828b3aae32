"""Synthetic test videos made locally with PyAV and Pillow (nothing downloaded): moving shapes,
an optional caption and frame counter, an optional sine tone, optional rotation metadata.
Used by the tests and by the demo-content generator."""

from __future__ import annotations

import colorsys
import math
import struct
from fractions import Fraction
from pathlib import Path

import av
from PIL import Image, ImageDraw, ImageFont

# Fonts tried in order; the first that exists wins. WenQuanYi covers Chinese captions.
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
)
AUDIO_RATE = 48_000
# PyAV pairs a container with the audio codec it can hold.
_AUDIO_CODEC = {".webm": "libopus", ".mkv": "aac", ".mp4": "aac", ".mov": "aac", ".m4a": "aac"}
_FAST = {"libx264": {"preset": "ultrafast"}, "libx265": {"preset": "ultrafast", "x265-params": "log-level=error"}}


def load_font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """A TrueType font at `size` if one is installed, else Pillow's built-in font."""
    for candidate in FONT_CANDIDATES:
        if Path(candidate).exists():
            return ImageFont.truetype(candidate, size)
    return ImageFont.load_default(size=size)


def synthesize(
    dst: str | Path,
    *,
    duration: float = 3.0,
    width: int = 320,
    height: int = 568,
    fps: int = 30,
    audio: bool = True,
    rotation: int = 0,
    codec: str = "libx264",
    caption: str | None = None,
    tone_hz: float = 440.0,
    seed: int = 0,
    options: dict[str, str] | None = None,
) -> Path:
    """Write a synthetic clip to `dst` (container from the suffix) and return its path.

    `rotation` is stored as a display matrix: degrees counter-clockwise to turn the coded frames
    for upright display (PyAV's and Pillow's convention). A phone held upright typically records
    landscape frames with rotation -90 (= 270), i.e. the legacy `rotate=90` tag.
    """
    path = Path(dst)
    n_frames = max(1, round(duration * fps))
    with av.open(str(path), "w") as out:
        video = out.add_stream(codec, rate=fps)
        assert isinstance(video, av.VideoStream)
        video.width, video.height = width, height
        video.pix_fmt = "yuv420p"
        # Sources only need to be valid, not pretty: the fastest x264/x265 preset keeps tests quick.
        video.options = dict(options if options is not None else _FAST.get(codec, {}))
        if rotation % 360:
            video.set_display_rotation(rotation)
        sound: av.AudioStream | None = None
        if audio:
            added = out.add_stream(_AUDIO_CODEC.get(path.suffix, "aac"), rate=AUDIO_RATE, layout="stereo")
            assert isinstance(added, av.AudioStream)
            sound = added
        painter = _Painter(width, height, caption, seed)
        for index in range(n_frames):
            frame = av.VideoFrame.from_image(painter.frame(index, n_frames, fps))  # type: ignore[no-untyped-call]
            frame.pts = index
            frame.time_base = Fraction(1, fps)
            out.mux(video.encode(frame))
        out.mux(video.encode())
        if sound is not None:
            for frame in _tone_frames(duration, tone_hz):
                out.mux(sound.encode(frame))
            out.mux(sound.encode())
    return path


def synthesize_audio(dst: str | Path, *, duration: float = 2.0, tone_hz: float = 440.0) -> Path:
    """An audio-only file (e.g. `.m4a`): a container that holds no video stream."""
    path = Path(dst)
    with av.open(str(path), "w") as out:
        sound = out.add_stream(_AUDIO_CODEC.get(path.suffix, "aac"), rate=AUDIO_RATE, layout="stereo")
        assert isinstance(sound, av.AudioStream)
        for frame in _tone_frames(duration, tone_hz):
            out.mux(sound.encode(frame))
        out.mux(sound.encode())
    return path


def _tone_frames(duration: float, tone_hz: float, chunk: int = 1024) -> list[av.AudioFrame]:
    frames = []
    total = round(duration * AUDIO_RATE)
    step = 2 * math.pi * tone_hz / AUDIO_RATE
    for start in range(0, total, chunk):
        count = min(chunk, total - start)
        # Interleaved stereo s16, a quiet tone with a slow fade so it is not a harsh beep.
        samples: list[int] = []
        for i in range(start, start + count):
            value = int(6000 * math.sin(step * i) * (0.6 + 0.4 * math.sin(i / AUDIO_RATE * 3)))
            samples += (value, value)
        frame = av.AudioFrame(format="s16", layout="stereo", samples=count)
        frame.planes[0].update(struct.pack(f"<{len(samples)}h", *samples))
        frame.sample_rate = AUDIO_RATE
        frame.pts = start
        frame.time_base = Fraction(1, AUDIO_RATE)
        frames.append(frame)
    return frames


class _Painter:
    """Draws frame `i`: a drifting background hue, a bouncing box, an orbiting disc, text."""

    def __init__(self, width: int, height: int, caption: str | None, seed: int) -> None:
        self.width, self.height = width, height
        self.caption = caption
        self.seed = seed
        short = min(width, height)
        self.box = max(2, short // 5)
        self.font = load_font(max(8, short // 14)) if short >= 48 else None
        self.caption_layer = self._caption_layer() if caption and self.font else None

    def _caption_layer(self) -> Image.Image:
        assert self.font is not None and self.caption is not None
        layer = Image.new("RGBA", (self.width, self.height), (0, 0, 0, 0))
        draw = ImageDraw.Draw(layer)
        left, top, right, bottom = draw.textbbox((0, 0), self.caption, font=self.font)
        x = max(4, (self.width - (right - left)) // 2)
        # In the upper third: an app overlays its own caption and buttons near the bottom.
        y = self.height // 4
        draw.rectangle((x - 6, y - 4, x + right - left + 6, y + bottom - top + 8), fill=(0, 0, 0, 140))
        draw.text((x, y), self.caption, font=self.font, fill=(255, 255, 255, 255))
        return layer

    def frame(self, index: int, total: int, fps: int) -> Image.Image:
        t = index / max(1, fps)
        hue = (self.seed * 47 + index * 2) % 256
        red, green, blue = colorsys.hsv_to_rgb(hue / 256, 0.47, 0.35)
        image = Image.new("RGB", (self.width, self.height), (int(red * 255), int(green * 255), int(blue * 255)))
        draw = ImageDraw.Draw(image)
        span_x = max(1, self.width - self.box)
        span_y = max(1, self.height - self.box)
        x = int(abs((t * 0.4 * span_x * 2) % (2 * span_x) - span_x))
        y = int(abs((t * 0.3 * span_y * 2) % (2 * span_y) - span_y))
        draw.rectangle((x, y, x + self.box, y + self.box), fill=(240, 200, 40))
        cx = self.width / 2 + math.cos(t * 2) * self.width / 4
        cy = self.height / 2 + math.sin(t * 2) * self.height / 4
        r = self.box / 2
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(40, 160, 240))
        if self.font is not None:
            draw.text((6, 4), f"{index:04d}", font=self.font, fill=(255, 255, 255))
        if self.caption_layer is not None:
            image.paste(self.caption_layer, (0, 0), self.caption_layer)
        return image
