"""Live updates: a per-user event hub behind the Server-Sent Events endpoint.

Every open connection (a tab, a phone) subscribes for its user, and `send(user_id, event)` reaches
every connection of that user in every API process. Embedded, that is an asyncio queue per
connection. With SHUA_REDIS_URL set, events travel over Redis pub/sub on a channel per user, and
each process runs one subscriber task listening to the channels of the users connected to it, so
an event costs nothing in processes where its user has no open page.

Events are hints for an open page, not a log: delivery is at most once, and the page can always
refetch the truth. A connection that falls behind (a slow client, a Redis hiccup) is told so with
one `resync` event instead of buffering without bound. Writers use `send_after_commit`: the event
leaves only once the transaction commits, so a rolled-back change never shows up anywhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from shua.core.errors import RateLimited
from shua.core.ids import new_id

log = logging.getLogger("shua.live")

_PENDING = "shua.live.pending"  # Session.info key: events waiting for the commit
_HOOKED = "shua.live.hooked"
SUBSCRIBE_TIMEOUT = 5.0


@dataclass(frozen=True)
class Event:
    """One live event: a kind ("message", "read", "notification", "unread", "resync") and JSON data."""

    kind: str
    data: dict[str, Any] = field(default_factory=dict)

    def encode(self) -> str:
        return json.dumps({"kind": self.kind, "data": self.data}, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def decode(cls, raw: str | bytes) -> Event:
        value = json.loads(raw)
        return cls(str(value["kind"]), dict(value.get("data") or {}))


RESYNC = Event("resync")


class TooManyConnections(RateLimited):
    code = "live.too_many_connections"
    title = "Too many live connections are open for this account"


class Subscription:
    """The events of one connection: `async for event in sub`, or `await sub.get(within=15)`."""

    def __init__(self, hub: LiveHub, user_id: int, size: int) -> None:
        self.hub, self.user_id = hub, user_id
        self._queue: asyncio.Queue[Event] = asyncio.Queue(size)
        self._loop: asyncio.AbstractEventLoop | None = None
        self.dropped = 0

    async def __aenter__(self) -> Subscription:
        self._loop = asyncio.get_running_loop()
        await self.hub._attach(self)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.hub._detach(self)

    def deliver(self, event: Event) -> None:
        """Hand an event over from any thread or loop (the worker, a test's loop)."""
        if self._loop is None:
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            self._offer(event)
        elif not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._offer, event)

    def _offer(self, event: Event) -> None:
        if self._queue.full():
            # Fallen behind: forget the backlog and tell the page to refetch, in bounded memory.
            self.dropped += self._queue.qsize()
            while not self._queue.empty():
                self._queue.get_nowait()
            self._queue.put_nowait(RESYNC)
            if event is RESYNC:
                return
        self._queue.put_nowait(event)

    async def get(self, within: float | None = None) -> Event | None:
        """The next event, or None when `within` seconds pass without one."""
        try:
            return await asyncio.wait_for(self._queue.get(), within)
        except TimeoutError:
            return None

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Event:
        return await self._queue.get()


class LiveHub:
    """Per-user fan-out to open connections, in process or through Redis pub/sub."""

    def __init__(self, redis_url: str = "", *, queue_size: int = 64, per_user: int = 16,
                 prefix: str = "shua:live:") -> None:
        self.queue_size, self.per_user, self.prefix = queue_size, per_user, prefix
        self._local: dict[int, set[Subscription]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._redis = _RedisRelay(self, redis_url) if redis_url else None

    def subscribe(self, user_id: int) -> Subscription:
        """`async with hub.subscribe(user_id) as events:` — the events of one connection."""
        return Subscription(self, user_id, self.queue_size)

    def connections(self, user_id: int) -> int:
        return len(self._local.get(user_id, ()))

    async def _attach(self, sub: Subscription) -> None:
        mine = self._local.setdefault(sub.user_id, set())
        if len(mine) >= self.per_user:
            raise TooManyConnections(retry_after=30)
        mine.add(sub)
        if self._redis is not None:
            try:
                await self._redis.listen(sub.user_id)
            except BaseException:
                await self._detach(sub)
                raise

    async def _detach(self, sub: Subscription) -> None:
        mine = self._local.get(sub.user_id)
        if mine is None or sub not in mine:
            return
        mine.discard(sub)
        if not mine:
            del self._local[sub.user_id]
        if self._redis is not None:
            await self._redis.unlisten(sub.user_id)

    def _deliver_locally(self, user_id: int, event: Event) -> None:
        for sub in list(self._local.get(user_id, ())):
            sub.deliver(event)

    def _resync_all(self) -> None:
        for subs in list(self._local.values()):
            for sub in list(subs):
                sub.deliver(RESYNC)

    async def send(self, user_id: int, event: Event) -> None:
        """Deliver to every open connection of the user, in every process."""
        if self._redis is None:
            self._deliver_locally(user_id, event)
        else:
            await self._redis.publish(user_id, event)

    async def send_many(self, items: list[tuple[int, Event]]) -> None:
        for user_id, event in items:
            try:
                await self.send(user_id, event)
            except Exception:  # a live hint failing must never break anything else
                log.warning("live event not sent", exc_info=True, extra={"user_id": str(user_id)})

    def send_after_commit(self, db: AsyncSession, user_id: int, event: Event) -> None:
        """Send `event` once the session's transaction commits; nothing if it rolls back."""
        session = db.sync_session
        session.info.setdefault(_PENDING, []).append((user_id, event))
        if not session.info.get(_HOOKED):
            session.info[_HOOKED] = True
            sa_event.listen(session, "after_commit", self._after_commit)
            sa_event.listen(session, "after_rollback", _forget_pending)

    def _after_commit(self, session: Session) -> None:
        pending: list[tuple[int, Event]] = session.info.pop(_PENDING, [])
        if pending:
            self._spawn(self.send_many(pending))

    def _spawn(self, coro: Any) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # committed outside an event loop: nobody could be listening here anyway
            coro.close()
            return
        task = loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def flush(self) -> None:
        """Wait until events already handed over have gone out (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.flush(), 5)
        if self._redis is not None:
            await self._redis.close()


def _forget_pending(session: Session) -> None:
    session.info.pop(_PENDING, None)


class _RedisRelay:
    """Redis pub/sub for a hub: publishes to `{prefix}u:{user_id}`, and one reader task per process
    subscribes to the channels of its connected users (reference-counted). A private control
    channel keeps the connection subscribed, so the reader always has something to wait on."""

    def __init__(self, hub: LiveHub, redis_url: str) -> None:
        import redis.asyncio as aioredis

        self.hub = hub
        self.client = aioredis.from_url(redis_url)
        self.pubsub = self.client.pubsub()
        self.control = f"{hub.prefix}hub:{new_id()}"
        self._refs: dict[int, int] = {}
        self._ready: dict[str, asyncio.Future[None]] = {}
        self._lock = asyncio.Lock()
        self._reader: asyncio.Task[None] | None = None

    def channel(self, user_id: int) -> str:
        return f"{self.hub.prefix}u:{user_id}"

    async def publish(self, user_id: int, event: Event) -> None:
        await self.client.publish(self.channel(user_id), event.encode())

    async def _subscribe(self, channel: str) -> asyncio.Future[None]:
        # Confirmed when Redis says so: only then is a publish from another process sure to arrive.
        ready = self._ready.get(channel)
        if ready is None or ready.done():
            ready = asyncio.get_running_loop().create_future()
            self._ready[channel] = ready
        await self.pubsub.subscribe(channel)
        return ready

    async def _start(self) -> None:
        if self._reader is None or self._reader.done():
            ready = await self._subscribe(self.control)
            self._reader = asyncio.create_task(self._read(), name="shua-live-redis")
            await asyncio.wait_for(asyncio.shield(ready), SUBSCRIBE_TIMEOUT)

    async def listen(self, user_id: int) -> None:
        channel = self.channel(user_id)
        async with self._lock:
            await self._start()
            self._refs[user_id] = self._refs.get(user_id, 0) + 1
            ready = await self._subscribe(channel) if self._refs[user_id] == 1 else self._ready[channel]
        try:
            await asyncio.wait_for(asyncio.shield(ready), SUBSCRIBE_TIMEOUT)
        except TimeoutError:
            log.warning("live subscription not confirmed in time", extra={"channel": channel})

    async def unlisten(self, user_id: int) -> None:
        async with self._lock:
            left = self._refs.get(user_id, 0) - 1
            if left > 0:
                self._refs[user_id] = left
                return
            self._refs.pop(user_id, None)
            channel = self.channel(user_id)
            self._ready.pop(channel, None)
            with contextlib.suppress(Exception):
                await self.pubsub.unsubscribe(channel)

    async def _read(self) -> None:
        while True:
            try:
                message = await self.pubsub.get_message(timeout=None)
            except asyncio.CancelledError:
                raise
            except Exception:
                # Redis went away: redis-py reconnects and resubscribes; events sent meanwhile are
                # lost, so every open page is told to refetch.
                log.warning("live subscriber lost Redis; retrying", exc_info=True)
                await asyncio.sleep(1)
                self.hub._resync_all()
                continue
            if message is not None:
                self._handle(message)

    def _handle(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        channel = message.get("channel")
        name = channel.decode() if isinstance(channel, bytes) else str(channel)
        if kind == "subscribe":
            ready = self._ready.get(name)
            if ready is not None and not ready.done():
                ready.set_result(None)
        elif kind == "message" and name.startswith(f"{self.hub.prefix}u:"):
            try:
                user_id = int(name.rsplit(":", 1)[1])
                event = Event.decode(message["data"])
            except (ValueError, KeyError, TypeError):
                log.warning("malformed live event", extra={"channel": name})
                return
            self.hub._deliver_locally(user_id, event)

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
        with contextlib.suppress(Exception):
            await self.pubsub.aclose()  # type: ignore[no-untyped-call]
        with contextlib.suppress(Exception):
            await self.client.aclose()
