"""The rendition ladder: plan it from a probe, encode each rung to a faststart H.264/AAC MP4, then
remux the MP4s into an HLS ladder (encode once, package twice).

Every heavy function takes only picklable arguments and touches no global state, so the job
runner can call it in a process pool (PyAV threads gain little under the GIL).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import av.error
import av.filter

from shua.media.errors import Corrupt
from shua.media.probe import OPEN_OPTIONS, ProbeResult, too_many_decode_errors

Progress = Callable[[float], None]


@dataclass(frozen=True)
class Rung:
    name: str
    short_side: int
    bit_rate: int


@dataclass(frozen=True)
class LadderConfig:
    """Operator-tunable ladder. Rungs are by the picture's *short* side, so a vertical 1080x1920
    video and a horizontal 1920x1080 one both reach 1080p."""

    rungs: tuple[Rung, ...] = (
        Rung("360p", 360, 800_000),
        Rung("540p", 540, 1_500_000),
        Rung("720p", 720, 2_500_000),
        Rung("1080p", 1080, 4_500_000),
    )
    preset: str = "veryfast"
    gop_seconds: float = 2.0
    max_fps: float = 60.0
    audio_bit_rate: int = 128_000
    peak_ratio: float = 1.5  # maxrate = bit_rate * peak_ratio; bufsize = 2 * bit_rate


@dataclass(frozen=True)
class Rendition:
    """One rung, fully resolved for one source: upright display size, rates, GOP in frames."""

    name: str
    width: int
    height: int
    fps: Fraction
    gop: int
    bit_rate: int
    max_rate: int
    buf_size: int
    audio_bit_rate: int
    preset: str = "veryfast"


def plan_ladder(probe: ProbeResult, config: LadderConfig | None = None) -> list[Rendition]:
    """Rungs the source can fill, lowest first; never upscaled, never empty."""
    config = config or LadderConfig()
    rungs = sorted(config.rungs, key=lambda rung: rung.short_side)
    width, height = probe.display_width, probe.display_height
    short = min(width, height)
    chosen = [rung for rung in rungs if rung.short_side <= short] or rungs[:1]
    fps = _output_fps(probe.frame_rate, config.max_fps)
    gop = max(1, round(config.gop_seconds * fps))
    plan = []
    for rung in chosen:
        scale = min(1.0, rung.short_side / short)
        out_w, out_h = _even(width * scale), _even(height * scale)
        # A rung squeezed below its nominal size (tiny source) needs proportionally fewer bits.
        nominal_pixels = rung.short_side * rung.short_side * 16 / 9
        bit_rate = int(rung.bit_rate * min(1.0, max(0.08, out_w * out_h / nominal_pixels)))
        plan.append(Rendition(
            name=rung.name, width=out_w, height=out_h, fps=fps, gop=gop, bit_rate=bit_rate,
            max_rate=int(bit_rate * config.peak_ratio), buf_size=2 * bit_rate,
            audio_bit_rate=config.audio_bit_rate, preset=config.preset,
        ))
    return plan


def _even(value: float) -> int:
    return max(2, int(value) // 2 * 2)


def _output_fps(rate: float | None, max_fps: float) -> Fraction:
    fps = Fraction(rate or 30).limit_denominator(1001)
    while fps > max_fps:  # 120 -> 60, 100 -> 50: drop whole frames, never blend
        fps /= 2
    return fps


def transcode_mp4(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    rendition: Rendition,
    on_progress: Progress | None = None,
) -> Path:
    """Encode `src` to an upright, faststart H.264/AAC MP4 with a fixed GOP (keyframes at the
    same instants in every rendition). A source without sound gives a video-only MP4."""
    with av.open(str(src), options=OPEN_OPTIONS) as inp:
        v_in = inp.streams.video[0]
        v_in.thread_type = "AUTO"
        a_in = inp.streams.audio[0] if inp.streams.audio else None
        with av.open(str(dst), "w", format="mp4", options={"movflags": "+faststart"}) as out:
            v_out = out.add_stream("libx264", rate=rendition.fps)
            assert isinstance(v_out, av.VideoStream)
            v_out.width, v_out.height, v_out.pix_fmt = rendition.width, rendition.height, "yuv420p"
            v_out.bit_rate = rendition.bit_rate
            v_out.options = _x264_options(rendition)
            # PyAV opens encoders with thread_type SLICE, which libx264 turns into sliced threads;
            # frame threads (the ffmpeg CLI's default) keep both cores busy: 0.81× → 0.99× the
            # CLI's speed on the same CPU time (bench/transcode_profile.py, idle 2-core machine).
            v_out.codec_context.thread_type = "FRAME"
            a_out = None
            if a_in is not None:
                rate = a_in.codec_context.sample_rate if a_in.codec_context.sample_rate in (44_100, 48_000) else 48_000
                added = out.add_stream("aac", rate=rate, layout="stereo")
                assert isinstance(added, av.AudioStream)
                added.bit_rate = rendition.audio_bit_rate
                a_out = added
            graph, source, sink = _video_graph(v_in, rendition)
            duration = float(inp.duration / av.time_base) if inp.duration else 0.0
            tracker = _Progress(on_progress, duration)
            frames = errors = 0
            streams = [s for s in (v_in, a_in) if s is not None]
            for packet in inp.demux(streams):
                try:
                    decoded = packet.decode()
                except av.error.FFmpegError:
                    errors += 1
                    continue
                for frame in decoded:
                    if isinstance(frame, av.VideoFrame):
                        frames += 1
                        tracker.update(frame.time)
                        source.push(frame)
                        _drain(sink, v_out, out)
                    elif a_out is not None and isinstance(frame, av.AudioFrame):
                        out.mux(a_out.encode(frame))
            source.push(None)
            _drain(sink, v_out, out)
            out.mux(v_out.encode())
            if a_out is not None:
                out.mux(a_out.encode())
            del graph
    if too_many_decode_errors(errors, frames):
        Path(dst).unlink(missing_ok=True)
        raise Corrupt(decode_errors=errors, decoded_frames=frames)
    tracker.done()
    return Path(dst)


def _x264_options(rendition: Rendition) -> dict[str, object]:
    return {
        "preset": rendition.preset,
        "profile": "high",
        "maxrate": str(rendition.max_rate),
        "bufsize": str(rendition.buf_size),
        # A keyframe exactly every `gop` frames and never elsewhere: HLS segments of every
        # rendition then start at the same instants, so players can switch at any boundary.
        "g": str(rendition.gop),
        "keyint_min": str(rendition.gop),
        "sc_threshold": "0",
    }


def _video_graph(
    stream: av.VideoStream, rendition: Rendition
) -> tuple[av.filter.Graph, av.filter.FilterContext, av.filter.FilterContext]:
    """decode -> (turn upright) -> scale -> yuv420p -> constant frame rate."""
    graph = av.filter.Graph()
    chain = [graph.add_buffer(template=stream)]
    rotation = _stream_rotation(stream)
    steps: list[tuple[str, str]] = {
        90: [("transpose", "cclock")],
        180: [("hflip", ""), ("vflip", "")],
        270: [("transpose", "clock")],
    }.get(rotation, [])
    steps += [
        ("scale", f"{rendition.width}:{rendition.height}:flags=bicubic"),
        ("setsar", "1"),
        ("format", "yuv420p"),
        ("fps", str(rendition.fps)),
    ]
    for name, args in steps:
        chain.append(graph.add(name, args))
    chain.append(graph.add("buffersink"))
    for upstream, downstream in zip(chain, chain[1:], strict=False):
        upstream.link_to(downstream)
    graph.configure()
    return graph, chain[0], chain[-1]


def _stream_rotation(stream: av.VideoStream) -> int:
    """Rotation of the first decoded frame, read by a separate decoder so the caller's stream
    position is untouched."""
    with av.open(stream.container.name, options=OPEN_OPTIONS) as probe_in:
        for frame in probe_in.decode(probe_in.streams.video[0]):
            return (round(frame.rotation / 90) * 90) % 360
    return 0


def _drain(sink: av.filter.FilterContext, stream: av.VideoStream, out: av.container.OutputContainer) -> None:
    while True:
        try:
            frame = sink.pull()
        except (av.error.BlockingIOError, av.error.EOFError):
            return
        assert isinstance(frame, av.VideoFrame)
        frame.pict_type = av.video.frame.PictureType.NONE  # let x264 place keyframes by GOP
        out.mux(stream.encode(frame))


class _Progress:
    """Calls back with a fraction in [0, 1], at most once per percent."""

    def __init__(self, callback: Progress | None, duration: float) -> None:
        self.callback, self.duration, self.last = callback, duration, -1.0

    def update(self, seconds: float | None) -> None:
        if self.callback is None or not self.duration or seconds is None:
            return
        fraction = min(0.99, max(0.0, seconds / self.duration))
        if fraction - self.last >= 0.01:
            self.last = fraction
            self.callback(fraction)

    def done(self) -> None:
        if self.callback is not None:
            self.callback(1.0)


def package_hls(
    renditions: Sequence[tuple[Rendition, str | os.PathLike[str]]],
    out_dir: str | os.PathLike[str],
    *,
    segment_seconds: float = 2.0,
    segment_type: str = "mpegts",
) -> Path:
    """Remux encoded MP4 renditions into `out_dir/<name>/index.m3u8` plus segments, and write
    `out_dir/master.m3u8`. No re-encoding: segments cut on the renditions' aligned keyframes."""
    root = Path(out_dir)
    variants = []
    for rendition, mp4 in renditions:
        folder = root / rendition.name
        folder.mkdir(parents=True, exist_ok=True)
        codecs = _remux_hls(Path(mp4), folder, segment_seconds, segment_type)
        peak, average = _measure_playlist(folder / "index.m3u8")
        variants.append((rendition, codecs, peak, average))
    lines = ["#EXTM3U", "#EXT-X-VERSION:7" if segment_type == "fmp4" else "#EXT-X-VERSION:3",
             "#EXT-X-INDEPENDENT-SEGMENTS"]
    for rendition, codecs, peak, average in sorted(variants, key=lambda v: v[0].width * v[0].height):
        lines.append(
            f"#EXT-X-STREAM-INF:BANDWIDTH={peak},AVERAGE-BANDWIDTH={average},"
            f'RESOLUTION={rendition.width}x{rendition.height},CODECS="{",".join(codecs)}",'
            f"FRAME-RATE={float(rendition.fps):.3f}"
        )
        lines.append(f"{rendition.name}/index.m3u8")
    master = root / "master.m3u8"
    master.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return master


def _remux_hls(mp4: Path, folder: Path, segment_seconds: float, segment_type: str) -> list[str]:
    extension = "m4s" if segment_type == "fmp4" else "ts"
    options = {
        "hls_time": str(segment_seconds),
        "hls_playlist_type": "vod",
        "hls_segment_type": segment_type,
        "hls_flags": "independent_segments",
        "hls_segment_filename": str(folder / f"seg_%03d.{extension}"),
    }
    if segment_type == "fmp4":
        options["hls_fmp4_init_filename"] = "init.mp4"
    codecs = []
    with av.open(str(mp4), options=OPEN_OPTIONS) as inp, \
            av.open(str(folder / "index.m3u8"), "w", format="hls", options=options) as out:
        mapping = {}
        for stream in inp.streams:
            if stream.type in ("video", "audio"):
                mapping[stream.index] = out.add_stream_from_template(stream)
                codecs.append(_codec_tag(stream))
        for packet in inp.demux(list(inp.streams)):
            if packet.dts is None or packet.stream.index not in mapping:
                continue
            packet.stream = mapping[packet.stream.index]
            out.mux(packet)
    return codecs


def _codec_tag(stream: av.stream.Stream) -> str:
    """RFC 6381 codec string for the master playlist, read from the stream's own headers."""
    context = stream.codec_context
    if context.name == "h264":
        extradata = context.extradata or b""
        if len(extradata) >= 4 and extradata[0] == 1:  # avcC: profile, constraints, level
            return f"avc1.{extradata[1]:02x}{extradata[2]:02x}{extradata[3]:02x}"
        return "avc1.640028"
    if context.name == "aac":
        return "mp4a.40.2"
    return context.name


def _measure_playlist(playlist: Path) -> tuple[int, int]:
    """Peak and average bits per second over the segments, as the HLS spec defines BANDWIDTH."""
    peak = total_bytes = 0
    total_seconds = 0.0
    duration = 0.0
    init = playlist.parent / "init.mp4"
    init_bytes = init.stat().st_size if init.exists() else 0
    for line in playlist.read_text(encoding="utf-8").splitlines():
        if line.startswith("#EXTINF:"):
            duration = float(line[len("#EXTINF:"):].split(",")[0])
        elif line and not line.startswith("#"):
            size = (playlist.parent / line).stat().st_size
            total_bytes += size
            total_seconds += duration
            if duration > 0:
                peak = max(peak, int((size + init_bytes) * 8 / duration))
    average = int(total_bytes * 8 / total_seconds) if total_seconds else peak
    return max(peak, average, 1), max(average, 1)
