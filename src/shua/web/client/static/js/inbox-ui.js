// Shared pieces of the 消息 pages: avatars, short times, previews, live events, infinite lists.
import { locale, t } from "./shua.js";

/** Fill an `.avatar` placeholder for a user (initial on a stable colour, photo on top). */
export function fillAvatar(el, user) {
  const name = (user?.nickname || user?.handle || "").trim();
  el.querySelector("[data-field=initial]").textContent = name ? name[0].toUpperCase() : "?";
  el.classList.add(`avatar--tone${user ? Number(BigInt(user.id) % 6n) : 0}`);
  if (user?.avatar_url) {
    const img = document.createElement("img");
    img.className = "avatar__img";
    img.alt = "";
    img.decoding = "async";
    img.src = user.avatar_url;
    img.addEventListener("error", () => img.remove(), { once: true });
    el.append(img);
  }
}

const relative = new Intl.RelativeTimeFormat(locale, { numeric: "auto", style: "short" });
const clock = new Intl.DateTimeFormat(locale, { hour: "2-digit", minute: "2-digit" });
const dayMonth = new Intl.DateTimeFormat(locale, { month: "short", day: "numeric" });
const fullDate = new Intl.DateTimeFormat(locale, { year: "numeric", month: "short", day: "numeric" });
const weekday = new Intl.DateTimeFormat(locale, { weekday: "long" });

function startOfDay(date) {
  return new Date(date.getFullYear(), date.getMonth(), date.getDate()).getTime();
}

/** Days between the local calendar days of two dates (0 = same day). */
export function dayDiff(a, b) {
  return Math.round((startOfDay(a) - startOfDay(b)) / 86_400_000);
}

/** "刚刚", "5分钟前", "14:03", "昨天", "3月2日": a list row's time, in the viewer's zone. */
export function shortTime(iso) {
  if (!iso) return "";
  const when = new Date(iso);
  const now = new Date();
  const minutes = Math.round((now - when) / 60_000);
  if (minutes < 1) return t("js.time_now");
  if (minutes < 60) return relative.format(-minutes, "minute");
  const days = dayDiff(now, when);
  if (days === 0) return clock.format(when);
  if (days === 1) return relative.format(-1, "day");
  return when.getFullYear() === now.getFullYear() ? dayMonth.format(when) : fullDate.format(when);
}

/** A chat's day separator: "今天 14:03", "昨天 09:12", "星期二 20:00", "3月2日 18:40". */
export function dayLabel(iso) {
  const when = new Date(iso);
  const now = new Date();
  const days = dayDiff(now, when);
  let day;
  if (days === 0) day = relative.format(0, "day");
  else if (days === 1) day = relative.format(-1, "day");
  else if (days < 7) day = weekday.format(when);
  else day = when.getFullYear() === now.getFullYear() ? dayMonth.format(when) : fullDate.format(when);
  return `${day.charAt(0).toLocaleUpperCase(locale)}${day.slice(1)} ${clock.format(when)}`;
}

export function setTime(el, iso) {
  el.dateTime = iso || "";
  el.textContent = shortTime(iso);
  if (iso) el.title = fullDate.format(new Date(iso)) + " " + clock.format(new Date(iso));
}

/** What a conversation row says about its last message. */
export function preview(message) {
  if (!message) return "";
  if (message.kind === "video") return message.body ? `${t("js.chat_video_preview")} ${message.body}` : t("js.chat_video_preview");
  return message.body;
}

/** Run `handler({kind, data})` for each live event (see live.js). */
export function onLive(handler) {
  addEventListener("shua:live", (event) => handler(event.detail));
}

/** Call `load()` whenever `sentinel` scrolls into view, until it returns false. */
export function whenVisible(sentinel, load, root = null) {
  let busy = false;
  const observer = new IntersectionObserver(async (entries) => {
    if (busy || !entries.some((e) => e.isIntersecting)) return;
    busy = true;
    try {
      if ((await load()) === false) observer.disconnect();
    } finally {
      busy = false;
    }
  }, { root, rootMargin: "200px 0px" });
  observer.observe(sentinel);
  return observer;
}

/** The inlined first page of a list (a JSON data block). */
export function firstPage(id) {
  return JSON.parse(document.getElementById(id)?.textContent || '{"items":[],"next_cursor":null}');
}
