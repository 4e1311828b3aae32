"""API benchmark: authenticated `GET /api/v1/me` against a bare Starlette hello world.

    .venv/bin/python bench/api.py                      # SQLite (a fresh temp database)
    .venv/bin/python bench/api.py --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/postgres
                                                       # SQLite, then PostgreSQL too
    .venv/bin/python bench/api.py --rounds 3 --quiet-wait 120 --breakdown   # a shared machine

Both servers run the same way: `python -m uvicorn` as a subprocess on a free 127.0.0.1 port,
1 worker, access log off, uvicorn's automatic loop/HTTP choice (uvloop + httptools with
uvicorn[standard]). Shua gets a temp SHUA_VAR_DIR with a freshly migrated database and one user
signed up through the API; the bearer token comes from POST /api/v1/auth/login with
session_kind "api". wrk sends the same Authorization header to every server, so request bytes
match. Each target is warmed up, then measured with `wrk --latency` for a bounded duration;
Requests/sec and the 99% latency line are parsed, and any non-2xx answer fails the run. The
ratio is Shua/anchor in req/s (goal >= 0.5x). Shua runs with its defaults (JSON request log
on stderr, the in-process job worker), stderr going to a log file in the temp directory.

Each measurement also records the CPU used by the server process (all threads), by wrk and by
everything else; "server CPU per request" and the CPU ratio derived from it hold up much
better than req/s when other work shares the machine. --rounds N interleaves N measurements
of every target and reports medians; --quiet-wait waits (bounded) for the machine to go idle
before each one.

On a small machine wrk and the server compete for cores, so by default the server is pinned
to one CPU and wrk to the others with taskset (the same treatment for every target);
`--no-pin` turns that off. With --database-url the bench creates a fresh database on that
PostgreSQL server (connecting to the URL's database to CREATE/DROP it) and drops it at the end;
the PostgreSQL server's own processes are not pinned.

Exit status: 0 after a complete run, 1 when a run failed or --check found a ratio below the
goal, 2 for a usage problem (wrk missing, bad arguments).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import re
import resource
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = Path(__file__).resolve().parent
GOAL = 0.5
USER_HANDLE = "benchuser"
USER_PASSWORD = "Bench-Swipe-2026!"  # a throwaway account in a throwaway database
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0

# Requests never leave loopback, whatever the environment says about proxies.
_HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class BenchError(Exception):
    pass


# ---------------------------------------------------------------- wrk output


@dataclass
class WrkResult:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    requests: int
    non_2xx: int = 0
    socket_errors: dict[str, int] = field(default_factory=dict)
    # CPU used during the measurement, in % of one CPU: the server process (all its threads),
    # wrk, and everything else on the machine (other processes, kernel softirq, PostgreSQL).
    server_cpu_pct: float = 0.0
    wrk_cpu_pct: float = 0.0
    other_cpu_pct: float = 0.0
    server_cpu_us_per_request: float = 0.0


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def _to_ms(value: str, unit: str) -> float:
    return float(value) * _UNITS_MS[unit]


def parse_wrk(output: str) -> WrkResult:
    """Requests/sec and the 50%/99% lines of `wrk --latency` output."""
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.M)
    pct = {p: re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s|m|h)\s*$", output, re.M) for p in (50, 99)}
    total = re.search(r"^\s*(\d+) requests in ", output, re.M)
    if not rps or not pct[50] or not pct[99] or not total:
        raise BenchError(f"could not parse wrk output:\n{output}")
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    socket_errors = (
        dict(zip(("connect", "read", "write", "timeout"), map(int, errors.groups()), strict=True)) if errors else {}
    )
    return WrkResult(
        requests_per_s=float(rps.group(1)),
        p50_ms=_to_ms(*pct[50].groups()),
        p99_ms=_to_ms(*pct[99].groups()),
        requests=int(total.group(1)),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=socket_errors,
    )


# ---------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pinned(cpus: str | None, argv: list[str]) -> list[str]:
    return ["taskset", "-c", cpus, *argv] if cpus else argv


def http_json(method: str, url: str, body: dict[str, Any] | None = None, token: str | None = None) -> tuple[int, Any]:
    headers = {"Accept": "application/json"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with _HTTP.open(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        payload = exc.read()
        try:
            return exc.code, json.loads(payload)
        except ValueError:
            return exc.code, payload.decode(errors="replace")


class Server:
    """One uvicorn process on 127.0.0.1, its output in a log file."""

    def __init__(
        self,
        name: str,
        app_args: list[str],
        *,
        env: dict[str, str],
        cwd: Path,
        log_dir: Path,
        cpus: str | None,
    ) -> None:
        self.name = name
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = log_dir / f"{name}.log"
        argv = [
            sys.executable,
            "-m",
            "uvicorn",
            *app_args,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            "1",
            "--no-access-log",
            "--log-level",
            "warning",
        ]
        self.argv = pinned(cpus, argv)
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            self.argv,
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_healthy(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(f"{self.name} exited with {self.proc.returncode}\n{self.log_tail()}")
            try:
                status, _ = http_json("GET", f"{self.base}/healthz")
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise BenchError(f"{self.name} did not answer /healthz in {START_TIMEOUT_S:.0f}s\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        self._log.flush()
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(f"  | {line}" for line in text[-lines:])

    def stop(self) -> None:
        """SIGINT (uvicorn's graceful shutdown, so the app's lifespan ends), then harder."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.terminate()
                try:
                    self.proc.wait(5)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
        self._log.close()


@dataclass
class Target:
    name: str
    server: Server
    path: str
    token: str
    kind: str  # "reference" (the anchor first) or "shua" (held to the goal)


_TICK = os.sysconf("SC_CLK_TCK")


def _process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process, all threads included."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK


def _machine_busy_s() -> float:
    """CPU seconds spent not idle, summed over all CPUs."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return (sum(values[:8]) - idle) / _TICK


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def wait_for_quiet(limit_s: float, threshold: float = 0.15) -> None:
    """Wait (bounded) until the machine's CPU use over one second is below `threshold` CPUs.
    Our servers are idle between measurements, so what remains is other work."""
    deadline = time.monotonic() + limit_s
    while True:
        busy0 = _machine_busy_s()
        time.sleep(1.0)
        busy = _machine_busy_s() - busy0
        if busy < threshold:
            return
        if time.monotonic() >= deadline:
            print(f"   note: still {100 * busy:.0f}% of a CPU busy after waiting {limit_s:g}s: measuring anyway")
            return


def run_wrk(args: argparse.Namespace, target: Target, seconds: float) -> WrkResult:
    argv = pinned(
        args.wrk_cpus,
        [
            args.wrk,
            f"-t{args.threads}",
            f"-c{args.connections}",
            f"-d{seconds:g}s",
            "--latency",
            "--timeout",
            "5s",
            "-H",
            f"Authorization: Bearer {target.token}",
            f"{target.server.base}{target.path}",
        ],
    )
    server0, wrk0, busy0 = _process_cpu_s(target.server.proc.pid), _children_cpu_s(), _machine_busy_s()
    started = time.monotonic()
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 30, check=False)
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"wrk did not finish within {seconds + 30:g}s") from exc
    elapsed = time.monotonic() - started
    server_s = _process_cpu_s(target.server.proc.pid) - server0
    wrk_s = _children_cpu_s() - wrk0
    other_s = max(0.0, _machine_busy_s() - busy0 - server_s - wrk_s)
    if done.returncode != 0:
        raise BenchError(f"wrk failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    result = parse_wrk(done.stdout)
    result.server_cpu_pct = 100 * server_s / elapsed
    result.wrk_cpu_pct = 100 * wrk_s / elapsed
    result.other_cpu_pct = 100 * other_s / elapsed
    result.server_cpu_us_per_request = server_s * 1e6 / max(result.requests, 1)
    if result.non_2xx:
        raise BenchError(
            f"{target.name}: {result.non_2xx} non-2xx responses: the figures would be meaningless\n"
            f"{done.stdout}\n{target.server.log_tail()}"
        )
    if target.server.proc.poll() is not None:
        raise BenchError(f"{target.name} died during the run\n{target.server.log_tail()}")
    return result


# ---------------------------------------------------------------- Shua setup


def shua_env(var_dir: Path, database_url: str | None, extra: list[str]) -> dict[str, str]:
    """A clean SHUA_* configuration: inherited SHUA_* variables are dropped for reproducibility."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHUA_")}
    env.update(
        {
            "SHUA_VAR_DIR": str(var_dir),
            "SHUA_SECRET_KEY": secrets.token_urlsafe(32),
            "SHUA_REDIS_URL": "",
            "SHUA_BASE_URL": "http://127.0.0.1:8000",
        }
    )
    if database_url:
        env["SHUA_DATABASE_URL"] = database_url
    for item in extra:
        key, sep, value = item.partition("=")
        if not sep or not key.startswith("SHUA_"):
            raise BenchError(f"--shua-env wants SHUA_NAME=value, got {item!r}")
        env[key] = value
    return env


def migrate(env: dict[str, str], cwd: Path) -> None:
    shua = Path(sys.executable).parent / "shua"
    argv = (
        [str(shua), "migrate"]
        if shua.exists()
        else [sys.executable, "-c", "from shua.cli import app; app()", "migrate"]
    )
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=300, check=False)
    if done.returncode != 0:
        raise BenchError(f"shua migrate failed:\n{done.stdout}{done.stderr}")


def sign_up_and_log_in(server: Server) -> str:
    status, body = http_json(
        "POST",
        f"{server.base}/api/v1/auth/signup",
        {
            "username": USER_HANDLE,
            "password": USER_PASSWORD,
            "session_kind": "api",
        },
    )
    if status != 201:
        raise BenchError(f"signup answered {status}: {body}\n{server.log_tail()}")
    status, body = http_json(
        "POST",
        f"{server.base}/api/v1/auth/login",
        {
            "login": USER_HANDLE,
            "password": USER_PASSWORD,
            "session_kind": "api",
        },
    )
    if status != 200 or not isinstance(body, dict) or not body.get("token"):
        raise BenchError(f"login answered {status}: {body}\n{server.log_tail()}")
    token = str(body["token"])
    status, me = http_json("GET", f"{server.base}/api/v1/me", token=token)
    if status != 200 or not isinstance(me, dict) or me.get("handle") != USER_HANDLE:
        raise BenchError(f"GET /api/v1/me with the token answered {status}: {me}\n{server.log_tail()}")
    return token


def _pg_admin_dsn(url: str) -> tuple[str, str]:
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if not parsed.drivername.startswith("postgresql"):
        raise BenchError(f"--database-url must be a postgresql+asyncpg:// URL, got {parsed.drivername}")
    admin = parsed.set(drivername="postgresql", database=parsed.database or "postgres")
    return admin.render_as_string(hide_password=False), parsed.drivername


async def _pg_execute(dsn: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(dsn, timeout=10)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


class FreshPostgres:
    """A database created on the given server for this run, dropped afterwards."""

    def __init__(self, url: str) -> None:
        from sqlalchemy.engine import make_url

        self.admin_dsn, driver = _pg_admin_dsn(url)
        self.name = f"shua_bench_{secrets.token_hex(4)}"
        self.url = (
            make_url(url)
            .set(drivername=driver if "+" in driver else "postgresql+asyncpg", database=self.name)
            .render_as_string(hide_password=False)
        )
        try:
            asyncio.run(_pg_execute(self.admin_dsn, f'CREATE DATABASE "{self.name}"'))
        except Exception as exc:  # refused, auth, permissions: say which server and why
            raise BenchError(f"could not create a database on {make_url(url)!r}: {exc}") from exc

    def drop(self) -> None:
        asyncio.run(_pg_execute(self.admin_dsn, f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))


# ---------------------------------------------------------------- reporting


def machine_info() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = "unknown"
    try:
        kb = int(Path("/proc/meminfo").read_text().split("MemTotal:")[1].split()[0])
        ram = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, IndexError, ValueError):
        pass
    versions = {}
    for module in ("uvicorn", "starlette", "fastapi", "sqlalchemy", "uvloop", "httptools"):
        try:
            versions[module] = __import__(module).__version__
        except (ImportError, AttributeError):
            versions[module] = "absent"
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    commit = "unknown"
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--", "src"], capture_output=True, text=True
        )
        if head.returncode == 0:
            commit = head.stdout.strip() + (" (src/ has uncommitted changes)" if dirty.stdout.strip() else "")
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "ram": ram,
        "python": platform.python_version(),
        "kernel": platform.release(),
        "commit": commit,
        "wrk": (wrk_version.stdout or wrk_version.stderr).split("\n")[0],
        **versions,
    }


def fmt_ms(value: float) -> str:
    return f"{value:.2f} ms"


def summarize(target: Target, results: list[WrkResult]) -> dict[str, Any]:
    return {
        "name": target.name,
        "kind": target.kind,
        "path": target.path,
        "requests_per_s": statistics.median(r.requests_per_s for r in results),
        "p50_ms": statistics.median(r.p50_ms for r in results),
        "p99_ms": statistics.median(r.p99_ms for r in results),
        "server_cpu_us_per_request": statistics.median(r.server_cpu_us_per_request for r in results),
        "rounds": [asdict(r) for r in results],
    }


# ---------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    cpus = os.cpu_count() or 1
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of wrk per measurement (10)")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of wrk before each measurement (3)")
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="measure every target this many times, interleaved; medians are reported (1)",
    )
    parser.add_argument("--connections", "-c", type=int, default=32, help="wrk connections (32)")
    parser.add_argument(
        "--threads",
        "-t",
        type=int,
        default=None,
        help="wrk threads (default: the number of CPUs wrk is pinned to, or 2)",
    )
    parser.add_argument(
        "--database-url",
        action="append",
        default=[],
        metavar="URL",
        help="also bench on PostgreSQL: a server URL such as "
        "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres; a fresh database "
        "is created on it and dropped afterwards (repeatable)",
    )
    parser.add_argument("--skip-sqlite", action="store_true", help="only the --database-url runs")
    parser.add_argument("--no-pin", action="store_true", help="do not pin server and wrk with taskset")
    parser.add_argument("--server-cpus", default="0", help="taskset CPU list for the servers (0)")
    parser.add_argument(
        "--wrk-cpus",
        default=f"1-{cpus - 1}" if cpus > 2 else "1",
        help="taskset CPU list for wrk (the other CPUs)",
    )
    parser.add_argument(
        "--shua-env",
        action="append",
        default=[],
        metavar="SHUA_NAME=VALUE",
        help="extra setting for the Shua servers, e.g. SHUA_LOG_LEVEL=WARNING (repeatable)",
    )
    parser.add_argument(
        "--breakdown",
        action="store_true",
        help="also measure a bare FastAPI hello world and Shua's GET /healthz (no auth, no DB), "
        "to show where the time goes between the anchor and GET /api/v1/me",
    )
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=0,
        metavar="SECONDS",
        help="before each measurement, wait up to this long for other CPU use on the machine "
        "to drop below 15%% of a CPU (a shared machine); then measure anyway (0: do not wait)",
    )
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    parser.add_argument("--check", action="store_true", help=f"exit 1 when a ratio is below {GOAL}x")
    parser.add_argument("--keep", action="store_true", help="keep the temp directory (server logs)")
    args = parser.parse_args(argv)
    if args.duration <= 0 or args.warmup < 0 or args.rounds < 1 or args.connections < 1:
        parser.error("--duration > 0, --warmup >= 0, --rounds >= 1 and --connections >= 1")
    if args.skip_sqlite and not args.database_url:
        parser.error("--skip-sqlite needs at least one --database-url")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.wrk = shutil.which("wrk")
    if not args.wrk:
        print(
            "bench: wrk is not installed. Install it with `apt-get install wrk` (as root, or with sudo)",
            file=sys.stderr,
        )
        return 2
    pin = not args.no_pin and (os.cpu_count() or 1) > 1
    if pin and not shutil.which("taskset"):
        print(
            "bench: taskset not found (apt-get install util-linux): running unpinned",
            file=sys.stderr,
        )
        pin = False
    if not pin:
        args.server_cpus = args.wrk_cpus = None
    if args.threads is None:
        args.threads = _count_cpus(args.wrk_cpus) if pin else 2

    info = machine_info()
    started_at = datetime.now(UTC)
    print(f"== Shua API benchmark  {started_at:%Y-%m-%d %H:%M} UTC")
    print(f"   shua commit {info['commit']}")
    print(f"   machine: {info['nproc']} CPUs, {info['cpu']}, {info['ram']} RAM, kernel {info['kernel']}")
    print(
        f"   python {info['python']}, uvicorn {info['uvicorn']}, starlette {info['starlette']}, "
        f"fastapi {info['fastapi']}, sqlalchemy {info['sqlalchemy']}, uvloop {info['uvloop']}, "
        f"httptools {info['httptools']}, {info['wrk'].split(' Copyright')[0]}"
    )
    print(
        f"   wrk -t{args.threads} -c{args.connections} -d{args.duration:g}s --latency "
        f"(warm-up {args.warmup:g}s, {args.rounds} round(s)); "
        + (f"servers on CPU {args.server_cpus}, wrk on CPU {args.wrk_cpus}" if pin else "unpinned")
    )

    load = os.getloadavg()[0]
    if load > (os.cpu_count() or 1) / 2:
        print(f"   note: load average {load:.1f} at start: the machine is busy, figures will be noisy")

    tmp = Path(tempfile.mkdtemp(prefix="shua-bench-"))
    servers: list[Server] = []
    databases: list[FreshPostgres] = []
    targets: list[Target] = []
    failed = False
    summaries: list[dict[str, Any]] = []
    try:
        plain_env = {k: v for k, v in os.environ.items() if not k.startswith("SHUA_")}
        references = [("starlette hello world (anchor)", "anchor", "anchor:app")]
        if args.breakdown:
            references.append(("fastapi hello world", "fastapi", "anchor:fastapi_app"))
        for title, name, app_ref in references:
            server = Server(
                name,
                ["--app-dir", str(BENCH_DIR), app_ref],
                env=plain_env,
                cwd=tmp,
                log_dir=tmp,
                cpus=args.server_cpus,
            )
            servers.append(server)
            server.wait_healthy()
            status, body = http_json("GET", f"{server.base}/")
            if status != 200:
                raise BenchError(f"{title} answered {status}: {body}")
            targets.append(Target(title, server, "/", "", kind="reference"))

        backends: list[tuple[str, str | None]] = [] if args.skip_sqlite else [("sqlite", None)]
        for url in args.database_url:
            db = FreshPostgres(url)
            databases.append(db)
            backends.append(("postgresql", db.url))
        for label, url in backends:
            var_dir = tmp / f"var-{label}-{len(servers)}"
            env = shua_env(var_dir, url, args.shua_env)
            print(f"-- preparing shua on {label}: migrate, start, sign up, log in")
            migrate(env, tmp)
            server = Server(
                f"shua-{label}-{len(servers)}",
                ["--factory", "shua.web.app:app_from_env"],
                env=env,
                cwd=tmp,
                log_dir=tmp,
                cpus=args.server_cpus,
            )
            servers.append(server)
            server.wait_healthy()
            token = sign_up_and_log_in(server)
            if args.breakdown and not any(t.path == "/healthz" for t in targets):
                title = f"shua GET /healthz ({label}, no DB)"
                targets.append(Target(title, server, "/healthz", token, kind="reference"))
            title = f"shua GET /api/v1/me ({label})"
            targets.append(Target(title, server, "/api/v1/me", token, kind="shua"))
        # References ignore the header; sending a real token keeps the request bytes the same.
        for target in targets:
            target.token = target.token or targets[-1].token

        results: dict[str, list[WrkResult]] = {t.name: [] for t in targets}
        for round_no in range(1, args.rounds + 1):
            for target in targets:
                if args.quiet_wait:
                    wait_for_quiet(args.quiet_wait)
                if args.warmup:
                    run_wrk(args, target, args.warmup)
                result = run_wrk(args, target, args.duration)
                results[target.name].append(result)
                errors = {k: v for k, v in result.socket_errors.items() if v}
                print(
                    f"   round {round_no}  {target.name:<38} {result.requests_per_s:>8,.0f} req/s  "
                    f"p50 {fmt_ms(result.p50_ms):>9}  p99 {fmt_ms(result.p99_ms):>9}  "
                    f"CPU: server {result.server_cpu_pct:3.0f}% "
                    f"({result.server_cpu_us_per_request:,.0f} us/req), "
                    f"wrk {result.wrk_cpu_pct:3.0f}%, other {result.other_cpu_pct:3.0f}%"
                    + (f"  socket errors {errors}" if errors else "")
                )

        summaries = [summarize(t, results[t.name]) for t in targets]
        anchor_summary = summaries[0]
        print()
        print(f"{'target':<40} {'req/s':>9} {'p99':>10} {'ours/anchor':>12}   {'server CPU/req':>14} {'CPU ratio':>10}")
        for summary in summaries:
            ratio = summary["requests_per_s"] / anchor_summary["requests_per_s"]
            cpu_ratio = anchor_summary["server_cpu_us_per_request"] / max(summary["server_cpu_us_per_request"], 1e-9)
            summary["ratio"] = ratio
            summary["cpu_ratio"] = cpu_ratio
            mark = ""
            if summary["kind"] == "shua":
                mark = "  ok" if ratio >= GOAL else f"  below the {GOAL}x goal"
            print(
                f"{summary['name']:<40} {summary['requests_per_s']:>9,.0f} "
                f"{fmt_ms(summary['p99_ms']):>10} {ratio:>11.2f}x   "
                f"{summary['server_cpu_us_per_request']:>11,.0f} us {cpu_ratio:>9.2f}x{mark}"
            )
        print(
            "   ours/anchor = req/s ratio (the goal is >= 0.5x). CPU ratio = anchor's server CPU per "
            "request / ours,\n   the throughput ratio each would reach with a whole CPU to itself; "
            "it is less sensitive to other load."
        )
        busiest = max(r["other_cpu_pct"] for s in summaries for r in s["rounds"])
        if busiest > 25:
            print(
                f"   note: up to {busiest:.0f}% of a CPU went to other work (other processes, "
                "kernel, PostgreSQL) during a measurement; on a shared machine prefer --rounds 3"
            )
        below = [s for s in summaries if s["kind"] == "shua" and s["ratio"] < GOAL]
        if args.check and below:
            failed = True
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        failed = True
    except KeyboardInterrupt:
        print("bench: interrupted", file=sys.stderr)
        failed = True
    finally:
        for server in servers:
            server.stop()
        for db in databases:
            try:
                db.drop()
            except Exception as exc:  # report, but keep cleaning up
                print(f"bench: could not drop database {db.name}: {exc}", file=sys.stderr)
        if args.keep or failed:
            print(f"   server logs kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    if args.json and summaries:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps(
                {
                    "started_at": started_at.isoformat(),
                    "machine": info,
                    "goal": GOAL,
                    "wrk": {
                        "threads": args.threads,
                        "connections": args.connections,
                        "duration_s": args.duration,
                        "warmup_s": args.warmup,
                        "rounds": args.rounds,
                    },
                    "pinning": {"server": args.server_cpus, "wrk": args.wrk_cpus},
                    "results": summaries,
                },
                indent=2,
            )
            + "\n"
        )
        print(f"   results written to {args.json}")
    return 1 if failed else 0


def _count_cpus(cpu_list: str | None) -> int:
    count = 0
    for part in (cpu_list or "").split(","):
        if "-" in part:
            low, high = part.split("-", 1)
            count += int(high) - int(low) + 1
        elif part:
            count += 1
    return max(count, 1)


if __name__ == "__main__":
    sys.exit(main())
