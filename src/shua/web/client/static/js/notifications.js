// 新粉丝 / 互动消息: notifications newest first. Opening the page marks its category read (rows stay
// highlighted until you leave); new ones arrive live; older ones load on scroll.
import { api, cloneRow, errorMessage, t, toast } from "./shua.js";
import { fillAvatar, firstPage, onLive, setTime, whenVisible } from "./inbox-ui.js";

const list = document.getElementById("notifications");
const category = list.dataset.category;
const empty = document.getElementById("empty");
const more = document.getElementById("more");
const seen = new Set();
let next = firstPage("notifications-first").next_cursor;

const TEXT = {
  new_follower: "js.notify_new_follower",
  follow_request: "js.notify_follow_request",
  friend_added: "js.notify_friend_added",
  like: "js.notify_like",
  comment: "js.notify_comment",
  reply: "js.notify_reply",
  mention: "js.notify_mention",
  comment_like: "js.notify_comment_like",
};

function text(notice) {
  if (notice.kind === "mention" && notice.subject_kind === "video") return t("js.notify_mention_video");
  return t(TEXT[notice.kind] || "js.notify_other");
}

function row(notice) {
  const el = cloneRow("notice-row");
  const profile = `/u/${notice.actor.handle}`;
  el.querySelector("[data-field=profile]").href = profile;
  el.querySelector("[data-field=profile]").setAttribute("aria-label", notice.actor.nickname);
  fillAvatar(el.querySelector("[data-field=avatar]"), notice.actor);
  // Followers open the profile; likes, comments and mentions open the video.
  el.querySelector("[data-field=link]").href =
    notice.category === "followers" || !notice.video_id ? profile : `/v/${notice.video_id}`;
  el.querySelector("[data-field=name]").textContent = notice.actor.nickname;
  el.querySelector("[data-field=text]").textContent = text(notice);
  setTime(el.querySelector("[data-field=time]"), notice.created_at);
  el.classList.toggle("notice--unread", !notice.read);
  return el;
}

function add(notice, { top = false } = {}) {
  if (seen.has(notice.id)) return;
  seen.add(notice.id);
  if (top) list.prepend(row(notice));
  else list.append(row(notice));
  empty.hidden = true;
}

async function loadMore() {
  if (!next) return false;
  more.textContent = t("js.loading");
  try {
    const query = new URLSearchParams({ category, cursor: next });
    const page = await api("GET", `/api/v1/notifications?${query}`);
    for (const notice of page.items) add(notice);
    next = page.next_cursor;
  } catch (error) {
    toast(errorMessage(error));
    return false;
  } finally {
    more.textContent = "";
  }
  return Boolean(next);
}

async function markRead() {
  try {
    await api("POST", "/api/v1/notifications/read", { category });
  } catch {
    /* the highlight stays; nothing else depends on it */
  }
}

for (const notice of firstPage("notifications-first").items) add(notice);
empty.hidden = seen.size > 0;
whenVisible(more, loadMore);
if (document.visibilityState === "visible") markRead();
else addEventListener("visibilitychange", markRead, { once: true });

/** Newer notifications than the page has (after the stream (re)connects). */
async function catchUp() {
  try {
    const page = await api("GET", `/api/v1/notifications?${new URLSearchParams({ category })}`);
    for (const notice of [...page.items].reverse()) add(notice, { top: true });
  } catch {
    /* the next reconnect tries again */
  }
}

onLive(({ kind, data }) => {
  if (kind === "ready" || kind === "resync") catchUp();
  if (kind !== "notification") return;
  const notice = data.notification;
  if (category !== "all" && notice.category !== category) return;
  add(notice, { top: true });
  if (document.visibilityState === "visible") api("POST", `/api/v1/notifications/${notice.id}/read`).catch(() => {});
});
