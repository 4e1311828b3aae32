"""Probe an uploaded file with PyAV and validate it against the upload limits.

`probe` measures rather than trusts: the header's duration is cross-checked by demuxing every
packet (cheap: no decoding), and the first frames are decoded to count errors. `validate` turns
the measurements into a typed refusal (`media.*` codes) or lets the file through.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import av
import av.error

from shua.media.errors import (
    BadDimensions,
    BadFrameRate,
    Corrupt,
    EmptyFile,
    NotAVideo,
    NoVideoStream,
    TooLong,
    Truncated,
    UnsupportedCodec,
    UnsupportedContainer,
)

# Demuxers we let FFmpeg pick from. Never hls, concat, image2 sequences or anything that opens
# other files or URLs named inside the upload; images are listed so a PNG is told apart cleanly.
DEMUXERS = "mov,matroska,avi,flv,mpegts,mpeg,ogg,asf,png_pipe,jpeg_pipe,webp_pipe,gif,mp3,wav,aac,flac"
IMAGE_FORMATS = frozenset({"png_pipe", "jpeg_pipe", "webp_pipe", "gif"})
OPEN_OPTIONS = {"protocol_whitelist": "file", "format_whitelist": DEMUXERS}


@dataclass(frozen=True)
class Limits:
    """What an upload may be. Defaults follow the product brief; operators configure them."""

    max_duration: float = 600.0
    min_side: int = 16
    max_side: int = 8192
    max_pixels: int = 4096 * 2304
    max_aspect: float = 10.0
    max_frame_rate: float = 120.0
    containers: frozenset[str] = frozenset({"mp4", "mov", "webm", "mkv"})
    video_codecs: frozenset[str] = frozenset({"h264", "hevc", "vp8", "vp9", "av1", "mpeg4", "prores"})
    # Decode errors tolerated among the probed frames: a glitch or two is concealed by the
    # decoder and invisible; more means damaged data that would show as smears or freezes.
    max_decode_errors: int = 2
    max_decode_error_ratio: float = 0.02


@dataclass(frozen=True)
class ProbeResult:
    """What a file really is. Durations in seconds; `rotation` is degrees counter-clockwise to
    turn the coded frames for upright display (0, 90, 180 or 270)."""

    size_bytes: int
    format_name: str
    container: str
    duration: float
    declared_duration: float | None
    bit_rate: int | None
    video_codec: str | None = None
    width: int = 0
    height: int = 0
    rotation: int = 0
    frame_rate: float | None = None
    pix_fmt: str | None = None
    has_audio: bool = False
    audio_codec: str | None = None
    sample_rate: int | None = None
    channels: int | None = None
    video_packets: int = 0
    expected_video_packets: int | None = None
    decoded_frames: int = 0
    decode_errors: int = 0
    scan_complete: bool = True
    streams: tuple[str, ...] = field(default_factory=tuple)

    @property
    def display_width(self) -> int:
        return self.height if self.rotation in (90, 270) else self.width

    @property
    def display_height(self) -> int:
        return self.width if self.rotation in (90, 270) else self.height


def probe(
    path: str | os.PathLike[str], *, decode_frames: int = 300, max_scan_seconds: float = 3 * 3600.0
) -> ProbeResult:
    """Measure a local file: container, streams, real duration, rotation, decode health."""
    size = Path(path).stat().st_size
    if size == 0:
        raise EmptyFile()
    try:
        container = av.open(str(path), options=OPEN_OPTIONS)
    except av.error.FFmpegError as exc:
        raise _unopenable(Path(path)) from exc
    with container:
        return _measure(container, size, decode_frames, max_scan_seconds)


def validate(result: ProbeResult, limits: Limits | None = None) -> None:
    """Raise the first reason `result` cannot be accepted under `limits`; return if it can."""
    limits = limits or Limits()
    if result.format_name in IMAGE_FORMATS:
        raise NotAVideo(format=result.format_name)
    if result.video_codec is None:
        if result.has_audio:
            raise NoVideoStream(streams=list(result.streams))
        raise NotAVideo(format=result.format_name)
    # Absurd sizes first: whatever the codec, a 100000x2 picture is refused for its size.
    _check_dimensions(result, limits)
    if result.container not in limits.containers:
        raise UnsupportedContainer(container=result.container)
    if result.video_codec not in limits.video_codecs:
        raise UnsupportedCodec(codec=result.video_codec)
    if result.frame_rate is not None and not 0 < result.frame_rate <= limits.max_frame_rate:
        raise BadFrameRate(frame_rate=result.frame_rate, max_frame_rate=limits.max_frame_rate)
    longest = max(result.duration, result.declared_duration or 0.0)
    if longest > limits.max_duration or not result.scan_complete:
        raise TooLong(duration=round(result.duration, 3), declared_duration=result.declared_duration,
                      max_duration=limits.max_duration)
    if _looks_truncated(result) or result.video_packets == 0:
        raise Truncated(duration=round(result.duration, 3), declared_duration=result.declared_duration)
    if result.decoded_frames == 0 or _too_many_errors(result.decode_errors, result.decoded_frames, limits):
        raise Corrupt(decode_errors=result.decode_errors, decoded_frames=result.decoded_frames)


def too_many_decode_errors(errors: int, frames: int, limits: Limits | None = None) -> bool:
    """The threshold `validate` applies; the transcoder applies it again over the whole file."""
    return _too_many_errors(errors, frames, limits or Limits())


def _too_many_errors(errors: int, frames: int, limits: Limits) -> bool:
    return errors > max(limits.max_decode_errors, limits.max_decode_error_ratio * frames)


def _check_dimensions(result: ProbeResult, limits: Limits) -> None:
    short, long = sorted((result.width, result.height))
    if (short < limits.min_side or long > limits.max_side or result.width * result.height > limits.max_pixels
            or long / short > limits.max_aspect):
        raise BadDimensions(width=result.width, height=result.height, max_pixels=limits.max_pixels)


def _looks_truncated(result: ProbeResult) -> bool:
    if result.expected_video_packets and result.video_packets < result.expected_video_packets:
        return True  # MP4 indexes every sample up front; missing ones were cut off
    declared = result.declared_duration
    return declared is not None and declared - result.duration > max(1.0, 0.1 * declared)


def _unopenable(path: Path) -> Exception:
    with path.open("rb") as handle:
        head = handle.read(12)
    # An MP4 whose index (moov) never arrived, or a Matroska file cut before its first cluster.
    if head[4:8] == b"ftyp" or head.startswith(b"\x1a\x45\xdf\xa3"):
        return Truncated()
    return NotAVideo()


def _container_name(container: av.container.InputContainer, codecs: set[str]) -> str:
    name = container.format.name
    if name.startswith("mov,"):
        brand = container.metadata.get("major_brand", "").strip().lower()
        if brand == "qt":
            return "mov"
        if brand.startswith(("m4a", "m4b")):
            return "m4a"
        return "3gp" if brand.startswith("3g") else "mp4"
    if name == "matroska,webm":
        return "webm" if codecs <= {"vp8", "vp9", "av1", "opus", "vorbis"} else "mkv"
    return name


def _normalise_rotation(degrees: float) -> int:
    return (round(degrees / 90) * 90) % 360


def _measure(container: av.container.InputContainer, size: int, decode_frames: int, max_scan: float) -> ProbeResult:
    video = container.streams.video[0] if container.streams.video else None
    audio = container.streams.audio[0] if container.streams.audio else None
    codecs = {s.codec_context.name for s in (video, audio) if s is not None}
    declared = container.duration / av.time_base if container.duration and container.duration > 0 else None
    common = {
        "size_bytes": size,
        "format_name": container.format.name,
        "container": _container_name(container, codecs),
        "declared_duration": declared,
        "has_audio": audio is not None,
        "audio_codec": audio.codec_context.name if audio else None,
        "sample_rate": audio.codec_context.sample_rate if audio else None,
        "channels": audio.codec_context.channels if audio else None,
        "streams": tuple(f"{s.type}:{s.codec_context.name if s.codec_context else '?'}" for s in container.streams),
    }
    if video is None:
        duration = _scan_duration(container, audio, max_scan)[0] if audio else 0.0
        return ProbeResult(duration=duration, bit_rate=_bit_rate(container, size, duration), **common)  # type: ignore[arg-type]

    rotation = _normalise_rotation(-float(video.metadata.get("rotate", 0) or 0))
    packets = decoded = errors = 0
    first: float | None = None
    last = 0.0
    complete = True
    streams = [s for s in (video, audio) if s is not None]
    try:
        for packet in container.demux(streams):
            if packet.size == 0 or packet.pts is None or packet.time_base is None:
                continue
            start = float(packet.pts * packet.time_base)
            end = start + float((packet.duration or 0) * packet.time_base)
            first = start if first is None else min(first, start)
            last = max(last, end)
            if last - first > max_scan:
                complete = False
                break
            if packet.stream is not video:
                continue
            packets += 1
            if packets <= decode_frames:
                try:
                    frames = video.decode(packet)
                except av.error.FFmpegError:
                    errors += 1
                    continue
                for frame in frames:
                    if decoded == 0 and frame.rotation:
                        rotation = _normalise_rotation(frame.rotation)
                    decoded += 1
        if packets <= decode_frames:
            decoded += len(video.decode(None))  # frames the decoder held back for reordering
    except av.error.FFmpegError:
        errors += 1  # the demuxer itself choked, or the tail would not decode: damaged data
    duration = max(0.0, last - (first or 0.0))
    rate: float | None = float(video.average_rate or video.guessed_rate or 0) or None
    if rate is None and duration > 0:
        rate = packets / duration
    return ProbeResult(
        duration=duration,
        bit_rate=_bit_rate(container, size, duration),
        video_codec=video.codec_context.name,
        width=video.codec_context.width,
        height=video.codec_context.height,
        rotation=rotation,
        frame_rate=rate,
        pix_fmt=video.codec_context.pix_fmt,
        video_packets=packets,
        expected_video_packets=video.frames or None,
        decoded_frames=decoded,
        decode_errors=errors,
        scan_complete=complete,
        **common,  # type: ignore[arg-type]
    )


def _scan_duration(
    container: av.container.InputContainer, stream: av.stream.Stream, max_scan: float
) -> tuple[float, int]:
    first: float | None = None
    last = 0.0
    count = 0
    try:
        for packet in container.demux(stream):
            if packet.pts is None or packet.time_base is None:
                continue
            start = float(packet.pts * packet.time_base)
            first = start if first is None else min(first, start)
            last = max(last, start + float((packet.duration or 0) * packet.time_base))
            count += 1
            if last - first > max_scan:
                break
    except av.error.FFmpegError:
        pass
    return max(0.0, last - (first or 0.0)), count


def _bit_rate(container: av.container.InputContainer, size: int, duration: float) -> int | None:
    if container.bit_rate:
        return int(container.bit_rate)
    return int(size * 8 / duration) if duration > 0 and math.isfinite(duration) else None
