"""Media benchmark: Shua's transcoder against the ffmpeg command line, the whole ladder, time to
first playable and time to first byte of playback, each against an anchor measured in the
same run.

    .venv/bin/python bench/transcode.py                 # everything (~5-10 min on 2 cores)
    .venv/bin/python bench/transcode.py --reps 2 --runs 3 --json results.json

1. encode: the same 30 s 1080x1920 30 fps source (with audio) to the 720p rung, once with
   `shua.media.transcode.transcode_mp4` (in this process) and once with the `ffmpeg` CLI with
   the same settings (libx264, preset, bitrate/maxrate/bufsize, g/keyint_min/sc_threshold,
   profile, yuv420p, the same scale/setsar/format/fps filter chain, AAC at the same rate,
   +faststart). Both run unpinned with their default thread settings (`threads` auto); the
   threads x264 really used are read back from the encoder's SEI in each output file.
   Interleaved, median of --reps. Ratio = ffmpeg wall time / Shua wall time (goal >= 0.9x).
2. ladder: plan_ladder on the 30 s source, every rung, package_hls and the poster, in this
   process, in the pipeline's order; reported as seconds of processing per minute of video.
3. time to first playable: Shua under uvicorn (defaults: in-process job worker, one transcode
   process), one user; a 60 s 1080p clip is uploaded with tus and posted, --runs times. From the
   database: post (videos.created_at) -> playable_at (lowest rendition stored) and -> ready_at,
   as multiples of the clip's duration; p95 of time-to-playable / duration (goal <= 2x).
4. time to first byte: on the same server (restarted, pinned to CPU 0; this client on CPU 1),
   `Range: bytes=0-65535` on the ready video's 720p MP4 URL, against the same request on the
   same file served by a bare Starlette FileResponse app (bench/anchor_media.py, the anchor).
   Keep-alive connections, interleaved, p50/p99 of --requests each. Ratio = Shua / anchor.

Sources are made with shua.media.synth.synthesize (moving shapes, a caption, a frame counter,
a tone) and cached in --cache-dir (the 30 s clip is the first 30 s of the 60 s one, remuxed).

Exit status: 0 after a complete run, 1 when a step failed or --check found a goal missed,
2 when the ffmpeg CLI is missing (apt-get install ffmpeg) or the arguments are bad.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import math
import os
import platform
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))

from api import (  # noqa: E402
    BenchError,
    Server,
    _machine_busy_s,
    http_json,
    migrate,
    shua_env,
    sign_up_and_log_in,
)

ENCODE_GOAL = 0.9  # Shua's encode speed / ffmpeg CLI's, at least
PLAYABLE_GOAL = 2.0  # p95 time-to-playable / clip duration, at most
WIDTH, HEIGHT, FPS = 1080, 1920, 30
LONG_S, SHORT_S = 60, 30
RANGE = "bytes=0-65535"
_HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))


# ---------------------------------------------------------------- sources


def source_clip(cache: Path, seconds: int) -> Path:
    """The cached synthetic 1080x1920 clip of `seconds` (60, or the first 30 s of it)."""
    cache.mkdir(parents=True, exist_ok=True)
    long_path = cache / f"src-{WIDTH}x{HEIGHT}-{FPS}fps-{LONG_S}s.mp4"
    if not long_path.exists():
        from shua.media.synth import synthesize

        print(f"-- synthesizing the {LONG_S} s {WIDTH}x{HEIGHT} source into {cache} (once; cached)")
        started = time.perf_counter()
        tmp = long_path.with_suffix(".tmp.mp4")
        synthesize(tmp, duration=LONG_S, width=WIDTH, height=HEIGHT, fps=FPS, audio=True,
                   caption="Shua bench 刷", seed=7)
        tmp.rename(long_path)
        print(f"   done in {time.perf_counter() - started:.0f} s")
    if seconds == LONG_S:
        return long_path
    short_path = cache / f"src-{WIDTH}x{HEIGHT}-{FPS}fps-{seconds}s.mp4"
    if not short_path.exists():
        _cut(long_path, short_path, seconds)
    return short_path


def _cut(src: Path, dst: Path, seconds: float) -> None:
    """Remux the packets of the first `seconds` (no re-encode; the source has no B-frames)."""
    import av

    tmp = dst.with_suffix(".tmp.mp4")
    with av.open(str(src)) as inp, av.open(str(tmp), "w", format="mp4") as out:
        mapping = {s.index: out.add_stream_from_template(s) for s in inp.streams if s.type in ("video", "audio")}
        for packet in inp.demux(list(inp.streams)):
            if packet.dts is None or packet.stream.index not in mapping:
                continue
            if packet.pts is not None and packet.time_base is not None and packet.pts * packet.time_base >= seconds:
                continue
            packet.stream = mapping[packet.stream.index]
            out.mux(packet)
    tmp.rename(dst)


# ---------------------------------------------------------------- 1. encode vs ffmpeg


def ffmpeg_argv(ffmpeg: str, src: Path, dst: Path, rendition: Any, audio: bool) -> list[str]:
    """The ffmpeg CLI doing what transcode_mp4 does: the same x264 options (taken from
    transcode._x264_options itself) and the filter chain _video_graph builds for an upright
    source: scale (bicubic) -> setsar=1 -> format=yuv420p -> fps."""
    from shua.media import transcode

    x264: list[str] = []
    for key, value in transcode._x264_options(rendition).items():
        x264 += [f"-{key}:v" if key == "profile" else f"-{key}", str(value)]
    graph = (f"scale={rendition.width}:{rendition.height}:flags=bicubic,setsar=1,format=yuv420p,"
             f"fps={rendition.fps}")
    argv = [ffmpeg, "-hide_banner", "-nostdin", "-y", "-loglevel", "error",
            "-noautorotate",  # Shua turns frames upright in its own graph; the source is upright anyway
            "-i", str(src), "-map", "0:v:0"]
    if audio:
        argv += ["-map", "0:a:0"]
    argv += ["-vf", graph, "-c:v", "libx264", "-b:v", str(rendition.bit_rate), *x264, "-pix_fmt", "yuv420p"]
    if audio:
        argv += ["-c:a", "aac", "-b:a", str(rendition.audio_bit_rate), "-ar", "48000", "-ac", "2"]
    argv += ["-movflags", "+faststart", "-f", "mp4", str(dst)]
    return argv


def _self_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def x264_settings(mp4: Path) -> dict[str, str]:
    """The options string x264 writes into its SEI (core version, threads, ...)."""
    data = mp4.read_bytes()
    at = data.find(b"x264 - core ")
    if at < 0:
        return {}
    text = data[at:at + 4000].split(b"\x00", 1)[0].decode("ascii", "replace")
    facts = {"core": text.split()[3]}
    options = text.split(" - options: ", 1)[1] if " - options: " in text else ""
    for item in options.split():
        key, _, value = item.partition("=")
        facts[key] = value
    return facts


def media_facts(mp4: Path) -> dict[str, Any]:
    import av

    with av.open(str(mp4)) as container:
        video = container.streams.video[0]
        frames = sum(1 for p in container.demux(video) if p.size)
        return {
            "bytes": mp4.stat().st_size,
            "duration_s": round(float(container.duration / av.time_base), 3) if container.duration else None,
            "video_frames": frames,
            "size": f"{video.codec_context.width}x{video.codec_context.height}",
            "audio": bool(container.streams.audio),
        }


def bench_encode(args: argparse.Namespace, src: Path, work: Path) -> dict[str, Any]:
    from shua.media import probe, transcode

    facts = probe.probe(src)
    rendition = next(r for r in transcode.plan_ladder(facts) if r.name == "720p")
    print(f"-- 1. encode {facts.duration:.0f} s {facts.display_width}x{facts.display_height} -> 720p "
          f"({rendition.width}x{rendition.height} @ {rendition.fps} fps, {rendition.bit_rate // 1000} kb/s, "
          f"preset {rendition.preset}, gop {rendition.gop}), {args.reps} rep(s) each, interleaved")
    runs: dict[str, list[dict[str, float]]] = {"shua": [], "ffmpeg": []}
    outputs = {"shua": work / "shua-720p.mp4", "ffmpeg": work / "ffmpeg-720p.mp4"}
    argv = ffmpeg_argv(args.ffmpeg, src, outputs["ffmpeg"], rendition, facts.has_audio)
    for rep in range(1, args.reps + 1):
        for tool in ("shua", "ffmpeg"):
            outputs[tool].unlink(missing_ok=True)
            cpu0, kids0, busy0, started = _self_cpu_s(), _children_cpu_s(), _machine_busy_s(), time.perf_counter()
            if tool == "shua":
                transcode.transcode_mp4(src, outputs[tool], rendition)
            else:
                done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=1800)
                if done.returncode != 0:
                    raise BenchError(f"ffmpeg failed ({done.returncode}): {' '.join(argv)}\n{done.stderr}")
            wall = time.perf_counter() - started
            cpu = (_self_cpu_s() - cpu0) if tool == "shua" else (_children_cpu_s() - kids0)
            other = max(0.0, _machine_busy_s() - busy0 - cpu) / wall
            runs[tool].append({"wall_s": wall, "cpu_s": cpu, "other_cpus": other})
            print(f"   rep {rep}  {tool:<6} {wall:7.2f} s wall  {cpu:7.2f} s CPU  "
                  f"({facts.duration / wall:.2f}x realtime, {cpu / wall:.2f} cores busy; "
                  f"other work on the machine: {other:.2f} cores)")
    result: dict[str, Any] = {"rendition": rendition.name, "source_s": facts.duration,
                              "ffmpeg_argv": argv, "reps": args.reps}
    for tool, items in runs.items():
        result[tool] = {
            "wall_s": statistics.median(r["wall_s"] for r in items),
            "cpu_s": statistics.median(r["cpu_s"] for r in items),
            "runs": items,
            "x264": x264_settings(outputs[tool]),
            "output": media_facts(outputs[tool]),
        }
    result["ratio"] = result["ffmpeg"]["wall_s"] / result["shua"]["wall_s"]
    result["cpu_ratio"] = result["ffmpeg"]["cpu_s"] / result["shua"]["cpu_s"]
    for tool in ("shua", "ffmpeg"):
        x = result[tool]["x264"]
        out = result[tool]["output"]
        print(f"   {tool:<6} x264 core {x.get('core', '?')}: threads={x.get('threads')} "
              f"lookahead_threads={x.get('lookahead_threads')} sliced_threads={x.get('sliced_threads')}; "
              f"output {out['size']}, {out['video_frames']} frames, {out['duration_s']} s, "
              f"{out['bytes'] / 1e6:.2f} MB")
    return result


# ---------------------------------------------------------------- 2. whole ladder


def bench_ladder(src: Path, work: Path) -> dict[str, Any]:
    from shua.media import poster, probe, transcode

    print("-- 2. whole ladder on the 30 s source: probe, every rung, package_hls, poster")
    work.mkdir(parents=True, exist_ok=True)
    steps: list[tuple[str, float]] = []
    started = time.perf_counter()
    mark = started
    facts = probe.probe(src)
    steps.append(("probe", time.perf_counter() - mark))
    encoded = []
    for rendition in transcode.plan_ladder(facts):
        mark = time.perf_counter()
        mp4 = transcode.transcode_mp4(src, work / f"ladder-{rendition.name}.mp4", rendition)
        steps.append((f"{rendition.name} ({rendition.width}x{rendition.height})", time.perf_counter() - mark))
        encoded.append((rendition, mp4))
    mark = time.perf_counter()
    transcode.package_hls(encoded, work / "hls")
    steps.append(("package_hls", time.perf_counter() - mark))
    mark = time.perf_counter()
    poster.make_poster(src, work / "poster.jpg", 0.0)
    steps.append(("poster", time.perf_counter() - mark))
    total = time.perf_counter() - started
    for name, seconds in steps:
        print(f"   {name:<22} {seconds:7.2f} s")
    per_minute = total / facts.duration * 60
    print(f"   total {total:.1f} s for {facts.duration:.0f} s of video = {per_minute:.0f} s per minute of video")
    return {"source_s": facts.duration, "total_s": total, "s_per_video_minute": per_minute,
            "steps": [{"step": n, "s": s} for n, s in steps]}


# ---------------------------------------------------------------- 3. time to first playable


def _request(method: str, url: str, *, token: str, headers: dict[str, str] | None = None,
             data: bytes | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Authorization": f"Bearer {token}", **(headers or {})})
    try:
        with _HTTP.open(request, timeout=600) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def upload_and_post(server: Server, token: str, clip: Path, caption: str) -> str:
    """tus upload (one PATCH per 16 MiB) and POST /api/v1/videos; the video's id."""
    data = clip.read_bytes()
    tus = {"Tus-Resumable": "1.0.0"}
    status, headers, body = _request("POST", f"{server.base}/api/v1/uploads", token=token,
                                     headers={**tus, "Upload-Length": str(len(data))})
    if status != 201:
        raise BenchError(f"create upload answered {status}: {body[:500]!r}\n{server.log_tail()}")
    location = headers.get("Location") or headers.get("location") or ""
    upload_id = json.loads(body)["id"]
    chunk = 16 * 1024 * 1024
    for offset in range(0, len(data), chunk):
        status, _, body = _request("PATCH", f"{server.base}{location}", token=token, data=data[offset:offset + chunk],
                                   headers={**tus, "Upload-Offset": str(offset),
                                            "Content-Type": "application/offset+octet-stream"})
        if status != 204:
            raise BenchError(f"PATCH answered {status}: {body[:500]!r}\n{server.log_tail()}")
    status, video = http_json("POST", f"{server.base}/api/v1/videos",
                              {"upload_id": upload_id, "caption": caption}, token=token)
    if status != 201 or not isinstance(video, dict):
        raise BenchError(f"POST /api/v1/videos answered {status}: {video}\n{server.log_tail()}")
    return str(video["id"])


def wait_ready(server: Server, token: str, video_id: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, video = http_json("GET", f"{server.base}/api/v1/videos/{video_id}", token=token)
        if status == 200 and isinstance(video, dict):
            if video["status"] == "ready":
                return video
            if video["status"] == "failed":
                raise BenchError(f"video {video_id} failed: {video}\n{server.log_tail()}")
        if server.proc.poll() is not None:
            raise BenchError(f"shua died\n{server.log_tail()}")
        time.sleep(0.25)
    raise BenchError(f"video {video_id} not ready after {timeout:.0f} s\n{server.log_tail()}")


def db_times(db_path: Path, video_id: str) -> dict[str, float]:
    """Seconds from post (created_at) to playable_at and ready_at, as the pipeline stamped them."""
    with contextlib.closing(sqlite3.connect(db_path)) as conn:
        row = conn.execute("SELECT created_at, playable_at, ready_at, duration_ms FROM videos WHERE id = ?",
                           (int(video_id),)).fetchone()
    created, playable, ready = (datetime.fromisoformat(v) for v in row[:3])
    return {"to_playable_s": (playable - created).total_seconds(), "to_ready_s": (ready - created).total_seconds(),
            "duration_s": row[3] / 1000}


def p95(values: list[float]) -> float:
    """Nearest-rank 95th percentile (with fewer than 20 values, the largest)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def bench_playable(args: argparse.Namespace, server: Server, token: str, clip: Path, db_path: Path) -> dict[str, Any]:
    print(f"-- 3. time to first playable: {args.runs} upload(s) of the {LONG_S} s {WIDTH}x{HEIGHT} clip "
          f"({clip.stat().st_size / 1e6:.1f} MB), post -> playable_at / ready_at")
    runs = []
    video_id = ""
    for run in range(1, args.runs + 1):
        video_id = upload_and_post(server, token, clip, f"bench run {run} #bench")
        wait_ready(server, token, video_id, timeout=1800)
        times = db_times(db_path, video_id)
        runs.append(times)
        print(f"   run {run}  playable after {times['to_playable_s']:6.1f} s "
              f"({times['to_playable_s'] / times['duration_s']:.2f}x duration), ready after "
              f"{times['to_ready_s']:6.1f} s ({times['to_ready_s'] / times['duration_s']:.2f}x)")
    playable = [r["to_playable_s"] / r["duration_s"] for r in runs]
    ready = [r["to_ready_s"] / r["duration_s"] for r in runs]
    return {"runs": runs, "video_id": video_id, "p95_playable_x": p95(playable),
            "median_playable_x": statistics.median(playable), "p95_ready_x": p95(ready),
            "median_ready_x": statistics.median(ready)}


# ---------------------------------------------------------------- 4. time to first byte


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]


def bench_first_byte(args: argparse.Namespace, targets: list[tuple[str, Server, str]]) -> dict[str, Any]:
    print(f"-- 4. first byte of playback: GET with Range: {RANGE}, keep-alive, {args.requests} requests "
          "per target, interleaved")
    conns = {name: http.client.HTTPConnection("127.0.0.1", server.port, timeout=30) for name, server, _ in targets}
    samples: dict[str, dict[str, list[float]]] = {name: {"first_byte": [], "complete": []} for name, _, _ in targets}
    try:
        for i in range(args.warmup_requests + args.requests):
            for name, _, path in targets:
                conn = conns[name]
                started = time.perf_counter()
                conn.request("GET", path, headers={"Range": RANGE})
                response = conn.getresponse()  # returns once the status line and headers are in
                first = time.perf_counter()
                body = response.read()
                complete = time.perf_counter()
                if response.status != 206 or len(body) != 65536:
                    raise BenchError(f"{name}: {path} answered {response.status} with {len(body)} bytes")
                if i >= args.warmup_requests:
                    samples[name]["first_byte"].append(first - started)
                    samples[name]["complete"].append(complete - started)
    finally:
        for conn in conns.values():
            conn.close()
    result: dict[str, Any] = {}
    for name, _, path in targets:
        fb, done = samples[name]["first_byte"], samples[name]["complete"]
        result[name] = {"path": path, "first_byte_p50_ms": 1000 * _percentile(fb, 50),
                        "first_byte_p99_ms": 1000 * _percentile(fb, 99),
                        "complete_p50_ms": 1000 * _percentile(done, 50),
                        "complete_p99_ms": 1000 * _percentile(done, 99)}
    return result


# ---------------------------------------------------------------- machine


def machine_info(ffmpeg: str) -> dict[str, Any]:
    import av

    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    ram = "unknown"
    with contextlib.suppress(OSError, IndexError, ValueError):
        kb = int(Path("/proc/meminfo").read_text().split("MemTotal:")[1].split()[0])
        ram = f"{kb / 1024 / 1024:.1f} GiB"
    version = subprocess.run([ffmpeg, "-version"], capture_output=True, text=True, check=False).stdout
    commit = "unknown"
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "src"],
                               capture_output=True, text=True)
        if head.returncode == 0:
            commit = head.stdout.strip() + (" (src/ has uncommitted changes)" if dirty.stdout.strip() else "")
    libav = av.library_versions.get("libavcodec", ())
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "ram": ram,
        "python": platform.python_version(),
        "kernel": platform.release(),
        "commit": commit,
        "pyav": av.__version__,
        "pyav_ffmpeg": av.ffmpeg_version_info,
        "pyav_libavcodec": ".".join(map(str, libav)),
        "ffmpeg_cli": (version.splitlines() or ["?"])[0].split(" Copyright")[0],
    }


# ---------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=3, help="encodes per tool in step 1, median reported (3)")
    parser.add_argument("--runs", type=int, default=3, help="60 s uploads in step 3 (3)")
    parser.add_argument("--requests", type=int, default=200, help="Range requests per target in step 4 (200)")
    parser.add_argument("--warmup-requests", type=int, default=20, help="unmeasured requests first (20)")
    parser.add_argument("--cache-dir", type=Path, default=Path(tempfile.gettempdir()) / "shua-bench-transcode",
                        help="where the synthetic sources are kept between runs")
    parser.add_argument("--no-pin", action="store_true", help="do not pin servers/client in step 4")
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    parser.add_argument("--check", action="store_true", help="exit 1 when a goal is missed")
    parser.add_argument("--keep", action="store_true", help="keep the temp directory (outputs, server logs)")
    args = parser.parse_args(argv)
    if args.reps < 1 or args.runs < 1 or args.requests < 1 or args.warmup_requests < 0:
        parser.error("--reps, --runs and --requests must be >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.ffmpeg = shutil.which("ffmpeg")
    if not args.ffmpeg:
        print("bench: the ffmpeg command line is not installed. Install it with `apt-get install ffmpeg` "
              "(as root, or with sudo)", file=sys.stderr)
        return 2
    info = machine_info(args.ffmpeg)
    started_at = datetime.now(UTC)
    print(f"== Shua media benchmark  {started_at:%Y-%m-%d %H:%M} UTC")
    print(f"   shua commit {info['commit']}")
    print(f"   machine: {info['nproc']} CPUs, {info['cpu']}, {info['ram']} RAM, kernel {info['kernel']}")
    print(f"   python {info['python']}, PyAV {info['pyav']} (FFmpeg {info['pyav_ffmpeg']}), "
          f"CLI: {info['ffmpeg_cli']}")
    load = os.getloadavg()[0]
    if load > (os.cpu_count() or 1) / 2:
        print(f"   note: load average {load:.1f} at start: the machine is busy, figures will be noisy")

    tmp = Path(tempfile.mkdtemp(prefix="shua-bench-media-"))
    results: dict[str, Any] = {}
    servers: list[Server] = []
    failed = False
    affinity = os.sched_getaffinity(0)
    try:
        short_src, long_src = source_clip(args.cache_dir, SHORT_S), source_clip(args.cache_dir, LONG_S)
        results["encode"] = bench_encode(args, short_src, tmp)
        results["ladder"] = bench_ladder(short_src, tmp / "ladder")

        var_dir = tmp / "var"
        env = shua_env(var_dir, None, [])
        migrate(env, tmp)
        server = Server("shua-processing", ["--factory", "shua.web.app:app_from_env"], env=env, cwd=tmp,
                        log_dir=tmp, cpus=None)
        servers.append(server)
        server.wait_healthy()
        token = sign_up_and_log_in(server)
        results["playable"] = bench_playable(args, server, token, long_src, var_dir / "shua.db")
        server.stop()
        servers.remove(server)

        pin = not args.no_pin and len(affinity) > 1 and shutil.which("taskset") is not None
        server_cpus = "0" if pin else None
        server = Server("shua-playback", ["--factory", "shua.web.app:app_from_env"], env=env, cwd=tmp,
                        log_dir=tmp, cpus=server_cpus)
        servers.append(server)
        server.wait_healthy()
        video_id = results["playable"]["video_id"]
        status, video = http_json("GET", f"{server.base}/api/v1/videos/{video_id}", token=token)
        if status != 200 or not isinstance(video, dict):
            raise BenchError(f"GET video answered {status}: {video}")
        rendition = next((r for r in video["renditions"] if r["name"] == "720p"), video["renditions"][-1])
        path = rendition["url"]
        stored = var_dir / "media" / f"videos/{video_id}/{rendition['name']}.mp4"
        if not stored.is_file():
            raise BenchError(f"expected the rendition at {stored}")
        anchor_env = {k: v for k, v in os.environ.items() if not k.startswith("SHUA_")}
        anchor_env["BENCH_MEDIA_FILE"] = str(stored)
        anchor = Server("anchor-media", ["--app-dir", str(BENCH_DIR), "anchor_media:app"], env=anchor_env,
                        cwd=tmp, log_dir=tmp, cpus=server_cpus)
        servers.append(anchor)
        anchor.wait_healthy()
        if pin:
            os.sched_setaffinity(0, {sorted(affinity)[1]})
        fb = bench_first_byte(args, [("anchor", anchor, "/file"), ("shua", server, path)])
        os.sched_setaffinity(0, affinity)
        fb["pinned"] = pin
        fb["rendition"] = rendition["name"]
        fb["file_bytes"] = stored.stat().st_size
        fb["ratio_p50"] = fb["shua"]["first_byte_p50_ms"] / fb["anchor"]["first_byte_p50_ms"]
        fb["ratio_p99"] = fb["shua"]["first_byte_p99_ms"] / fb["anchor"]["first_byte_p99_ms"]
        results["first_byte"] = fb
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        failed = True
    except KeyboardInterrupt:
        print("bench: interrupted", file=sys.stderr)
        failed = True
    except Exception:  # report what was measured so far, keep the outputs for a look
        import traceback

        traceback.print_exc()
        failed = True
    finally:
        os.sched_setaffinity(0, affinity)
        for server in servers:
            server.stop()
        if args.keep or failed:
            print(f"   outputs and server logs kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    missed = summary(results)
    if args.json and results:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"started_at": started_at.isoformat(), "machine": info,
                                         "goals": {"encode_ratio_min": ENCODE_GOAL,
                                                   "p95_playable_x_max": PLAYABLE_GOAL},
                                         "results": results}, indent=2, default=str) + "\n")
        print(f"   results written to {args.json}")
    return 1 if failed or (args.check and missed) else 0


def summary(results: dict[str, Any]) -> bool:
    """Print the table; True when a goal was missed."""
    if not results:
        return False
    missed = False
    print()
    print(f"{'measure':<52} {'anchor':>12} {'shua':>12} {'ratio':>8}  goal")
    if "encode" in results:
        e = results["encode"]
        ok = e["ratio"] >= ENCODE_GOAL
        missed |= not ok
        print(f"{'1. 30 s 1080p -> 720p encode, wall (anchor: ffmpeg CLI)':<52} {e['ffmpeg']['wall_s']:>10.2f} s "
              f"{e['shua']['wall_s']:>10.2f} s {e['ratio']:>7.2f}x  >= {ENCODE_GOAL}x speed: "
              + ("met" if ok else "MISSED"))
        print(f"{'   same, CPU seconds (all threads)':<52} {e['ffmpeg']['cpu_s']:>10.2f} s "
              f"{e['shua']['cpu_s']:>10.2f} s {e['cpu_ratio']:>7.2f}x")
    if "ladder" in results:
        ladder = results["ladder"]
        print(f"{'2. whole ladder + HLS + poster, per minute of video':<52} {'':>12} "
              f"{ladder['s_per_video_minute']:>10.0f} s {'':>8}  (no goal; {ladder['total_s']:.1f} s for "
              f"{ladder['source_s']:.0f} s)")
    if "playable" in results:
        p = results["playable"]
        ok = p["p95_playable_x"] <= PLAYABLE_GOAL
        missed |= not ok
        print(f"{'3. 60 s 1080p: post -> playable, p95 / duration':<52} {'':>12} {p['p95_playable_x']:>11.2f}x "
              f"{'':>8}  <= {PLAYABLE_GOAL}x: " + ("met" if ok else "MISSED"))
        print(f"{'   post -> ready (all rungs, HLS, poster), p95':<52} {'':>12} {p['p95_ready_x']:>11.2f}x")
    if "first_byte" in results:
        fb = results["first_byte"]
        a, s = fb["anchor"], fb["shua"]
        print(f"{'4. Range 0-65535 on the MP4: first byte p50':<52} {a['first_byte_p50_ms']:>9.2f} ms "
              f"{s['first_byte_p50_ms']:>9.2f} ms {fb['ratio_p50']:>7.2f}x  (anchor: Starlette FileResponse)")
        print(f"{'   first byte p99':<52} {a['first_byte_p99_ms']:>9.2f} ms {s['first_byte_p99_ms']:>9.2f} ms "
              f"{fb['ratio_p99']:>7.2f}x")
        print(f"{'   whole 64 KiB p50 / p99 (ms)':<52} {a['complete_p50_ms']:>5.2f}/{a['complete_p99_ms']:<5.2f}"
              f"  {s['complete_p50_ms']:>5.2f}/{s['complete_p99_ms']:<5.2f}")
    print("   1: ratio = ffmpeg wall / Shua wall (Shua's speed as a fraction of the CLI's). "
          "4: ratio = Shua / anchor (time; lower is better).")
    return missed


if __name__ == "__main__":
    sys.exit(main())
