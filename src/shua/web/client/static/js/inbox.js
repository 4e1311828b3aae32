// The 消息 tab and the message requests page: conversations by latest activity, the entries'
// unread counts, all kept live from /api/v1/live; older conversations load on scroll.
import { api, cloneRow, errorMessage, t, toast } from "./shua.js";
import { fillAvatar, firstPage, onLive, preview, setTime, whenVisible } from "./inbox-ui.js";

const list = document.getElementById("conversations");
const requestsMode = list.dataset.requests === "true";
const me = list.dataset.me;
const empty = document.getElementById("empty");
const more = document.getElementById("more");
const rows = new Map(); // conversation id -> <li>
let next = firstPage("inbox-first").next_cursor;

function countText(n) {
  return n > 99 ? "99+" : String(n);
}

function fill(row, convo) {
  row.querySelector("[data-field=link]").href = `/inbox/c/${convo.id}`;
  row.querySelector("[data-field=name]").textContent = convo.peer ? convo.peer.nickname : t("js.chat_deleted_account");
  setTime(row.querySelector("[data-field=time]"), convo.last_message?.created_at || convo.last_activity_at);
  const last = convo.last_message;
  const text = preview(last);
  row.querySelector("[data-field=preview]").textContent = last?.mine ? t("js.chat_you", { text }) : text;
  const unread = row.querySelector("[data-field=unread]");
  unread.textContent = countText(convo.unread_count);
  unread.hidden = convo.unread_count === 0;
  row.classList.toggle("convo--unread", convo.unread_count > 0);
}

function decide(row, convo, action) {
  const button = row.querySelector(`[data-action=${action}]`);
  button.addEventListener("click", async () => {
    for (const b of row.querySelectorAll("button")) b.disabled = true;
    try {
      await api("POST", `/api/v1/conversations/${convo.id}/${action}`);
      remove(convo.id);
      toast(t(action === "accept" ? "js.request_accepted" : "js.request_ignored"));
    } catch (error) {
      for (const b of row.querySelectorAll("button")) b.disabled = false;
      toast(errorMessage(error));
    }
  });
}

function build(convo) {
  const row = cloneRow("convo-row");
  row.dataset.id = convo.id;
  fillAvatar(row.querySelector("[data-field=avatar]"), convo.peer);
  fill(row, convo);
  if (requestsMode) {
    decide(row, convo, "accept");
    decide(row, convo, "ignore");
  }
  return row;
}

function syncEmpty() {
  empty.hidden = rows.size > 0;
}

function put(convo, { top = false } = {}) {
  const existing = rows.get(convo.id);
  if (existing && !top) {
    fill(existing, convo);
    return;
  }
  const row = existing || build(convo);
  if (existing) fill(row, convo);
  rows.set(convo.id, row);
  // A row already in place is left alone: moving a node under the pointer cancels the click
  // the viewer is making on it.
  if (top && list.firstElementChild !== row) list.prepend(row);
  else if (!top && !existing) list.append(row);
  syncEmpty();
}

function remove(id) {
  rows.get(id)?.remove();
  rows.delete(id);
  syncEmpty();
}

async function loadMore() {
  if (!next) return false;
  more.textContent = t("js.loading");
  try {
    const page = await api("GET", `/api/v1/conversations${requestsMode ? "/requests" : ""}?cursor=${encodeURIComponent(next)}`);
    for (const convo of page.items) put(convo);
    next = page.next_cursor;
  } catch (error) {
    toast(errorMessage(error));
    return false;
  } finally {
    more.textContent = "";
  }
  return Boolean(next);
}

async function reload() {
  const page = await api("GET", `/api/v1/conversations${requestsMode ? "/requests" : ""}`);
  for (const id of [...rows.keys()]) if (!page.items.some((c) => c.id === id)) remove(id);
  // Put the first page in the server's order, moving only the rows that are out of place.
  let previous = null;
  for (const convo of page.items) {
    put(convo);
    const row = rows.get(convo.id);
    const wanted = previous ? previous.nextElementSibling : list.firstElementChild;
    if (row !== wanted) list.insertBefore(row, wanted);
    previous = row;
  }
  next = page.next_cursor;
}

/** One conversation changed: fetch how it looks now and move it where it belongs. */
async function refresh(id, { top = true } = {}) {
  try {
    const convo = await api("GET", `/api/v1/conversations/${id}`);
    if (convo.is_request !== requestsMode) {
      remove(id); // it moved between the inbox and the requests
      return;
    }
    put(convo, { top });
  } catch {
    remove(id);
  }
}

function showCounts(counts) {
  if (!counts) return;
  for (const name of ["followers", "interactions", "requests"]) {
    const badge = document.querySelector(`[data-count=${name}]`);
    if (!badge) continue;
    badge.textContent = countText(counts[name] || 0);
    badge.hidden = !counts[name];
  }
  const requestsEntry = document.querySelector("[data-entry=requests]");
  if (requestsEntry && counts.requests > 0) requestsEntry.hidden = false;
}

for (const convo of firstPage("inbox-first").items) put(convo);
syncEmpty();
whenVisible(more, loadMore);

onLive(({ kind, data }) => {
  if (kind === "ready" || kind === "unread") showCounts(data);
  if (kind === "notification") showCounts(data.unread);
  if (kind === "message") {
    if (data.is_request && !requestsMode) {
      document.querySelector("[data-entry=requests]")?.removeAttribute("hidden");
      return;
    }
    if (data.is_request === requestsMode) refresh(data.conversation_id);
  }
  if (kind === "read" && data.reader_id === me && rows.has(data.conversation_id)) {
    refresh(data.conversation_id, { top: false });
  }
  if (kind === "resync" || kind === "ready") reload().catch(() => {});
});
