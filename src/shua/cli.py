"""The `shua` command for operators."""

from __future__ import annotations

import asyncio
import getpass
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from shua.config import get_settings
from shua.core import loop

if TYPE_CHECKING:
    from shua.core.jobs import Job
    from shua.feed.offline import evaluate as evaluate_module
    from shua.runtime import Runtime

T = TypeVar("T")
app = typer.Typer(help="Shua (刷): run, migrate, seed and inspect a Shua server.", no_args_is_help=True)
user_app = typer.Typer(help="Manage accounts.", no_args_is_help=True)
jobs_app = typer.Typer(help="Inspect and retry background jobs.", no_args_is_help=True)
app.add_typer(user_app, name="user")
app.add_typer(jobs_app, name="jobs")
media_app = typer.Typer(help="Manage videos and their files.", no_args_is_help=True)
app.add_typer(media_app, name="media")
social_app = typer.Typer(help="Maintain the social graph and engagement.", no_args_is_help=True)
app.add_typer(social_app, name="social")
feed_app = typer.Typer(help="Train and evaluate the recommender.", no_args_is_help=True)
app.add_typer(feed_app, name="feed")
search_app = typer.Typer(help="Maintain the search index, its dictionary and the hot list.", no_args_is_help=True)
app.add_typer(search_app, name="search")
payments_app = typer.Typer(help="Check the ledger of Shua Pay.", no_args_is_help=True)
app.add_typer(payments_app, name="payments")
experiments_app = typer.Typer(help="Define, stop and read out A/B experiments on the feed.", no_args_is_help=True)
app.add_typer(experiments_app, name="experiments")
console = Console()


def _runtime() -> Runtime:
    from shua import runtime
    from shua.contexts import load_all

    load_all()
    return runtime.build(get_settings())


def _run(work: Callable[[Runtime], Awaitable[T]]) -> T:
    """Run one async operation with a fresh runtime, always closing its connections."""

    async def main() -> T:
        rt = _runtime()
        try:
            return await work(rt)
        finally:
            await rt.close()

    return loop.run(main())


@app.command()
def migrate() -> None:
    """Bring the database schema up to date."""
    from shua.core.migrate import upgrade

    settings = get_settings()
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.effective_database_url)
    console.print(f"[green]✓[/] database migrated: {_redact(settings.effective_database_url)}")


@app.command()
def serve(
    host: str = "127.0.0.1", port: int = 8000,
    workers: Annotated[int, typer.Option(help="API processes (set SHUA_REDIS_URL and SHUA_SECRET_KEY when > 1)")] = 1,
    reload: bool = False,
) -> None:
    """Serve the API and web client."""
    import uvicorn

    settings = get_settings()
    if workers > 1 and "SHUA_SECRET_KEY" not in os.environ:
        console.print("[red]Several workers need a shared SHUA_SECRET_KEY (CSRF tokens are signed with it).[/]")
        raise typer.Exit(2)
    console.print(f"Shua on [bold]http://{host}:{port}[/]  (database: {_redact(settings.effective_database_url)})")
    uvicorn.run("shua.web.app:app_from_env", factory=True, host=host, port=port, workers=workers,
                reload=reload, proxy_headers=True, access_log=False, log_config=None)


@app.command()
def worker(concurrency: int = 4) -> None:
    """Run background jobs (scale-out: many of these, with SHUA_REDIS_URL set)."""
    from shua.core import jobs
    from shua.core.logging import configure_logging

    settings = get_settings()
    configure_logging(json=settings.log_json, level=settings.log_level)
    rt = _runtime()
    broker = jobs.make_broker(rt.database, settings.redis_url, settings.job_poll_seconds)
    console.print(f"worker started ({type(broker).__name__}, concurrency {concurrency})")
    loop.freeze_startup_objects()
    try:
        loop.run(jobs.Worker(rt.database, broker, concurrency=concurrency).run())
    except KeyboardInterrupt:
        console.print("worker stopped")


@app.command()
def demo(
    serve_after: Annotated[bool, typer.Option("--serve/--no-serve")] = False,
    videos: Annotated[bool, typer.Option("--videos/--no-videos", help="Make and post the demo clips")] = True,
) -> None:
    """Migrate and seed demo users (idempotent); with --serve, start the server too. The demo
    shows the codes its notifier sends on /dev/inbox (SHUA_DEV_INBOX, unless set otherwise)."""
    from rich.progress import Progress

    os.environ.setdefault("SHUA_DEV_INBOX", "1")
    os.environ.setdefault("SHUA_SIMBANK_DELAY_SECONDS", "2")  # a top-up shows 处理中 for a moment
    os.environ.setdefault("SHUA_CARRIER_STEP_SECONDS", "20")  # a shipped parcel arrives in a minute or so
    get_settings.cache_clear()

    from shua.demo import ADMIN_PASSWORD, DEMO_PASSWORD, seed
    from shua.demo_videos import seed_videos

    migrate()
    created = _run(seed)
    console.print(f"[green]✓[/] demo data ready ({created} new users)")
    from shua.demo_social import seed_social

    social = _run(seed_social)
    console.print(f"[green]✓[/] demo friends, moods and daily posts ready ({social} new)")
    from shua.demo_payments import seed_payments

    paid = _run(seed_payments)
    console.print(f"[green]✓[/] demo wallets, cards and payments ready ({paid} new)")
    if videos:
        with Progress(console=console) as progress:
            made = _run(lambda rt: seed_videos(rt, progress=progress))
        console.print(f"[green]✓[/] demo videos ready ({made} new)")
        from shua.demo_feed import seed_viewing

        with console.status("demo viewers watching, then training the recommender") as status:
            watched = _run(lambda rt: seed_viewing(rt, progress=lambda what: status.update(what)))
        console.print(f"[green]✓[/] demo viewing history and recommender ready ({watched} new events)")
        from shua.demo_search import seed_searches

        searched = _run(seed_searches)
        console.print(f"[green]✓[/] demo searches and hot list ready ({searched} new searches)")
    from shua.demo_shop import seed_shop

    listed = _run(seed_shop)
    console.print(f"[green]✓[/] demo shop ready ({listed} new products)")
    console.print(f"  log in as [bold]demo[/] / [bold]{DEMO_PASSWORD}[/]"
                  f"  (operator: [bold]admin[/] / [bold]{ADMIN_PASSWORD}[/])")
    if serve_after:
        serve()


@user_app.command("create")
def user_create(
    handle: str,
    admin: Annotated[bool, typer.Option("--admin", help="Give the account the admin role")] = False,
    password: Annotated[str | None, typer.Option(help="Prompted for when omitted")] = None,
) -> None:
    """Create an account (or promote an existing one with --admin)."""
    from shua.accounts import service
    from shua.accounts.schemas import normalise_handle
    from shua.core.errors import ShuaError

    try:
        handle = normalise_handle(handle)
    except ValueError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from exc
    if password is None:
        password = getpass.getpass("Password: ") if sys.stdin.isatty() else sys.stdin.readline().strip()
    async def create(rt: Runtime) -> str:
        async with rt.database.transaction() as db:
            if admin:
                user = await service.ensure_admin(db, username=handle, password=password or "")
            else:
                user = await service.signup(db, username=handle, password=password or "")
            return user.role

    try:
        role = _run(create)
    except ShuaError as exc:
        console.print(f"[red]{exc.code}: {exc.message}[/]")
        raise typer.Exit(1) from exc
    console.print(f"[green]✓[/] {handle} ({role})")


@jobs_app.command("failed")
def jobs_failed(limit: int = 50) -> None:
    """List jobs that used up their attempts."""
    from shua.core import jobs

    async def list_failed(rt: Runtime) -> list[Job]:
        async with rt.database.transaction(write=False) as db:
            return await jobs.failed_jobs(db, limit=limit)

    failed = _run(list_failed)
    if not failed:
        console.print("no failed jobs")
        return
    table = Table("id", "name", "attempts", "finished", "last error")
    for job in failed:
        table.add_row(str(job.id), job.name, str(job.attempts), str(job.finished_at), (job.last_error or "")[:80])
    console.print(table)


@jobs_app.command("retry")
def jobs_retry(job_id: int) -> None:
    """Queue a failed job again with fresh attempts."""
    from shua.core import jobs
    from shua.core.errors import ShuaError

    async def retry(rt: Runtime) -> None:
        async with rt.database.transaction() as db:
            await jobs.retry_job(db, job_id=job_id)

    try:
        _run(retry)
    except ShuaError as exc:
        console.print(f"[red]{exc.message}[/]")
        raise typer.Exit(1) from exc
    console.print(f"[green]✓[/] job {job_id} queued again")


@jobs_app.command("stats")
def jobs_stats() -> None:
    """Jobs by status."""
    from shua.core import jobs

    async def stats(rt: Runtime) -> dict[str, int]:
        async with rt.database.transaction(write=False) as db:
            return await jobs.queue_stats(db)

    for status, count in sorted(_run(stats).items()):
        console.print(f"{status:12} {count}")


@media_app.command("reprocess")
def media_reprocess(
    video_ids: Annotated[list[int] | None, typer.Argument(help="Videos to process again")] = None,
    all_videos: Annotated[bool, typer.Option("--all", help="Every video")] = False,
    failed: Annotated[bool, typer.Option("--failed", help="Every failed video")] = False,
    enqueue_only: Annotated[bool, typer.Option("--enqueue", help="Leave the work to `shua worker`")] = False,
) -> None:
    """Transcode videos again, here with a progress bar, or queued for the workers."""
    from rich.progress import Progress

    from shua.core import jobs
    from shua.core.errors import ShuaError
    from shua.media import videos

    if not video_ids and not all_videos and not failed:
        console.print("[red]name video ids, or use --all or --failed[/]")
        raise typer.Exit(2)

    async def work(rt: Runtime) -> int:
        async with rt.database.transaction(write=False) as db:
            ids = list(video_ids or []) or await videos.video_ids(db, status="failed" if failed else None)
        with Progress(console=console) as progress:
            task = progress.add_task("reprocessing", total=len(ids))
            for video_id in ids:
                async with rt.database.transaction() as db:
                    await videos.request_reprocess(db, video_id=video_id)
                if not enqueue_only:
                    await jobs.drain(rt.database)
                progress.advance(task)
        return len(ids)

    try:
        count = _run(work)
    except ShuaError as exc:
        console.print(f"[red]{exc.code}: {exc.message}[/]")
        raise typer.Exit(1) from exc
    console.print(f"[green]✓[/] {count} video(s) {'queued' if enqueue_only else 'reprocessed'}")


@social_app.command("recount")
def social_recount() -> None:
    """Rebuild likes, comments, shares, favourites and follower counts from the facts, and say
    how many rows were off (safe while the app runs: each fix locks its row, then counts)."""
    from rich.progress import Progress

    from shua.social import recount

    async def work(rt: Runtime) -> list[tuple[str, int, int]]:
        report = []
        with Progress(console=console) as progress:
            for kind, (find, fix) in recount.KINDS.items():
                async with rt.database.transaction(write=False) as db:
                    drift = await find(db)
                task = progress.add_task(kind, total=len(drift.ids) or 1)
                fixed = 0
                for row_id in drift.ids:
                    async with rt.database.transaction() as db:
                        fixed += await fix(db, row_id)
                    progress.advance(task)
                progress.update(task, completed=len(drift.ids) or 1)
                report.append((kind, drift.checked, fixed))
        return report

    table = Table("counters", "rows checked", "rows off (fixed)")
    for kind, checked, fixed in _run(work):
        table.add_row(kind, str(checked), str(fixed))
    console.print(table)


@feed_app.command("train")
def feed_train(
    days: Annotated[float, typer.Option(help="Learn from this many days of the event log")] = 90.0,
    dim: Annotated[int, typer.Option(help="Embedding dimensions")] = 32,
) -> None:
    """Retrain the recommender from the event log; serving picks the new model up by itself."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from shua.feed import learning

    if not (1 <= days <= 3650) or not (4 <= dim <= 512):
        console.print("[red]--days is 1..3650 and --dim 4..512[/]")
        raise typer.Exit(2)
    steps = ("reading the event log", "training", "saving the model")
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console) as progress:
        task = progress.add_task(steps[0], total=len(steps))

        def say(what: str) -> None:
            progress.update(task, description=what, advance=1 if not what.startswith("reading") else 0)

        model = _run(lambda rt: learning.retrain(rt.database, rt.settings.var_dir, days=days, dim=dim, progress=say))
        progress.update(task, completed=len(steps))
    if model is None:
        console.print("[yellow]nothing to learn from yet: the event log is empty (the feed serves trending)[/]")
        raise typer.Exit(1)
    trained = model.meta.get("trained_on", {})
    ranker = "with a ranker" if model.ranker_text else "no ranker yet (too few users)"
    console.print(f"[green]✓[/] model trained on {trained.get('interactions', 0):,} interactions from "
                  f"{trained.get('users', 0):,} users over {trained.get('items', 0):,} videos, {ranker}")


@feed_app.command("eval")
def feed_eval(
    data: Annotated[Path, typer.Option("--data", help="A dataset folder: ml-100k, KuaiRec 2.0 or kuairec-side")],
    dataset: Annotated[str, typer.Option(help="ml-100k, kuairec or auto (from the files)")] = "auto",
    k: Annotated[list[int] | None, typer.Option("--k", help="Cut-offs, e.g. --k 10 --k 20 --k 50")] = None,
    tune: Annotated[bool, typer.Option("--tune/--no-tune", help="Search each method's grid on validation")] = True,
    matrix: Annotated[str | None, typer.Option(help="KuaiRec: small or big (default: small if present)")] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Also write the table as JSON here")] = None,
    threads: Annotated[int, typer.Option(help="CPU threads for ALS, LightGBM and BLAS")] = 2,
) -> None:
    """Offline metrics (recall@K, NDCG@K) of Shua's model and the baselines on a time-based split."""
    import json

    from rich.progress import Progress

    from shua.feed.offline import datasets, evaluate

    if dataset not in ("auto", "ml-100k", "kuairec", "kuairec-side") or matrix not in (None, "small", "big"):
        console.print("[red]--dataset is ml-100k, kuairec or auto; --matrix is small or big[/]")
        raise typer.Exit(2)
    ks = tuple(k or (10, 20, 50))
    if any(v < 1 or v > 1000 for v in ks):
        console.print("[red]--k values are between 1 and 1000[/]")
        raise typer.Exit(2)
    try:
        loaded = datasets.load(data, dataset, matrix=matrix)  # type: ignore[arg-type]
    except datasets.DatasetError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from exc
    for note in loaded.notes:
        console.print(f"[dim]{note}[/]")
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("evaluating", total=evaluate.steps(tune=tune, test=True))

        def tick(label: str) -> None:
            progress.update(task, description=label)
            progress.advance(task)

        try:
            report = evaluate.evaluate(loaded, ks=ks, tune=tune, threads=threads, progress=tick)
        except ValueError as exc:
            console.print(f"[red]{exc}[/]")
            raise typer.Exit(1) from exc
    wide = Console(width=max(console.width, 100))  # a pipe gets 80 columns: too few for the table
    wide.print(_eval_table(report))
    for result in report.results:
        chosen = ", ".join(f"{k}={v}" for k, v in result.params.items()) or "nothing to tune"
        wide.print(f"[dim]{result.name}: {chosen} ({result.tried} tried, {result.seconds:.0f} s)[/]")
    best = report.best_baseline
    verdict = "[green]beats[/]" if report.beats_best_baseline() else "[red]does not beat[/]"
    behind = [m for m, d in report.margins().items() if d <= 0]
    wide.print(f"On validation {report.selection}, Shua {verdict} the best baseline ({best.name if best else '-'})"
               + (f"; not ahead of it on {', '.join(behind)}." if behind else "; ahead on every metric."))
    if json_out:
        json_out.write_text(json.dumps(report.to_json(), indent=2, ensure_ascii=False), encoding="utf-8")
        console.print(f"[green]✓[/] wrote {json_out}")


def _eval_table(report: evaluate_module.Report) -> Table:
    table = Table(title=f"{report.dataset}: tuned on validation, measured once on test", title_justify="left")
    table.add_column("method", no_wrap=True)
    table.add_column("split", no_wrap=True)
    metrics = [f"{m}@{k}" for m in ("recall", "ndcg") for k in report.ks]
    for metric in metrics:
        table.add_column(metric, justify="right", no_wrap=True)
    for result in report.results:
        table.add_row(result.name, "valid", *(f"{result.validation[m]:.4f}" for m in metrics),
                      end_section=result.test is None)
        if result.test:
            table.add_row("", "test", *(f"{result.test[m]:.4f}" for m in metrics), end_section=True)
    return table
@experiments_app.command("create")
def experiments_create(
    key: str,
    arm: Annotated[list[str], typer.Option(
        "--arm", help="NAME:WEIGHT[:param=value,…], e.g. control:50:follow_share=0.10")],
    description: Annotated[str, typer.Option(help="What the experiment tests")] = "",
) -> None:
    """Define and start an experiment; users are bucketed into its arms by weight."""
    from shua.core.errors import ShuaError
    from shua.feed import experiments

    async def create(rt: Runtime) -> str:
        arms = [experiments.parse_arm(spec) for spec in arm]
        async with rt.database.transaction() as db:
            row = await experiments.create(db, key=key, arms=arms, description=description)
            return row.key

    try:
        made = _run(create)
    except ShuaError as exc:
        console.print(f"[red]{exc.code}: {exc.message}[/] {exc.details or ''}")
        raise typer.Exit(1) from exc
    console.print(f"[green]✓[/] experiment {made} running")


@experiments_app.command("list")
def experiments_list() -> None:
    """Every experiment with its arms and status."""
    from shua.feed import experiments

    async def rows(rt: Runtime) -> list[tuple[str, str, str, str, str]]:
        found = []
        async with rt.database.transaction(write=False) as db:
            cursor: str | None = None
            while True:
                page, cursor = await experiments.list_page(db, cursor=cursor, limit=100)
                for e in page:
                    arms = ", ".join(f"{a.name} {a.weight}" + (f" {a.params}" if a.params else "")
                                     for a in experiments.arms_of(e))
                    found.append((e.key, e.status, arms, e.started_at.strftime("%Y-%m-%d %H:%M"),
                                  e.stopped_at.strftime("%Y-%m-%d %H:%M") if e.stopped_at else ""))
                if cursor is None:
                    return found

    found = _run(rows)
    if not found:
        console.print("no experiments")
        return
    table = Table("key", "status", "arms (weight, params)", "started (UTC)", "stopped (UTC)")
    for row in found:
        table.add_row(*row)
    console.print(table)


@experiments_app.command("stop")
def experiments_stop(key: str) -> None:
    """Stop an experiment: its parameters no longer apply; its readout stays."""
    from shua.core.errors import ShuaError
    from shua.feed import experiments

    async def stop(rt: Runtime) -> None:
        async with rt.database.transaction() as db:
            await experiments.stop(db, key=key)

    try:
        _run(stop)
    except ShuaError as exc:
        console.print(f"[red]{exc.code}: {exc.message}[/]")
        raise typer.Exit(1) from exc
    console.print(f"[green]✓[/] experiment {key} stopped")


@experiments_app.command("readout")
def experiments_readout(key: str) -> None:
    """Per arm: users, sessions, dwell per session, completion rate, likes per session, next-day
    retention (a session ends after a gap of SHUA_FEED_SESSION_GAP_MINUTES, 30 by default)."""
    from datetime import timedelta

    from shua.core.errors import ShuaError
    from shua.feed import experiments

    settings = get_settings()

    async def read(rt: Runtime) -> experiments.Readout:
        async with rt.database.transaction(write=False) as db:
            return await experiments.readout(db, key=key,
                                             session_gap=timedelta(minutes=settings.feed_session_gap_minutes))

    try:
        result = _run(read)
    except ShuaError as exc:
        console.print(f"[red]{exc.code}: {exc.message}[/]")
        raise typer.Exit(1) from exc
    title = f"{result.key}: {result.since:%Y-%m-%d %H:%M} → {result.until:%Y-%m-%d %H:%M} UTC"
    table = Table("arm", "users", "sessions", "dwell / session (s)", "completion", "likes / session",
                  "next-day retention", title=title)
    for arm in result.arms:
        retention = arm.next_day_retention
        table.add_row(arm.arm, str(arm.users), str(arm.sessions), f"{arm.dwell_per_session_s:.1f}",
                      f"{arm.completion_rate:.1%}", f"{arm.likes_per_session:.2f}",
                      "–" if retention is None else f"{retention:.1%} of {arm.retention_eligible}")
    console.print(table)


@search_app.command("reindex")
def search_reindex() -> None:
    """Rebuild every search document from the videos as they are now, and recount hashtags
    (idempotent; search keeps answering meanwhile)."""
    from rich.progress import Progress

    from shua.search import index

    with Progress(console=console) as progress:
        task = progress.add_task("indexing videos", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        count = _run(lambda rt: index.reindex_all(rt.database, progress=advance))
    console.print(f"[green]✓[/] {count} video(s) indexed")


@search_app.command("words")
def search_words(words: Annotated[list[str], typer.Argument(help="Words to keep whole, e.g. 绝绝子 城市漫步")]) -> None:
    """Teach search new words and hashtags (slang jieba would cut apart). They apply to new and
    edited videos at once; run `shua search reindex` for existing ones."""
    from shua import runtime
    from shua.search.analysis import is_dictionary_word, normalise

    path = runtime.search_words_path(get_settings())
    path.parent.mkdir(parents=True, exist_ok=True)
    known = set(path.read_text(encoding="utf-8").split()) if path.exists() else set()
    fresh = [w for w in dict.fromkeys(normalise(w).strip() for w in words) if w and w not in known]
    bad = [w for w in fresh if not is_dictionary_word(w)]
    if bad:
        console.print(f"[red]✗[/] not a Chinese word of 2–20 characters: {', '.join(bad)}")
        raise typer.Exit(1)
    with path.open("a", encoding="utf-8") as out:
        out.writelines(f"{w}\n" for w in fresh)
    console.print(f"[green]✓[/] {len(fresh)} word(s) added to {path}; restart the servers, then run "
                  "`shua search reindex` to re-cut existing videos")


@search_app.command("hot")
def search_hot(refresh: bool = typer.Option(False, help="Recompute the list first")) -> None:
    """Show the hot-search list as viewers see it (pins and removals applied)."""
    from shua.search import hot

    async def work(rt: Runtime) -> list[hot.HotItem]:
        if refresh:
            await hot.refresh(rt.database)
        async with rt.database.transaction(write=False) as db:
            return await hot.hot_list(db)

    table = Table("#", "term", "badge", "heat")
    for item in _run(work):
        table.add_row(str(item.rank), item.term, "pinned" if item.pinned else (item.badge or ""), f"{item.heat:.1f}")
    console.print(table)


@app.command()
def doctor() -> None:
    """Check the database, Redis, storage and video libraries, and say what is wrong in words."""
    from shua.doctor import run_checks

    ok = asyncio.run(run_checks(get_settings(), console))
    raise typer.Exit(0 if ok else 1)


def _redact(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


if __name__ == "__main__":
    app()


@payments_app.command("verify")
def payments_verify() -> None:
    """Recompute every balance from the ledger's postings, check every transfer balances and each
    currency's ledger sums to zero (a trial balance). Exit code 1 if anything disagrees."""
    from rich.progress import Progress
    from rich.table import Table

    from shua.payments import ledger

    with Progress(console=console) as progress:
        task = progress.add_task("checking accounts", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        async def work(rt: Runtime) -> ledger.Verification:
            async with rt.database.transaction(write=False) as db:
                return await ledger.verify(db, progress=advance)

        result = _run(work)
    table = Table("currency", "sum of all balances")
    for currency, total in sorted(result.totals.items()):
        table.add_row(currency, str(total))
    console.print(table)
    console.print(f"{result.accounts} account(s), {result.transfers} transfer(s), {result.postings} posting(s)")
    for code, cached, actual in result.balance_mismatches:
        console.print(f"[red]✗[/] {code}: balance {cached}, postings say {actual}")
    for transfer_id, currency, total in result.unbalanced_transfers:
        console.print(f"[red]✗[/] transfer {transfer_id} ({currency}) sums to {total}")
    for code, total in result.negative_accounts:
        console.print(f"[red]✗[/] {code} is negative: {total}")
    if not result.ok:
        raise typer.Exit(1)
    console.print("[green]✓[/] the ledger balances")


@payments_app.command("reconcile")
def payments_reconcile(
    day: Annotated[str | None, typer.Option(help="YYYY-MM-DD (UTC); yesterday by default")] = None,
) -> None:
    """Reconcile a day against the bank connector's report: every operation the bank settled
    matched to ours, and ours to the bank's. Exit code 1 if anything is listed."""
    from datetime import date, timedelta

    from rich.table import Table

    from shua.core import clock
    from shua.payments import reconcile
    from shua.payments.connectors import bank_of

    try:
        chosen = date.fromisoformat(day) if day else clock.utcnow().date() - timedelta(days=1)
    except ValueError as exc:
        console.print(f"[red]not a date: {day}[/]")
        raise typer.Exit(2) from exc

    async def work(rt: Runtime) -> reconcile.Reconciliation:
        async with rt.database.transaction(write=False) as db:
            return await reconcile.reconcile(db, bank_of(rt), day=chosen)

    with console.status(f"reconciling {chosen.isoformat()}"):
        result = _run(work)
    console.print(f"{chosen.isoformat()}: the bank reported {result.bank_lines} settled operation(s) "
                  f"({result.bank_total} fen); {result.matched} match ours (we settled {result.our_total} fen)")
    if result.mismatches:
        table = Table("problem", "reference", "ours (fen)", "bank (fen)", "detail")
        for m in result.mismatches:
            table.add_row(m.problem, m.reference, str(m.ours if m.ours is not None else "—"),
                          str(m.bank if m.bank is not None else "—"), m.detail)
        console.print(table)
        raise typer.Exit(1)
    console.print("[green]✓[/] the bank and the ledger agree")
