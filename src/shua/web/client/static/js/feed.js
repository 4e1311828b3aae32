// The For You feed: a full-screen vertical swipe player. Scroll snapping does the swiping
// (touch, wheel, keys); this module decides which video plays, which are preloaded, which are
// let go, and fetches the next page before the viewer reaches the end.
import { close as closeComments, isOpen as commentsOpen, openComments } from "./comments.js";
import { heartBurst, loggedIn, Rail, toLogin } from "./engage.js";
import { send, Watch } from "./feed-events.js";
import { attachSources, captionNodes, detachSources } from "./player.js";
import { openReport } from "./report.js";
import { api, cloneRow, t, toast } from "./shua.js";

const DOUBLE_TAP_MS = 300; // a second tap sooner than this likes instead of pausing
const LONG_PRESS_MS = 600; // holding a video this long opens "not interested"
const PRELOAD_AHEAD = 2; // the next two videos buffer while this one plays
const KEEP_BEHIND = 1; // one back stays loaded for a quick swipe back; older ones are let go
const FETCH_WHEN_LEFT = 3;

const feed = document.getElementById("feed");
const soundButton = document.getElementById("feed-sound");
const slides = [];
let cursor = feed.dataset.next || null;
let requestId = feed.dataset.request || "";
let loading = false;
let active = -1;
let muted = true;

function avatarTone(id) {
  return Number(BigInt(id) % 6n); // the server's placeholder colour: user.id % 6
}

function fill(el, item) {
  const { video, creator } = item;
  const field = (name) => el.querySelector(`[data-field="${name}"]`);
  const player = el.querySelector("video");
  el.dataset.videoId = video.id;
  if (video.poster_url) player.poster = video.poster_url;
  if (video.width && video.height && video.width > video.height) player.classList.add("slide__video--wide");
  const link = field("creator-link");
  link.href = `/u/${encodeURIComponent(creator.handle)}`;
  field("creator-name").textContent = creator.nickname || creator.handle;
  const avatar = field("avatar");
  avatar.classList.add(`avatar--tone${avatarTone(creator.id)}`);
  avatar.querySelector(".avatar__initial").textContent = (creator.nickname || creator.handle).slice(0, 1).toUpperCase();
  if (creator.avatar_url) {
    const img = document.createElement("img");
    img.className = "avatar__img";
    img.alt = "";
    img.src = creator.avatar_url;
    img.addEventListener("error", () => img.remove(), { once: true });
    avatar.append(img);
  }
  const handle = field("handle");
  handle.href = link.href;
  handle.textContent = `@${creator.handle}`;
  field("caption").replaceChildren(...captionNodes(video.caption || ""));
}

function bindSlide(slide) {
  const { el, player } = slide;
  slide.rail = new Rail(el.querySelector(".rail"), slide.item.video, {
    onComments: (rail) => {
      if (!loggedIn()) return toLogin(rail.next);
      openComments(slide.item.video, { rail, trigger: el.querySelector('[data-action="comments"]') });
    },
  });
  bindTaps(slide);
  player.addEventListener("play", () => el.classList.remove("slide--paused"));
  player.addEventListener("pause", () => {
    if (slides.indexOf(slide) === active) el.classList.add("slide--paused");
  });
  player.addEventListener("error", () => el.classList.add("slide--broken"), true);
  bindScrub(slide);
}

// One tap pauses or plays; a double tap likes, with a heart where the finger was. The single
// tap waits DOUBLE_TAP_MS to be sure it is not the first half of a double one.
function bindTaps(slide) {
  const tap = slide.el.querySelector(".slide__tap");
  let last = -Infinity;
  let pending = 0;
  let held = 0;
  let longPressed = false;
  tap.addEventListener("pointerdown", () => {
    longPressed = false;
    held = setTimeout(() => {
      longPressed = true;
      openMenu(slide);
    }, LONG_PRESS_MS);
  });
  for (const end of ["pointerup", "pointerleave", "pointercancel"]) {
    tap.addEventListener(end, () => clearTimeout(held));
  }
  tap.addEventListener("contextmenu", (event) => {
    event.preventDefault(); // a right click (desktop) opens the same menu
    clearTimeout(held);
    openMenu(slide);
  });
  tap.addEventListener("click", (event) => {
    if (longPressed) return; // the press opened the menu; this is its release

    if (event.detail === 0) return togglePlay(slide); // a keyboard "click": no double taps there
    const now = performance.now();
    if (now - last < DOUBLE_TAP_MS) {
      clearTimeout(pending);
      last = -Infinity;
      if (!loggedIn()) return toLogin(slide.rail.next);
      heartBurst(slide.el, event.clientX, event.clientY);
      slide.rail.like(true);
      return;
    }
    last = now;
    pending = setTimeout(() => togglePlay(slide), DOUBLE_TAP_MS);
  });
}

const menu = document.getElementById("slide-menu");
const menuBackdrop = document.getElementById("slide-menu-backdrop");
let menuSlide = null;

function openMenu(slide) {
  if (!loggedIn()) return toLogin(slide.rail.next);
  menuSlide = slide;
  menu.hidden = false;
  menuBackdrop.hidden = false;
  menu.querySelector("button").focus();
}

function closeMenu() {
  menu.hidden = true;
  menuBackdrop.hidden = true;
  menuSlide = null;
}

/** Not interested: told to the server (the next page leaves that creator and topic out) and
 * applied here at once — the creator's and topic's slides still ahead go, and the feed moves on. */
function notInterested(slide) {
  send("not_interested", slide.item);
  const { owner_id: owner, hashtags } = slide.item.video;
  const topic = (hashtags || [])[0]?.toLowerCase();
  const at = slides.indexOf(slide);
  for (let i = slides.length - 1; i > at; i -= 1) {
    const ahead = slides[i];
    const sameTopic = topic && (ahead.item.video.hashtags || [])[0]?.toLowerCase() === topic;
    if (ahead.item.video.owner_id === owner || sameTopic) {
      observer.unobserve(ahead.el);
      detachSources(ahead.player);
      ahead.el.remove();
      slides.splice(i, 1);
    }
  }
  toast(t("js.not_interested_done"));
  step(1);
}

menu.querySelector('[data-action="not-interested"]').addEventListener("click", () => {
  const slide = menuSlide;
  closeMenu();
  if (slide) notInterested(slide);
});
menu.querySelector('[data-action="report"]').addEventListener("click", () => {
  const slide = menuSlide;
  closeMenu();
  if (slide) openReport("video", slide.item.video.id);
});
menu.querySelector('[data-action="close"]').addEventListener("click", closeMenu);
menuBackdrop.addEventListener("click", closeMenu);

function bindScrub(slide) {
  const { el, player, item } = slide;
  const seek = el.querySelector(".slide__seek");
  const thumb = el.querySelector(".slide__thumb");
  const sprite = item.video.sprite;
  let dragging = false;
  const duration = () => player.duration || (item.video.duration_ms || 0) / 1000;
  player.addEventListener("timeupdate", () => {
    if (!dragging && duration()) seek.value = String(Math.round((player.currentTime / duration()) * 1000));
  });
  seek.addEventListener("input", () => {
    dragging = true;
    const at = (Number(seek.value) / 1000) * duration();
    thumb.querySelector(".slide__thumb-time").textContent = formatTime(at);
    if (sprite && duration()) {
      // Tile i shows duration × (i + 0.5) / count: pick the nearest one.
      const index = Math.min(sprite.count - 1, Math.floor((at / duration()) * sprite.count));
      thumb.style.backgroundImage = `url("${sprite.url}")`;
      thumb.style.backgroundPosition = `-${(index % sprite.columns) * sprite.tile_width}px -${Math.floor(index / sprite.columns) * sprite.tile_height}px`;
      thumb.style.width = `${sprite.tile_width}px`;
      thumb.style.height = `${sprite.tile_height}px`;
    }
    thumb.hidden = false;
  });
  seek.addEventListener("change", () => {
    dragging = false;
    thumb.hidden = true;
    if (duration()) player.currentTime = (Number(seek.value) / 1000) * duration();
  });
}

function formatTime(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

function append(items) {
  for (const item of items) {
    if (slides.some((s) => s.item.video.id === item.video.id)) continue; // a page boundary moved
    const el = cloneRow("feed-slide");
    item.request = item.request || requestId;
    fill(el, item);
    const slide = { el, item, player: el.querySelector("video") };
    bindSlide(slide);
    slides.push(slide);
    feed.append(el);
    observer.observe(el);
  }
}

async function loadMore() {
  if (loading || !cursor) return;
  loading = true;
  try {
    const page = await api("GET", `/api/v1/feed?tab=${feed.dataset.tab}&cursor=${encodeURIComponent(cursor)}`);
    cursor = page.next_cursor;
    requestId = page.request_id || requestId;
    append(page.items);
  } catch {
    toast(t("js.feed_error"));
  } finally {
    loading = false;
  }
}

function play(slide) {
  slide.player.muted = muted;
  slide.player.play().catch(() => {
    // Autoplay with sound refused (no gesture yet): play muted and offer the sound button.
    if (!slide.player.muted) {
      muted = slide.player.muted = true;
      showSound();
      slide.player.play().catch(() => slide.el.classList.add("slide--paused"));
    } else {
      slide.el.classList.add("slide--paused");
    }
  });
}

function activate(index) {
  if (index === active) return;
  slides[active]?.watch?.stop();
  active = index;
  const current = slides[index];
  if (current) {
    current.watch = new Watch(current.item, current.player);
    current.watch.start();
  }
  slides.forEach((slide, i) => {
    slide.el.classList.toggle("slide--active", i === index);
    if (i === index) {
      attachSources(slide.player, slide.item.video);
      slide.player.preload = "auto";
      play(slide);
    } else if (i > index && i <= index + PRELOAD_AHEAD) {
      attachSources(slide.player, slide.item.video);
      slide.player.preload = "auto";
      slide.player.pause();
    } else if (i < index && i >= index - KEEP_BEHIND) {
      slide.player.pause();
    } else {
      detachSources(slide.player);
      slide.el.classList.remove("slide--paused");
    }
  });
  if (slides.length - index <= FETCH_WHEN_LEFT) {
    loadMore().then(() => {
      if (!cursor && index === slides.length - 1 && slides.length > 1) toast(t("js.feed_end"));
    });
  }
}

function togglePlay(slide) {
  if (slide.player.paused) {
    play(slide);
  } else {
    slide.player.pause();
  }
}

function showSound() {
  soundButton.hidden = false;
  soundButton.setAttribute("aria-pressed", String(!muted));
  const label = muted ? soundButton.dataset.labelOff : soundButton.dataset.labelOn;
  document.getElementById("feed-sound-label").textContent = label;
  soundButton.title = label;
}

soundButton.addEventListener("click", () => {
  muted = !muted;
  showSound();
  const slide = slides[active];
  if (slide) {
    slide.player.muted = muted;
    if (slide.player.paused) play(slide);
  }
});

const observer = new IntersectionObserver(
  (entries) => {
    for (const entry of entries) {
      if (!entry.isIntersecting) continue;
      if (commentsOpen()) closeComments(); // the sheet belongs to the video that scrolled away
      activate(slides.findIndex((s) => s.el === entry.target));
    }
  },
  { root: feed, threshold: 0.6 },
);

function step(delta) {
  const next = slides[Math.max(0, Math.min(slides.length - 1, active + delta))];
  const smooth = !matchMedia("(prefers-reduced-motion: reduce)").matches;
  next?.el.scrollIntoView({ behavior: smooth ? "smooth" : "auto", block: "start" });
}

document.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && !menu.hidden) return closeMenu();
  if (commentsOpen() || event.target.closest?.("input, textarea, [contenteditable]")) return;
  if (["ArrowDown", "PageDown", "j"].includes(event.key)) step(1);
  else if (["ArrowUp", "PageUp", "k"].includes(event.key)) step(-1);
  else if (event.key === " " && slides[active]) togglePlay(slides[active]);
  else return;
  event.preventDefault();
});

document.addEventListener("visibilitychange", () => {
  const slide = slides[active];
  if (!slide) return;
  if (document.hidden) slide.player.pause();
  else play(slide);
});

append(JSON.parse(document.getElementById("feed-first").textContent || "[]"));
showSound();
