"""Probe and validate against real files: good clips of each codec, and every bad input made for real."""

from __future__ import annotations

import random
import struct
from pathlib import Path

import av
import pytest
from PIL import Image

from shua.media import errors
from shua.media.probe import Limits, ProbeResult, probe, validate
from shua.media.synth import synthesize, synthesize_audio


def remux_faststart(src: Path, dst: Path) -> Path:
    with av.open(str(src)) as inp, av.open(str(dst), "w", options={"movflags": "+faststart"}) as out:
        streams = {s.index: out.add_stream_from_template(s) for s in inp.streams}
        for packet in inp.demux():
            if packet.dts is not None:
                packet.stream = streams[packet.stream.index]
                out.mux(packet)
    return dst


def refused(path: Path, limits: Limits | None = None) -> errors.MediaInvalid:
    with pytest.raises(errors.MediaInvalid) as caught:
        validate(probe(path), limits)
    return caught.value


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synthesize(tmp_path_factory.mktemp("probe") / "clip.mp4", duration=2, width=320, height=568)


class TestProbe:
    def test_portrait_h264_with_audio(self, clip: Path) -> None:
        result = probe(clip)
        assert (result.container, result.video_codec, result.audio_codec) == ("mp4", "h264", "aac")
        assert (result.width, result.height, result.rotation) == (320, 568, 0)
        assert result.frame_rate == pytest.approx(30)
        assert result.duration == pytest.approx(2.0, abs=0.1)
        assert result.has_audio and result.bit_rate and result.bit_rate > 0
        assert result.decoded_frames == result.video_packets == 60
        assert result.decode_errors == 0
        validate(result)

    @pytest.mark.parametrize(("name", "codec", "expected"), [
        ("vp9.webm", "libvpx-vp9", ("webm", "vp9")),
        ("hevc.mp4", "libx265", ("mp4", "hevc")),
        ("h264.mkv", "libx264", ("mkv", "h264")),
    ])
    def test_allowed_codecs_and_containers(
        self, tmp_path: Path, name: str, codec: str, expected: tuple[str, str]
    ) -> None:
        result = probe(synthesize(tmp_path / name, codec=codec, duration=0.5, width=96, height=64))
        assert (result.container, result.video_codec) == expected
        validate(result)

    def test_rotation_metadata_gives_display_size(self, tmp_path: Path) -> None:
        phone = synthesize(tmp_path / "phone.mp4", width=640, height=360, rotation=-90, duration=0.5, audio=False)
        result = probe(phone)
        assert result.rotation == 270
        assert (result.display_width, result.display_height) == (360, 640)
        assert not result.has_audio and result.audio_codec is None

    def test_result_pickles_for_the_process_pool(self, clip: Path) -> None:
        import pickle

        result = probe(clip)
        assert pickle.loads(pickle.dumps(result)) == result


class TestBadInput:
    def test_zero_length(self, tmp_path: Path) -> None:
        (tmp_path / "empty.mp4").write_bytes(b"")
        with pytest.raises(errors.EmptyFile):
            probe(tmp_path / "empty.mp4")

    def test_text_renamed_mp4(self, tmp_path: Path) -> None:
        path = tmp_path / "notes.mp4"
        path.write_text("这不是视频 / this is not a video\n" * 50, encoding="utf-8")
        with pytest.raises(errors.NotAVideo) as caught:
            probe(path)
        assert caught.value.code == "media.not_a_video"

    def test_png_renamed_mp4(self, tmp_path: Path) -> None:
        path = tmp_path / "picture.mp4"
        Image.new("RGB", (64, 64), (200, 30, 30)).save(path, format="PNG")
        assert refused(path).code == "media.not_a_video"

    def test_audio_only_m4a(self, tmp_path: Path) -> None:
        error = refused(synthesize_audio(tmp_path / "song.m4a", duration=1))
        assert error.code == "media.no_video_stream"

    def test_truncated_upload_without_index(self, clip: Path, tmp_path: Path) -> None:
        # Our encoder writes the moov index at the end, as phones do: a cut file has no index.
        data = clip.read_bytes()
        assert data.find(b"moov") > data.find(b"mdat")
        path = tmp_path / "cut.mp4"
        path.write_bytes(data[: len(data) // 2])
        with pytest.raises(errors.Truncated):
            probe(path)

    def test_truncated_faststart_file(self, tmp_path: Path) -> None:
        source = synthesize(tmp_path / "src.mp4", duration=2, width=160, height=284)
        whole = remux_faststart(source, tmp_path / "fast.mp4").read_bytes()
        assert whole.find(b"moov") < whole.find(b"mdat")
        path = tmp_path / "cut.mp4"
        path.write_bytes(whole[: int(len(whole) * 0.6)])
        assert refused(path).code == "media.truncated"

    def test_corrupted_packets_mid_stream(self, clip: Path, tmp_path: Path) -> None:
        data = bytearray(clip.read_bytes())
        noise = random.Random(7)
        for i in range(int(len(data) * 0.3), int(len(data) * 0.6)):
            data[i] = noise.randrange(256)
        path = tmp_path / "damaged.mp4"
        path.write_bytes(bytes(data))
        result = probe(path)
        assert result.decode_errors > 2
        assert refused(path).code == "media.corrupt"

    def test_absurd_dimensions(self, tmp_path: Path) -> None:
        # No H.264 encoder accepts 100000x2, but FFV1 does: the size is refused before the codec.
        path = synthesize(tmp_path / "strip.mkv", codec="ffv1", width=100000, height=2, duration=0.2, fps=10,
                          audio=False)
        error = refused(path)
        assert error.code == "media.bad_dimensions"
        assert error.details["width"] == 100000

    def test_over_max_pixels(self, tmp_path: Path) -> None:
        path = synthesize(tmp_path / "wide.mp4", width=640, height=360, duration=0.3, audio=False)
        assert refused(path, Limits(max_pixels=320 * 240)).code == "media.bad_dimensions"

    def test_tiny_video_is_accepted_but_smaller_is_not(self, tmp_path: Path) -> None:
        path = synthesize(tmp_path / "tiny.mp4", width=16, height=16, duration=0.3, audio=False)
        validate(probe(path))
        assert refused(path, Limits(min_side=32)).code == "media.bad_dimensions"

    def test_too_long(self, tmp_path: Path) -> None:
        path = synthesize(tmp_path / "long.mp4", width=64, height=64, duration=2, fps=10, audio=False)
        error = refused(path, Limits(max_duration=1.5))
        assert error.code == "media.too_long"

    def test_twenty_hour_duration_header(self, tmp_path: Path) -> None:
        # MP4 durations are re-derived from the sample table, so lie in Matroska's Info/Duration
        # (an EBML float in milliseconds), which FFmpeg takes at its word.
        path = synthesize(tmp_path / "liar.mkv", width=64, height=64, duration=1, fps=10, audio=False)
        data = bytearray(path.read_bytes())
        at = data.find(b"\x44\x89")
        assert data[at + 2] in (0x84, 0x88)
        struct.pack_into(">d" if data[at + 2] == 0x88 else ">f", data, at + 3, 20 * 3600 * 1000.0)
        path.write_bytes(bytes(data))
        result = probe(path)
        assert result.declared_duration == pytest.approx(72000)
        assert result.duration == pytest.approx(1.0, abs=0.2)
        error = refused(path)
        assert error.code == "media.too_long"
        assert error.details["declared_duration"] == pytest.approx(72000)

    def test_huge_frame_rate(self, tmp_path: Path) -> None:
        path = synthesize(tmp_path / "fast.mp4", width=64, height=64, duration=0.5, fps=240, audio=False)
        assert probe(path).frame_rate == pytest.approx(240)
        assert refused(path).code == "media.frame_rate"

    def test_unsupported_codec(self, tmp_path: Path) -> None:
        path = synthesize(tmp_path / "lossless.mkv", codec="ffv1", width=64, height=64, duration=0.3, audio=False)
        error = refused(path)
        assert error.code == "media.unsupported_codec"
        assert error.details == {"codec": "ffv1"}

    def test_unsupported_container(self, tmp_path: Path) -> None:
        path = synthesize(tmp_path / "old.avi", codec="mpeg4", width=64, height=64, duration=0.3, audio=False)
        assert refused(path).code == "media.unsupported_container"

    def test_errors_are_invalid_requests(self) -> None:
        from shua.core.errors import InvalidRequest

        for cls in (errors.NotAVideo, errors.Corrupt, errors.TooLong, errors.BadDimensions, errors.BadFrameRate):
            assert issubclass(cls, InvalidRequest) and cls.status == 422 and cls.code.startswith("media.")


def test_probe_result_defaults_describe_no_video() -> None:
    result = ProbeResult(size_bytes=1, format_name="x", container="x", duration=0, declared_duration=None,
                         bit_rate=None)
    assert result.display_width == 0 and result.video_codec is None
