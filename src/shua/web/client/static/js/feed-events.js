// What the viewer does with each video, told to the server in batches so the feed can learn:
// an impression when a slide is shown, play when it starts, how long it was watched (watch_ms,
// with replays), complete when it played through, skip when left within SKIP_MS, and
// not_interested. Each event has its own id, so a batch sent twice counts once. Batches go out
// every few seconds, when enough have piled up, and when the page is hidden (keepalive fetch:
// unlike sendBeacon it carries the CSRF header).
import { csrfToken } from "./shua.js";

const FLUSH_MS = 5000;
const FLUSH_AT = 20;
const SKIP_MS = 3000;

const queue = [];
let timer = 0;

function uuid() {
  return crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(16).slice(2)}`;
}

export function flush({ keepalive = false } = {}) {
  clearTimeout(timer);
  timer = 0;
  if (!queue.length) return;
  const events = queue.splice(0, queue.length);
  fetch("/api/v1/feed/events", {
    method: "POST",
    credentials: "same-origin",
    keepalive,
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrfToken() },
    body: JSON.stringify({ events }),
  }).catch(() => {
    if (!keepalive) queue.unshift(...events.slice(0, 200 - queue.length)); // try again with the next batch
  });
}

export function send(kind, item, extra = {}) {
  if (!csrfToken()) return; // logged out: nothing to learn for an account
  queue.push({
    event_id: uuid(), kind, video_id: item.video.id, source: item.source || "", request_id: item.request || "",
    at: new Date().toISOString(), ...extra,
  });
  if (queue.length >= FLUSH_AT) flush();
  else if (!timer) timer = setTimeout(flush, FLUSH_MS);
}

/** Follow one slide while it is the active one. */
export class Watch {
  constructor(item, player) {
    this.item = item;
    this.player = player;
    this.started = 0;
    this.watchedMs = 0;
    this.replays = 0;
    this.lastTime = 0;
    this.completed = false;
    this.playing = false;
    this.onTime = () => {
      const now = player.currentTime;
      // A looping video jumps back to the start: one more time round.
      if (now + 0.5 < this.lastTime && this.lastTime > player.duration - 1.5) {
        this.replays += 1;
        if (!this.completed) {
          this.completed = true;
          send("complete", this.item);
        } else {
          send("replay", this.item);
        }
      }
      this.lastTime = now;
    };
    this.onPlay = () => {
      if (!this.playing) {
        this.playing = true;
        this.started = performance.now();
        if (!this.playedOnce) {
          this.playedOnce = true;
          send("play", this.item);
        }
      }
    };
    this.onPause = () => this.account();
  }

  account() {
    if (this.playing) {
      this.watchedMs += performance.now() - this.started;
      this.playing = false;
    }
  }

  start() {
    send("impression", this.item);
    this.shownAt = performance.now();
    this.player.addEventListener("timeupdate", this.onTime);
    this.player.addEventListener("play", this.onPlay);
    this.player.addEventListener("playing", this.onPlay);
    this.player.addEventListener("pause", this.onPause);
    if (!this.player.paused) this.onPlay();
  }

  stop() {
    this.account();
    this.player.removeEventListener("timeupdate", this.onTime);
    this.player.removeEventListener("play", this.onPlay);
    this.player.removeEventListener("playing", this.onPlay);
    this.player.removeEventListener("pause", this.onPause);
    const ms = Math.round(this.watchedMs);
    const duration = this.item.video.duration_ms || 0;
    // The server refuses more than duration × (replays + 1); wall time can run a little over.
    const capped = duration ? Math.min(ms, duration * (this.replays + 1)) : ms;
    if (capped > 0) send("watch", this.item, { watch_ms: capped, replays: this.replays });
    if (!this.completed && performance.now() - this.shownAt < SKIP_MS) send("skip", this.item);
  }
}

addEventListener("pagehide", () => flush({ keepalive: true }));
document.addEventListener("visibilitychange", () => {
  if (document.hidden) flush({ keepalive: true });
});
