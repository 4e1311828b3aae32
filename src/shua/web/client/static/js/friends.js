// The 朋友 Friends tab: today's daily posts in a strip, then friends' videos, daily posts and
// moods, newest first, "new" on what came since the last visit (which this visit then ends).
import { captionNodes } from "./player.js";
import { api, cloneRow, errorMessage, t } from "./shua.js";

const strip = document.getElementById("daily-strip");
const list = document.getElementById("moments");
const status = document.getElementById("moments-status");
const more = document.getElementById("moments-more");
const empty = document.getElementById("moments-empty");
const me = strip.dataset.me;
const relative = new Intl.RelativeTimeFormat(document.documentElement.lang || "zh-CN", { numeric: "auto" });
let cursor = null;
let marked = false;

function timeAgo(iso) {
  const seconds = (new Date(iso).getTime() - Date.now()) / 1000;
  for (const [unit, size] of [["day", 86400], ["hour", 3600], ["minute", 60]]) {
    if (Math.abs(seconds) >= size) return relative.format(Math.round(seconds / size), unit);
  }
  return t("js.just_now");
}

function fillAvatar(el, user) {
  el.classList.add(`avatar--tone${Number(BigInt(user.id) % 6n)}`);
  el.querySelector(".avatar__initial").textContent = (user.nickname || user.handle).slice(0, 1).toUpperCase();
  if (user.avatar_url) {
    const img = document.createElement("img");
    img.className = "avatar__img";
    img.alt = "";
    img.src = user.avatar_url;
    img.addEventListener("error", () => img.remove(), { once: true });
    el.append(img);
  }
}

function stripItem(entry) {
  const item = cloneRow("strip-item");
  const field = (name) => item.querySelector(`[data-field="${name}"]`);
  const mine = entry.user.handle === me;
  field("link").href = `/u/${encodeURIComponent(entry.user.handle)}/daily`;
  field("name").textContent = mine ? t("js.daily_mine") : entry.user.nickname || entry.user.handle;
  field("ring").classList.toggle("strip__ring--unseen", entry.unseen);
  fillAvatar(field("avatar"), entry.user);
  return item;
}

function addOwnStripItem() {
  const item = cloneRow("strip-item");
  const field = (name) => item.querySelector(`[data-field="${name}"]`);
  field("link").href = "/daily/new";
  field("name").textContent = t("js.daily_add");
  field("ring").classList.add("strip__ring--add");
  field("avatar").querySelector(".avatar__initial").textContent = "+";
  strip.prepend(item);
}

async function loadStrip() {
  try {
    const entries = await api("GET", "/api/v1/friends/daily");
    strip.replaceChildren(...entries.map(stripItem));
    if (!entries.some((e) => e.user.handle === me)) addOwnStripItem();
  } catch {
    addOwnStripItem();
  }
}

function media(kind, src, alt) {
  const img = document.createElement("img");
  img.className = `moment__media moment__media--${kind}`;
  img.src = src;
  img.alt = alt;
  img.loading = "lazy";
  img.decoding = "async";
  return img;
}

function card(item) {
  const el = cloneRow("moment-card");
  const field = (name) => el.querySelector(`[data-field="${name}"]`);
  el.dataset.kind = item.kind;
  field("who").href = `/u/${encodeURIComponent(item.user.handle)}`;
  fillAvatar(field("avatar"), item.user);
  field("name").textContent = item.user.nickname || item.user.handle;
  field("time").dateTime = item.created_at;
  field("time").textContent = timeAgo(item.created_at);
  field("new").hidden = !item.new;
  const body = field("body");
  if (item.kind === "video") {
    field("what").textContent = t("js.moment_video");
    const link = document.createElement("a");
    link.className = "moment__link";
    link.href = `/v/${item.video.id}`;
    if (item.video.poster_url) link.append(media("poster", item.video.poster_url, ""));
    const caption = document.createElement("p");
    caption.className = "moment__caption";
    caption.append(...captionNodes(item.video.caption || ""));
    body.append(caption, link);
  } else if (item.kind === "daily") {
    field("what").textContent = t("js.moment_daily");
    const link = document.createElement("a");
    link.className = "moment__link";
    link.href = `/u/${encodeURIComponent(item.user.handle)}/daily`;
    const src = item.daily.photo_url || item.daily.video?.poster_url;
    if (src) link.append(media("daily", src, item.daily.caption));
    if (item.daily.caption) {
      const caption = document.createElement("p");
      caption.className = "moment__caption";
      caption.textContent = item.daily.caption;
      body.append(caption);
    }
    body.append(link);
  } else {
    field("what").textContent = t("js.moment_mood");
    const mood = document.createElement("p");
    mood.className = "moment__mood";
    const emoji = document.createElement("span");
    emoji.className = "moment__emoji";
    emoji.setAttribute("aria-hidden", "true");
    emoji.textContent = item.mood.emoji;
    const tag = document.createElement("span");
    tag.className = "moment__tag";
    tag.textContent = t(`js.mood_${item.mood.tag}`);
    mood.append(emoji, tag);
    if (item.mood.text) {
      const text = document.createElement("span");
      text.className = "moment__text";
      text.textContent = item.mood.text;
      mood.append(text);
    }
    body.append(mood);
  }
  return el;
}

async function loadPage() {
  list.setAttribute("aria-busy", "true");
  more.hidden = true;
  try {
    const page = await api("GET", cursor ? `/api/v1/friends/feed?cursor=${encodeURIComponent(cursor)}` : "/api/v1/friends/feed");
    list.append(...page.items.map(card));
    cursor = page.next_cursor;
    more.hidden = !cursor;
    empty.hidden = list.children.length > 0;
    status.textContent = "";
    if (!marked) {
      marked = true; // what is on screen now is no longer "new" next time
      api("POST", "/api/v1/friends/seen").catch(() => {});
    }
  } catch (error) {
    status.textContent = errorMessage(error);
  } finally {
    list.setAttribute("aria-busy", "false");
  }
}

more.addEventListener("click", loadPage);
loadStrip();
loadPage();
