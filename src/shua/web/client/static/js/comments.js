// The comments bottom sheet (feed and video page): threads with their first replies, more on
// demand, a post box with @mentions and replies, likes, and the creator's pin and delete.
// User text only ever goes in with textContent.
import { formatCount, loggedIn, toLogin } from "./engage.js";
import { openReport } from "./report.js";
import { api, cloneRow, errorMessage, locale, t, toast, viewerId } from "./shua.js";

const sheet = document.getElementById("comments-sheet");
const backdrop = document.getElementById("comments-backdrop");
const list = document.getElementById("comments-list");
const empty = document.getElementById("comments-empty");
const more = document.getElementById("comments-more");
const title = document.getElementById("comments-title");
const form = document.getElementById("comments-form");
const input = document.getElementById("comments-input");
const replying = document.getElementById("comments-replying");
const mentionList = document.getElementById("mention-list");
const MENTION_RE = /@([a-z][a-z0-9_.]{2,23})/gi;
const relative = new Intl.RelativeTimeFormat(locale, { numeric: "auto" });
const dateOnly = new Intl.DateTimeFormat(locale, { month: "numeric", day: "numeric" });

let state = null; // { video, rail, cursor, replyTo, trigger }

function ago(iso) {
  const seconds = Math.round((Date.now() - new Date(iso).getTime()) / 1000);
  if (seconds < 60) return t("js.just_now");
  if (seconds < 3600) return relative.format(-Math.floor(seconds / 60), "minute");
  if (seconds < 86400) return relative.format(-Math.floor(seconds / 3600), "hour");
  if (seconds < 86400 * 30) return relative.format(-Math.floor(seconds / 86400), "day");
  return dateOnly.format(new Date(iso));
}

function avatarTone(id) {
  return Number(BigInt(id) % 6n);
}

/** The body as text nodes, @mentions of real people as links to them. */
function bodyNodes(comment) {
  const known = new Set(comment.mentions.map((m) => m.handle));
  const nodes = [];
  let at = 0;
  for (const match of comment.body.matchAll(MENTION_RE)) {
    const handle = match[1].toLowerCase().replace(/\.+$/, "");
    if (!known.has(handle) && !known.has(match[1].toLowerCase())) continue;
    if (match.index > at) nodes.push(document.createTextNode(comment.body.slice(at, match.index)));
    const link = document.createElement("a");
    link.className = "comment__mention";
    link.href = `/u/${encodeURIComponent(known.has(handle) ? handle : match[1].toLowerCase())}`;
    link.textContent = match[0];
    nodes.push(link);
    at = match.index + match[0].length;
  }
  if (at < comment.body.length) nodes.push(document.createTextNode(comment.body.slice(at)));
  return nodes;
}

function fillAvatar(el, user) {
  el.className = `avatar avatar--sm avatar--tone${avatarTone(user.id)}`;
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

function row(comment, root) {
  const el = cloneRow("comment-row");
  const field = (name) => el.querySelector(`[data-field="${name}"]`);
  const action = (name) => el.querySelector(`[data-action="${name}"]`);
  el.dataset.id = comment.id;
  el.comment = comment;
  if (root) el.classList.add("comment--reply");
  const author = comment.author;
  if (author) {
    field("author-link").href = `/u/${encodeURIComponent(author.handle)}`;
    field("author").href = field("author-link").href;
    field("author").textContent = author.nickname || author.handle;
    fillAvatar(field("avatar"), author);
    field("creator").hidden = author.id !== state.video.owner_id;
  } else {
    field("author-link").removeAttribute("href");
    field("author").textContent = t("js.comment_gone_author");
    field("avatar").classList.add("avatar--gone");
  }
  field("pinned").hidden = !comment.pinned;
  const body = field("body");
  if (comment.deleted) {
    body.textContent = t("js.comment_deleted_placeholder");
    body.classList.add("comment__body--gone");
  } else {
    const nodes = bodyNodes(comment);
    // A reply to a reply says whom it answers, like Douyin's "回复 @bob：".
    if (root && comment.reply_to_user && comment.reply_to_id !== root.id) {
      const to = document.createElement("span");
      to.className = "comment__to";
      to.textContent = t("js.reply_to", { name: comment.reply_to_user.nickname || comment.reply_to_user.handle });
      nodes.unshift(to);
    }
    body.replaceChildren(...nodes);
  }
  const time = field("time");
  time.dateTime = comment.created_at;
  time.textContent = ago(comment.created_at);
  action("reply").hidden = comment.deleted;
  action("delete").hidden = !comment.can_delete;
  action("report").hidden = comment.deleted || !viewerId() || comment.author?.id === viewerId();
  action("pin").hidden = !comment.can_pin || comment.pinned;
  action("unpin").hidden = !comment.can_pin || !comment.pinned;
  const like = action("like");
  like.hidden = comment.deleted;
  like.setAttribute("aria-pressed", String(comment.liked));
  field("likes").textContent = comment.likes ? formatCount(comment.likes) : "";
  action("reply").addEventListener("click", () => startReply(comment));
  action("delete").addEventListener("click", () => remove(el, comment, root));
  action("report").addEventListener("click", () => openReport("comment", comment.id));
  action("pin").addEventListener("click", () => pin(comment, true));
  action("unpin").addEventListener("click", () => pin(comment, false));
  like.addEventListener("click", () => likeComment(el, comment));
  if (!root) {
    const replies = field("replies");
    for (const reply of comment.first_replies || []) replies.append(row(reply, comment));
    el.repliesCursor = comment.replies_cursor;
    updateExpand(el);
    action("expand").addEventListener("click", () => expand(el));
  }
  return el;
}

function updateExpand(el) {
  const button = el.querySelector(':scope > .comment__main > [data-action="expand"]');
  const shown = el.querySelector('[data-field="replies"]').children.length;
  const left = el.comment.replies - shown;
  button.hidden = !el.repliesCursor || left <= 0;
  button.textContent = t("js.more_replies", { count: formatCount(left) });
}

async function expand(el) {
  const button = el.querySelector(':scope > .comment__main > [data-action="expand"]');
  button.disabled = true;
  try {
    const page = await api("GET", `/api/v1/comments/${el.comment.id}/replies?cursor=${encodeURIComponent(el.repliesCursor)}`);
    const replies = el.querySelector('[data-field="replies"]');
    for (const reply of page.items) {
      if (!replies.querySelector(`[data-id="${reply.id}"]`)) replies.append(row(reply, el.comment));
    }
    el.repliesCursor = page.next_cursor;
    if (!page.next_cursor) el.comment.replies = replies.children.length;
    updateExpand(el);
  } catch (error) {
    toast(errorMessage(error));
  } finally {
    button.disabled = false;
  }
}

function setTotal(total) {
  title.textContent = t("js.comments_count", { count: formatCount(total) });
  state.rail?.setComments(total);
}

function showFooter(page) {
  document.getElementById("comments-off").hidden = !page.comments_off;
  const signedIn = loggedIn();
  const login = document.getElementById("comments-login");
  login.hidden = page.comments_off || signedIn;
  login.href = `/login?next=${encodeURIComponent(`/v/${state.video.id}`)}`;
  document.getElementById("comments-closed").hidden = page.comments_off || !signedIn || page.can_comment;
  form.hidden = !page.can_comment;
}

async function load(reset) {
  const video = state.video;
  const query = reset || !state.cursor ? "" : `?cursor=${encodeURIComponent(state.cursor)}`;
  more.disabled = true;
  try {
    const page = await api("GET", `/api/v1/videos/${video.id}/comments${query}`);
    if (state?.video !== video) return; // closed or switched meanwhile
    if (reset) list.replaceChildren();
    for (const comment of page.items) {
      if (!list.querySelector(`:scope > [data-id="${comment.id}"]`)) list.append(row(comment, null));
    }
    state.cursor = page.next_cursor;
    more.hidden = !page.next_cursor;
    empty.hidden = list.children.length > 0;
    setTotal(page.total);
    showFooter(page);
  } catch (error) {
    toast(errorMessage(error, { "media.video_not_found": "js.comments_error" }));
  } finally {
    more.disabled = false;
  }
}

function startReply(comment) {
  if (!loggedIn()) return toLogin(`/v/${state.video.id}`);
  if (form.hidden) return;
  state.replyTo = comment;
  replying.hidden = false;
  const name = comment.author ? comment.author.nickname || comment.author.handle : "";
  document.getElementById("comments-replying-text").textContent = t("js.replying", { name });
  input.focus();
}

function cancelReply() {
  state.replyTo = null;
  replying.hidden = true;
}

async function remove(el, comment, root) {
  if (!confirm(t("js.comment_delete_confirm"))) return;
  try {
    await api("DELETE", `/api/v1/comments/${comment.id}`);
  } catch (error) {
    toast(errorMessage(error));
    return;
  }
  toast(t("js.comment_deleted"));
  if (root || !el.comment.replies) {
    el.remove();
    if (root) {
      const parent = list.querySelector(`:scope > [data-id="${root.id}"]`);
      if (parent) parent.comment.replies = Math.max(0, parent.comment.replies - 1);
    }
  } else {
    el.replaceWith(row({ ...comment, deleted: true, body: "", author: null, can_delete: false, can_pin: false,
      pinned: false, first_replies: [...el.querySelectorAll(".comment--reply")].map((r) => r.comment),
      replies_cursor: el.repliesCursor }, null));
  }
  empty.hidden = list.children.length > 0;
  setTotal(Math.max(0, (state.rail?.stats.comments ?? 1) - 1));
}

async function pin(comment, on) {
  try {
    await api(on ? "PUT" : "DELETE", `/api/v1/comments/${comment.id}/pin`);
    toast(t(on ? "js.comment_pinned" : "js.comment_unpinned"));
    await load(true);
    list.scrollIntoView?.({ block: "start" });
  } catch (error) {
    toast(errorMessage(error));
  }
}

async function likeComment(el, comment) {
  if (!loggedIn()) return toLogin(`/v/${state.video.id}`);
  const button = el.querySelector(':scope > [data-action="like"]');
  if (button.disabled) return;
  const on = !comment.liked;
  const count = el.querySelector(':scope > [data-action="like"] [data-field="likes"]');
  comment.liked = on;
  comment.likes += on ? 1 : -1;
  button.setAttribute("aria-pressed", String(on));
  count.textContent = comment.likes ? formatCount(comment.likes) : "";
  button.disabled = true;
  try {
    const result = await api(on ? "POST" : "DELETE", `/api/v1/comments/${comment.id}/like`);
    comment.likes = result.likes;
    comment.liked = result.liked;
  } catch (error) {
    comment.liked = !on;
    comment.likes += on ? -1 : 1;
    toast(errorMessage(error));
  } finally {
    button.disabled = false;
    button.setAttribute("aria-pressed", String(comment.liked));
    count.textContent = comment.likes ? formatCount(comment.likes) : "";
  }
}

async function submit(event) {
  event.preventDefault();
  const error = form.querySelector("[data-form-error]");
  error.hidden = true;
  const body = input.value.trim();
  if (!body) {
    input.focus();
    return;
  }
  const send = form.querySelector('[type="submit"]');
  send.disabled = true;
  const replyTo = state.replyTo;
  try {
    const made = await api("POST", `/api/v1/videos/${state.video.id}/comments`,
      replyTo ? { body, reply_to_id: replyTo.id } : { body });
    input.value = "";
    autosize();
    cancelReply();
    if (made.root_id) {
      const root = list.querySelector(`:scope > [data-id="${made.root_id}"]`);
      if (root) {
        root.querySelector('[data-field="replies"]').append(row(made, root.comment));
        root.comment.replies += 1;
      }
    } else {
      const pinned = list.firstElementChild?.comment?.pinned ? list.firstElementChild : null;
      if (pinned) pinned.after(row(made, null));
      else list.prepend(row(made, null));
      list.parentElement.scrollTop = 0;
    }
    empty.hidden = true;
    setTotal((state.rail?.stats.comments ?? 0) + 1);
  } catch (failure) {
    error.textContent = errorMessage(failure);
    error.hidden = false;
  } finally {
    send.disabled = false;
  }
}

function autosize() {
  input.style.height = "auto";
  input.style.height = `${Math.min(input.scrollHeight, 120)}px`;
}

// @mentions: suggest people as the viewer types "@na…".
let mentionTimer = 0;
function mentionQuery() {
  const before = input.value.slice(0, input.selectionStart);
  const match = /(?:^|\s)@([\p{L}\p{N}_.]{1,24})$/u.exec(before);
  return match ? match[1] : null;
}

function closeMentions() {
  mentionList.hidden = true;
  mentionList.replaceChildren();
}

function insertMention(handle) {
  const caret = input.selectionStart;
  const before = input.value.slice(0, caret).replace(/@[\p{L}\p{N}_.]*$/u, `@${handle} `);
  input.value = before + input.value.slice(caret);
  input.setSelectionRange(before.length, before.length);
  closeMentions();
  input.focus();
}

async function suggestMentions() {
  const query = mentionQuery();
  if (!query) return closeMentions();
  let people;
  try {
    people = await api("GET", `/api/v1/people/search?q=${encodeURIComponent(query)}`);
  } catch {
    return closeMentions();
  }
  if (mentionQuery() !== query) return;
  mentionList.replaceChildren(...people.slice(0, 5).map(({ user }) => {
    const item = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "mentions__item";
    button.setAttribute("role", "option");
    const name = document.createElement("span");
    name.className = "mentions__name";
    name.textContent = user.nickname || user.handle;
    const handle = document.createElement("span");
    handle.className = "mentions__handle";
    handle.textContent = `@${user.handle}`;
    button.append(name, handle);
    button.addEventListener("mousedown", (event) => event.preventDefault()); // keep the caret
    button.addEventListener("click", () => insertMention(user.handle));
    item.append(button);
    return item;
  }));
  mentionList.hidden = people.length === 0;
}

function onKey(event) {
  if (event.key === "Escape") {
    if (!mentionList.hidden) closeMentions();
    else close();
    event.preventDefault();
  } else if (event.key === "Enter" && !event.shiftKey && event.target === input && !event.isComposing) {
    event.preventDefault(); // Enter sends, Shift+Enter breaks the line (IME composition excepted)
    form.requestSubmit();
  }
}

/** Open the sheet for `video` (a VideoRead); `rail` (engage.Rail) gets the new comment count. */
export function openComments(video, { rail = null, trigger = null } = {}) {
  state = { video, rail, cursor: null, replyTo: null, trigger };
  cancelReply();
  list.replaceChildren();
  empty.hidden = true;
  more.hidden = true;
  form.hidden = true;
  title.textContent = t("js.comments_count", { count: formatCount(rail?.stats.comments ?? 0) });
  sheet.hidden = false;
  backdrop.hidden = false;
  document.body.classList.add("has-sheet");
  document.getElementById("comments-close").focus();
  load(true);
}

export function close() {
  if (sheet.hidden) return;
  sheet.hidden = true;
  backdrop.hidden = true;
  document.body.classList.remove("has-sheet");
  closeMentions();
  const trigger = state?.trigger;
  state = null;
  trigger?.focus();
}

export const isOpen = () => !sheet.hidden;

document.getElementById("comments-close").addEventListener("click", close);
document.getElementById("comments-cancel-reply").addEventListener("click", cancelReply);
backdrop.addEventListener("click", close);
more.addEventListener("click", () => load(false));
form.addEventListener("submit", submit);
sheet.addEventListener("keydown", onKey);
input.addEventListener("input", () => {
  autosize();
  clearTimeout(mentionTimer);
  mentionTimer = setTimeout(suggestMentions, 200);
});
input.addEventListener("blur", () => setTimeout(closeMentions, 150));
