"""Ladder planning as a table; real encodes checked by probing what came out."""

from __future__ import annotations

import random
import re
import struct
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from fractions import Fraction
from multiprocessing import get_context
from pathlib import Path

import av
import pytest
from PIL import Image

from shua.media import errors
from shua.media.poster import make_poster, make_sprite
from shua.media.probe import ProbeResult, probe
from shua.media.synth import synthesize
from shua.media.transcode import LadderConfig, Rendition, Rung, package_hls, plan_ladder, transcode_mp4

# Two small rungs and a 1 s GOP keep real encodes fast while still exercising a ladder.
SMALL = LadderConfig(rungs=(Rung("180p", 180, 300_000), Rung("360p", 360, 800_000)), gop_seconds=1.0,
                     preset="ultrafast")


def source(width: int, height: int, rotation: int = 0, fps: float = 30) -> ProbeResult:
    return ProbeResult(size_bytes=1, format_name="mov,mp4", container="mp4", duration=10, declared_duration=10,
                       bit_rate=1, video_codec="h264", width=width, height=height, rotation=rotation, frame_rate=fps)


def sizes(plan: list[Rendition]) -> list[tuple[str, int, int]]:
    return [(r.name, r.width, r.height) for r in plan]


class TestPlanLadder:
    @pytest.mark.parametrize(("width", "height", "rotation", "expected"), [
        (1080, 1920, 0, [("360p", 360, 640), ("540p", 540, 960), ("720p", 720, 1280), ("1080p", 1080, 1920)]),
        (1920, 1080, 0, [("360p", 640, 360), ("540p", 960, 540), ("720p", 1280, 720), ("1080p", 1920, 1080)]),
        (1920, 1080, 270, [("360p", 360, 640), ("540p", 540, 960), ("720p", 720, 1280), ("1080p", 1080, 1920)]),
        (720, 1280, 0, [("360p", 360, 640), ("540p", 540, 960), ("720p", 720, 1280)]),
        (2160, 3840, 0, [("360p", 360, 640), ("540p", 540, 960), ("720p", 720, 1280), ("1080p", 1080, 1920)]),
        (500, 888, 0, [("360p", 360, 638)]),
        (300, 200, 0, [("360p", 300, 200)]),
        (16, 16, 0, [("360p", 16, 16)]),
        (17, 31, 0, [("360p", 16, 30)]),
    ])
    def test_rungs(self, width: int, height: int, rotation: int, expected: list[tuple[str, int, int]]) -> None:
        assert sizes(plan_ladder(source(width, height, rotation))) == expected

    def test_never_upscales(self) -> None:
        for width, height in [(1080, 1920), (640, 360), (100, 60), (4000, 3000)]:
            for rendition in plan_ladder(source(width, height)):
                assert rendition.width <= width and rendition.height <= height
                assert rendition.width % 2 == 0 and rendition.height % 2 == 0

    def test_bitrates_rise_with_size_and_cap_peaks(self) -> None:
        plan = plan_ladder(source(1080, 1920))
        assert [r.bit_rate for r in plan] == [800_000, 1_500_000, 2_500_000, 4_500_000]
        assert all(r.max_rate == int(r.bit_rate * 1.5) and r.buf_size == 2 * r.bit_rate for r in plan)
        assert plan_ladder(source(16, 16))[0].bit_rate < 100_000

    def test_gop_is_two_seconds_of_frames(self) -> None:
        assert {(r.fps, r.gop) for r in plan_ladder(source(1080, 1920, fps=30))} == {(30, 60)}
        assert {(r.fps, r.gop) for r in plan_ladder(source(1080, 1920, fps=30000 / 1001))} == \
            {(Fraction(30000, 1001), 60)}

    def test_high_frame_rates_halve(self) -> None:
        assert plan_ladder(source(1080, 1920, fps=120))[0].fps == 60
        assert plan_ladder(source(1080, 1920, fps=100))[0].gop == 100


def top_level_boxes(path: Path) -> list[str]:
    data, boxes, at = path.read_bytes(), [], 0
    while at + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[at:at + 8])
        if size == 1:
            size = struct.unpack(">Q", data[at + 8:at + 16])[0]
        boxes.append(kind.decode("latin-1"))
        if size < 8:
            break
        at += size
    return boxes


def keyframe_times(path: Path) -> list[float]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return sorted(round(float(p.pts * stream.time_base), 3)
                      for p in container.demux(stream) if p.is_keyframe and p.pts is not None)


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("transcode")


@pytest.fixture(scope="module")
def landscape(work: Path) -> Path:
    return synthesize(work / "landscape.mp4", width=640, height=360, duration=3, caption="Shua 刷")


@pytest.fixture(scope="module")
def ladder(work: Path, landscape: Path) -> list[tuple[Rendition, Path]]:
    plan = plan_ladder(probe(landscape), SMALL)
    return [(r, transcode_mp4(landscape, work / f"{r.name}.mp4", r)) for r in plan]


class TestTranscodeMp4:
    def test_h264_aac_at_planned_size(self, ladder: list[tuple[Rendition, Path]]) -> None:
        assert [r.name for r, _ in ladder] == ["180p", "360p"]
        for rendition, path in ladder:
            result = probe(path)
            assert (result.video_codec, result.audio_codec, result.pix_fmt) == ("h264", "aac", "yuv420p")
            assert (result.width, result.height, result.rotation) == (rendition.width, rendition.height, 0)
            assert result.duration == pytest.approx(3.0, abs=0.1)
            assert result.frame_rate == pytest.approx(30)

    def test_moov_before_mdat(self, ladder: list[tuple[Rendition, Path]]) -> None:
        for _, path in ladder:
            boxes = top_level_boxes(path)
            assert boxes[0] == "ftyp" and boxes.index("moov") < boxes.index("mdat")

    def test_keyframes_aligned_across_renditions(self, ladder: list[tuple[Rendition, Path]]) -> None:
        times = [keyframe_times(path) for _, path in ladder]
        assert times[0] == times[1] == [0.0, 1.0, 2.0]

    def test_rotation_applied_and_dropped(self, work: Path) -> None:
        phone = synthesize(work / "phone.mp4", width=320, height=180, rotation=-90, duration=1, audio=False)
        rendition = plan_ladder(probe(phone), SMALL)[0]
        assert (rendition.width, rendition.height) == (180, 320)
        result = probe(transcode_mp4(phone, work / "phone_out.mp4", rendition))
        assert (result.width, result.height, result.rotation) == (180, 320, 0)
        assert not result.has_audio  # a silent source gives a video-only rendition

    def test_progress_rises_to_one(self, work: Path, landscape: Path) -> None:
        seen: list[float] = []
        rendition = plan_ladder(probe(landscape), SMALL)[0]
        transcode_mp4(landscape, work / "progress.mp4", rendition, on_progress=seen.append)
        assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) > 5

    def test_corrupt_source_is_refused_without_output(self, work: Path, landscape: Path) -> None:
        data = bytearray(landscape.read_bytes())
        noise = random.Random(3)
        for i in range(int(len(data) * 0.2), int(len(data) * 0.7)):
            data[i] = noise.randrange(256)
        damaged = work / "damaged.mp4"
        damaged.write_bytes(bytes(data))
        rendition = plan_ladder(source(640, 360), SMALL)[0]
        with pytest.raises(errors.Corrupt):
            transcode_mp4(damaged, work / "damaged_out.mp4", rendition)
        assert not (work / "damaged_out.mp4").exists()

    def test_runs_in_a_spawned_process(self, work: Path, landscape: Path) -> None:
        rendition = replace(plan_ladder(probe(landscape), SMALL)[0], name="pool")
        with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
            out = pool.submit(transcode_mp4, landscape, work / "pool.mp4", rendition).result(timeout=60)
        assert probe(out).video_codec == "h264"


def stream_inf(line: str) -> dict[str, str]:
    """Attributes of an #EXT-X-STREAM-INF line (CODECS holds commas inside its quotes)."""
    pairs = re.findall(r'([A-Z-]+)=("[^"]*"|[^,]*)', line.split(":", 1)[1])
    return {key: value.strip('"') for key, value in pairs}


class TestPackageHls:
    def test_master_and_variants(self, work: Path, ladder: list[tuple[Rendition, Path]]) -> None:
        master = package_hls(ladder, work / "hls")
        lines = master.read_text(encoding="utf-8").splitlines()
        assert lines[0] == "#EXTM3U"
        variants = [(lines[i], lines[i + 1]) for i, line in enumerate(lines) if line.startswith("#EXT-X-STREAM-INF:")]
        assert [uri for _, uri in variants] == ["180p/index.m3u8", "360p/index.m3u8"]
        for (info, uri), (rendition, _) in zip(variants, ladder, strict=True):
            attrs = stream_inf(info)
            assert attrs["RESOLUTION"] == f"{rendition.width}x{rendition.height}"
            assert int(attrs["BANDWIDTH"]) >= int(attrs["AVERAGE-BANDWIDTH"]) > 0
            video_codec, audio_codec = attrs["CODECS"].split(",")
            assert re.fullmatch(r"avc1\.[0-9a-f]{6}", video_codec) and audio_codec == "mp4a.40.2"
            playlist = (master.parent / uri).read_text(encoding="utf-8")
            assert "#EXT-X-PLAYLIST-TYPE:VOD" in playlist and playlist.rstrip().endswith("#EXT-X-ENDLIST")
            segments = [line for line in playlist.splitlines() if line and not line.startswith("#")]
            durations = [float(line[8:].split(",")[0]) for line in playlist.splitlines() if line.startswith("#EXTINF:")]
            assert len(segments) == len(durations) >= 2
            assert all(d <= 2.05 for d in durations) and sum(durations) == pytest.approx(3.0, abs=0.1)
            for segment in segments:
                assert (master.parent / uri).parent.joinpath(segment).stat().st_size > 0

    def test_fmp4_segments(self, work: Path, ladder: list[tuple[Rendition, Path]]) -> None:
        master = package_hls(ladder[:1], work / "hls_fmp4", segment_type="fmp4")
        folder = master.parent / "180p"
        assert (folder / "init.mp4").exists() and list(folder.glob("seg_*.m4s"))
        assert "#EXT-X-MAP:URI=\"init.mp4\"" in (folder / "index.m3u8").read_text(encoding="utf-8")


class TestPosters:
    def test_poster_is_the_exact_frame(self, work: Path, landscape: Path) -> None:
        size = make_poster(landscape, work / "poster.jpg", 1.5)
        with Image.open(work / "poster.jpg") as poster:
            assert poster.format == "JPEG" and poster.size == size == (640, 360)
            with av.open(str(landscape)) as container:
                frame = next(f for i, f in enumerate(container.decode(video=0)) if i == 45)
            expected = frame.to_image()
            # JPEG is lossy: compare a downscaled view, not bytes.
            diff = sum(abs(a - b) for a, b in zip(poster.convert("RGB").resize((32, 18)).tobytes(),
                                                 expected.resize((32, 18)).tobytes(), strict=True))
            assert diff / (32 * 18 * 3) < 6

    def test_poster_honours_rotation(self, work: Path) -> None:
        phone = synthesize(work / "phone_poster.mp4", width=320, height=180, rotation=-90, duration=1, audio=False)
        assert make_poster(phone, work / "phone.jpg", 0.5) == (180, 320)
        with Image.open(work / "phone.jpg") as poster:
            assert poster.format == "JPEG" and poster.height > poster.width

    def test_poster_past_the_end_uses_the_last_frame(self, work: Path, landscape: Path) -> None:
        assert make_poster(landscape, work / "late.jpg", 99.0, max_side=320) == (320, 180)

    def test_sprite_sheet(self, work: Path, landscape: Path) -> None:
        sprite = make_sprite(landscape, work / "sprite.jpg", 3.0, count=10, columns=5, tile_side=80)
        assert (sprite.columns, sprite.rows, sprite.tile_width, sprite.tile_height) == (5, 2, 80, 45)
        assert sprite.times[0] == pytest.approx(0.15) and sprite.times == tuple(sorted(sprite.times))
        with Image.open(work / "sprite.jpg") as sheet:
            assert sheet.size == (400, 90)
