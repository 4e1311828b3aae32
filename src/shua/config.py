"""One typed settings object, read from `SHUA_*` environment variables (and `.env`)."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SHUA_", env_file=".env", extra="ignore")

    # Embedded defaults: everything under ./var so `make demo` needs nothing else.
    var_dir: Path = Path("var")
    database_url: str = ""  # empty → sqlite+aiosqlite:///{var_dir}/shua.db
    database_null_pool: bool = False  # a connection per transaction (tests that hop event loops)
    # PostgreSQL connections each process keeps (and as many more at peaks). Size it to the
    # transactions a process runs at once: a connection opened for a peak is closed when handed
    # back to a full pool, and opening one costs far more than the transaction it serves.
    database_pool_size: int = Field(default=10, ge=1, le=200)
    redis_url: str = ""  # empty → in-process rate limits and jobs
    media_dir: Path | None = None  # empty → {var_dir}/media
    # Object storage: with a bucket, media goes to S3 (or MinIO, R2, Ceph…) instead of media_dir.
    s3_bucket: str = ""
    s3_endpoint_url: str = ""  # empty → AWS itself
    s3_region: str = ""
    s3_access_key_id: str = ""  # empty → boto3's chain (AWS_* variables, instance role)
    s3_secret_access_key: str = ""
    s3_public_base_url: str = ""  # a CDN in front of public objects; empty → presigned URLs
    s3_presign_seconds: int = Field(default=3600, ge=120, le=604_800)  # SigV4 allows at most 7 days
    # Signs CSRF tokens; a random one per process is safe for one process only,
    # so scale-out deployments must set it.
    secret_key: str = Field(default_factory=lambda: secrets.token_urlsafe(32))
    # 0–1023; distinguishes ID generators on different processes.
    node_id: int | None = None

    base_url: str = "http://127.0.0.1:8000"
    session_days: int = 30
    max_body_bytes: int = 1_048_576  # JSON bodies; uploads have their own limit
    max_avatar_bytes: int = 5_242_880
    max_upload_bytes: int = 2 * 1024**3  # one video upload (tus); PATCH chunks stream to disk
    max_upload_chunk_bytes: int = 64 * 1024**2  # one PATCH request body
    upload_ttl_hours: int = 24  # unfinished uploads are deleted after this
    max_video_seconds: float = 600.0
    # For You: the share of slots given to followed creators (Douyin's ~10 %: more lowered dwell time).
    feed_follow_share: float = Field(default=0.10, ge=0.0, le=1.0)
    max_daily_seconds: float = 60.0  # the clip of a daily post (拍日常)
    max_daily_photo_bytes: int = 10 * 1024**2
    daily_hours: float = 24.0  # daily posts and moods disappear after this
    keep_original_uploads: bool = False  # store the untouched upload next to the renditions
    # Separate ladders (never above the source): MP4 files for progressive playback and download,
    # and the HLS variants for adaptive streaming. The lowest rung is always kept as an MP4.
    mp4_renditions: str = "360p,540p,720p,1080p"
    hls_renditions: str = "360p,540p,720p,1080p"
    transcode_processes: int = Field(default=1, ge=1, le=64)  # encoder processes per worker
    login_rate: str = "10/minute"  # per account and per client address
    signup_rate: str = "20/hour"  # per client address
    api_write_rate: str = "120/minute"  # per user, for authenticated writes
    follow_rate: str = "30/minute"  # per user: follows, the classic spam-bot move
    report_rate: str = "20/hour"  # per user
    like_rate: str = "120/minute"  # per user: likes, favourites, comment likes (and unliking)
    comment_rate: str = "20/minute"  # per user: posting comments and replies
    share_rate: str = "60/minute"  # per user: recorded shares (each one counts)
    message_rate: str = "30/minute"  # per user: direct messages sent
    # The dev inbox page (/dev/inbox) shows every code the built-in notifier "sent": the demo's
    # phone. Never on where real people sign up (`make demo` turns it on).
    dev_inbox: bool = False
    card_bind_rate: str = "10/hour"  # per user: card binding attempts (each sends a code)
    payment_rate: str = "60/minute"  # per user: top-ups, withdrawals, transfers, confirmations, refunds
    # The simulated bank settles each operation by a webhook within this many seconds, sends
    # that webhook twice with this chance, and declines this share of everything (besides its
    # test cards); the demo shows "处理中" for a moment.
    simbank_delay_seconds: float = Field(default=0.0, ge=0, le=3600)
    simbank_duplicate_rate: float = Field(default=0.0, ge=0, le=1)
    simbank_decline_rate: float = Field(default=0.0, ge=0, le=1)
    # The simulated carrier reports a parcel's next step this often; a delivered order completes by
    # itself this many days later unless its buyer confirms first (自动确认收货).
    carrier_step_seconds: float = Field(default=0.0, ge=0, le=86_400)
    order_confirm_days: float = Field(default=7.0, ge=0, le=60)
    # The platform's commission on payments released from escrow, in basis points (100 = 1 %).
    platform_fee_bps: int = Field(default=100, ge=0, le=5000)
    search_rate: str = "120/minute"  # per user or client address: searches, and separately suggestions
    # Feed events (feed/events.py): batches per user, events per batch, how far ahead of ours a
    # client's clock may run and how old an event may be, the slack on watch time over
    # duration × (replays + 1), and what counts as a skip (left within this many seconds).
    feed_events_rate: str = "60/minute"
    feed_max_batch: int = Field(default=200, ge=1, le=1000)
    feed_event_skew_seconds: float = Field(default=120.0, ge=0, le=3600)
    feed_event_max_age_hours: float = Field(default=72.0, gt=0, le=24 * 30)
    feed_watch_slack_ms: int = Field(default=2000, ge=0, le=60_000)
    feed_skip_seconds: float = Field(default=3.0, ge=0, le=60)
    # The aggregate job folds new events into video_feed_stats this often (longer while idle);
    # events younger than the settle time wait for the next run (clocks of different hosts).
    feed_aggregate_seconds: float = Field(default=30.0, gt=0, le=3600)
    feed_aggregate_batch: int = Field(default=5000, ge=1, le=100_000)
    feed_aggregate_settle_ms: int = Field(default=2000, ge=0, le=600_000)
    # The recommender retrains from the log this often, queued by the aggregate job while events
    # arrive (0: only by `shua feed train`). The model folder must be shared by API hosts.
    feed_retrain_hours: float = Field(default=6.0, ge=0, le=24 * 30)
    # New-video traffic pools (feed/pools.py, ARCHITECTURE.md): impression budgets of stages 0,
    # 1, 2 (stage 3 is unbounded); a video is promoted when the Wilson lower bounds (z) of its
    # completion and like rates, over at least min-plays plays, beat its stage cohort's averages
    # (the baselines stand in while the cohort has fewer than min-cohort other videos).
    feed_pool_budgets: tuple[int, int, int] = (200, 2000, 20000)
    feed_pool_min_plays: int = Field(default=50, ge=1)
    feed_pool_z: float = Field(default=1.28, ge=0, le=5)
    feed_pool_min_cohort: int = Field(default=5, ge=1)
    feed_pool_baseline_completion: float = Field(default=0.30, ge=0, le=1)
    feed_pool_baseline_like: float = Field(default=0.03, ge=0, le=1)
    # Experiment readouts: a gap longer than this between a user's events starts a new session.
    feed_session_gap_minutes: float = Field(default=30.0, gt=0)
    # Live updates (Server-Sent Events): a comment line this often keeps proxies from closing an
    # idle stream and is when a revoked session is noticed; a connection buffers at most this many
    # events before it is told to refetch instead.
    live_heartbeat_seconds: float = Field(default=15.0, gt=0, le=300)
    live_queue_size: int = Field(default=64, ge=4, le=10_000)
    live_connections_per_user: int = Field(default=16, ge=1, le=1000)  # per process
    # argon2id cost; the defaults are RFC 9106's low-memory choice. Tests lower them for speed.
    argon2_time_cost: int = Field(default=3, ge=1, le=10)
    argon2_memory_kib: int = Field(default=65_536, ge=1024, le=1_048_576)
    account_purge_days: int = 7  # soft-deleted accounts are purged after this
    run_jobs_in_process: bool = True  # the embedded worker; `shua worker` for scale-out
    job_poll_seconds: float = 1.0
    log_json: bool | None = None  # None: JSON lines unless stderr is a terminal
    log_level: str = "INFO"
    default_locale: str = "zh-CN"

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.var_dir / 'shua.db'}"

    @property
    def effective_media_dir(self) -> Path:
        return self.media_dir or self.var_dir / "media"

    @property
    def is_sqlite(self) -> bool:
        return self.effective_database_url.startswith("sqlite")

    @property
    def cookie_secure(self) -> bool:
        return self.base_url.startswith("https://")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
