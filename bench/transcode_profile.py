"""Where Shua's 720p encode loses time against the ffmpeg CLI (a companion to bench/transcode.py).

    .venv/bin/python bench/transcode_profile.py [--reps 2] [--cprofile]

On the cached 30 s 1080x1920 source of bench/transcode.py (made there first), times, interleaved:

- `shua`: transcode_mp4 as it is;
- `shua+frame-threads`: the same function with one line added, the encoder's
  `thread_type` set to FRAME (PyAV opens encoders with SLICE, which makes libx264 use
  sliced threads; the ffmpeg CLI leaves FFmpeg's default slice+frame, i.e. frame threads);
- `ffmpeg`: the CLI exactly as in bench/transcode.py;
- `ffmpeg+slice-threads`: the CLI with `-thread_type slice` for the encoder, i.e. Shua's threading.

The patched variant is built from transcode_mp4's own source text (nothing under src/ is
edited). --cprofile adds a cProfile of one plain Shua encode (top functions by own time), to
show how much of the wall time is per-frame Python work rather than FFmpeg/x264.
"""

from __future__ import annotations

import argparse
import cProfile
import inspect
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

from transcode import SHORT_S, _children_cpu_s, _self_cpu_s, ffmpeg_argv, source_clip, x264_settings  # noqa: E402

ANCHOR_LINE = "v_out.options = _x264_options(rendition)"


def patched_transcode(extra: str) -> Any:
    """transcode_mp4 with `extra` inserted after the line that sets the x264 options."""
    from shua.media import transcode

    source = inspect.getsource(transcode.transcode_mp4)
    if ANCHOR_LINE not in source:
        raise SystemExit(f"transcode_mp4 no longer contains {ANCHOR_LINE!r}: update this script")
    indent = source.split(ANCHOR_LINE)[0].rsplit("\n", 1)[1]
    namespace = dict(transcode.__dict__)
    exec(source.replace(ANCHOR_LINE, f"{ANCHOR_LINE}\n{indent}{extra}"), namespace)  # noqa: S102
    return namespace["transcode_mp4"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--cprofile", action="store_true")
    parser.add_argument("--cache-dir", type=Path, default=Path(tempfile.gettempdir()) / "shua-bench-transcode")
    args = parser.parse_args()
    from shua.media import probe, transcode

    src = source_clip(args.cache_dir, SHORT_S)
    facts = probe.probe(src)
    rendition = next(r for r in transcode.plan_ladder(facts) if r.name == "720p")
    work = Path(tempfile.mkdtemp(prefix="shua-bench-profile-"))
    frame_threads = patched_transcode('v_out.codec_context.thread_type = "FRAME"')
    cli = ffmpeg_argv("ffmpeg", src, work / "ffmpeg.mp4", rendition, facts.has_audio)
    cli_slice = ffmpeg_argv("ffmpeg", src, work / "ffmpeg-slice.mp4", rendition, facts.has_audio)
    at = cli_slice.index("-c:v")
    cli_slice[at:at] = ["-thread_type", "slice"]
    variants: dict[str, Any] = {
        "shua": lambda: transcode.transcode_mp4(src, work / "shua.mp4", rendition),
        "shua+frame-threads": lambda: frame_threads(src, work / "shua-frame.mp4", rendition),
        "ffmpeg": lambda: subprocess.run(cli, check=True),
        "ffmpeg+slice-threads": lambda: subprocess.run(cli_slice, check=True),
    }
    outputs = {"shua": "shua.mp4", "shua+frame-threads": "shua-frame.mp4", "ffmpeg": "ffmpeg.mp4",
               "ffmpeg+slice-threads": "ffmpeg-slice.mp4"}
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in variants}
    for rep in range(1, args.reps + 1):
        for name, run in variants.items():
            cpu0, started = _self_cpu_s() + _children_cpu_s(), time.perf_counter()
            run()
            wall = time.perf_counter() - started
            cpu = _self_cpu_s() + _children_cpu_s() - cpu0
            times[name].append((wall, cpu))
            print(f"rep {rep}  {name:<22} {wall:6.2f} s wall {cpu:6.2f} s CPU")
    base = statistics.median(w for w, _ in times["ffmpeg"])
    print(f"\n{'variant':<22} {'wall':>8} {'CPU':>8}  speed vs ffmpeg CLI  x264 threads")
    for name, items in times.items():
        wall = statistics.median(w for w, _ in items)
        cpu = statistics.median(c for _, c in items)
        x = x264_settings(work / outputs[name])
        print(f"{name:<22} {wall:7.2f}s {cpu:7.2f}s  {base / wall:6.2f}x             "
              f"threads={x.get('threads')} sliced_threads={x.get('sliced_threads')} "
              f"lookahead_threads={x.get('lookahead_threads')}")
    if args.cprofile:
        profiler = cProfile.Profile()
        profiler.enable()
        transcode.transcode_mp4(src, work / "shua-profiled.mp4", rendition)
        profiler.disable()
        print("\ncProfile of one plain Shua encode (own time, top 12):")
        pstats.Stats(profiler).sort_stats("tottime").print_stats(12)
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
