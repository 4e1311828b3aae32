// One conversation: bubbles (mine on the right), day separators, 已读 on my last message the peer
// has read, shared-video cards. Messages arrive live from /api/v1/live and are marked read while
// the page is visible; Enter sends (Shift+Enter is a new line); older messages load on scroll up.
import { api, cloneRow, errorMessage, t, toast } from "./shua.js";
import { dayDiff, dayLabel, onLive, whenVisible } from "./inbox-ui.js";

const root = document.getElementById("chat");
const conversationId = root.dataset.conversation;
const me = root.dataset.me;
const first = JSON.parse(document.getElementById("chat-first").textContent);
const list = document.getElementById("messages");
const scroller = document.getElementById("chat-scroll");
const form = document.getElementById("composer");
const input = document.getElementById("composer-input");
const emptyHint = document.getElementById("chat-empty");
const GAP_MS = 10 * 60 * 1000; // a time separator after a pause this long

let conversation = first.conversation;
let olderCursor = first.page.next_cursor;
const messages = new Map(); // id (or "c:" + client_id while sending) -> message
const elements = new Map(); // same key -> <li>
let readSent = conversation.last_read_id ? BigInt(conversation.last_read_id) : 0n;

const key = (m) => (m.id ? m.id : `c:${m.client_id}`);
const order = (m) => (m.id ? BigInt(m.id) : 2n ** 63n); // unsent ones go last

function newClientId() {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function videoCard(message) {
  if (message.video) {
    const card = cloneRow("video-card");
    card.href = `/v/${message.video.id}`;
    const poster = card.querySelector("img");
    poster.addEventListener("error", () => poster.classList.add("vcard__poster--missing"), { once: true });
    if (message.video.poster_url) poster.src = message.video.poster_url;
    else poster.classList.add("vcard__poster--missing");
    card.querySelector(".vcard__caption").textContent = message.video.caption || t("js.chat_video_preview");
    return card;
  }
  const gone = document.createElement("p");
  gone.className = "vcard vcard--gone";
  gone.textContent = t("js.chat_video_unavailable");
  return gone;
}

function bubble(message) {
  const el = cloneRow("bubble");
  el.classList.add(message.mine ? "msg--mine" : "msg--theirs");
  const box = el.querySelector("[data-field=bubble]");
  const text = el.querySelector("[data-field=text]");
  if (message.kind === "video") {
    box.classList.add("msg__bubble--card");
    box.prepend(videoCard(message));
  }
  if (message.body) text.textContent = message.body; // always text, never HTML
  else text.remove();
  return el;
}

function stateOf(el, label, cls = "") {
  const state = el.querySelector("[data-field=state]");
  state.textContent = label;
  state.className = `msg__state ${cls}`.trim();
}

/** Rebuild the list in order with separators; bubbles are reused, so images never reload. */
function render() {
  const sorted = [...messages.values()].sort((a, b) => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0));
  const fragment = document.createDocumentFragment();
  let previous = null;
  for (const message of sorted) {
    const at = new Date(message.created_at);
    if (!previous || dayDiff(at, new Date(previous.created_at)) !== 0 || at - new Date(previous.created_at) > GAP_MS) {
      const sep = document.createElement("li");
      sep.className = "msg-sep";
      const time = document.createElement("time");
      time.dateTime = message.created_at;
      time.textContent = dayLabel(message.created_at);
      sep.append(time);
      fragment.append(sep);
    }
    let el = elements.get(key(message));
    if (!el) {
      el = bubble(message);
      elements.set(key(message), el);
    }
    el.dataset.id = message.id || "";
    fragment.append(el);
    previous = message;
  }
  list.replaceChildren(fragment);
  emptyHint.hidden = messages.size > 0;
  receipts();
}

/** 已读 under my newest message the peer has read; sending / failed states on unsent ones. */
function receipts() {
  const peerRead = conversation.peer_last_read_id ? BigInt(conversation.peer_last_read_id) : 0n;
  let readMark = null;
  for (const [k, message] of messages) {
    const el = elements.get(k);
    if (!el || !message.mine) continue;
    if (message.state === "sending") stateOf(el, t("js.chat_sending"));
    else if (message.state === "failed") stateOf(el, t("js.chat_failed"), "msg__state--failed");
    else stateOf(el, "");
    if (message.id && BigInt(message.id) <= peerRead && (!readMark || BigInt(message.id) > BigInt(readMark.id))) {
      readMark = message;
    }
  }
  if (readMark) stateOf(elements.get(key(readMark)), t("js.chat_read"), "msg__state--read");
}

function nearBottom() {
  return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80;
}

function toBottom() {
  scroller.scrollTop = scroller.scrollHeight;
}

function put(message) {
  if (message.client_id && message.id) {
    const draftKey = `c:${message.client_id}`;
    if (messages.has(draftKey)) {
      // The server's copy of something sent from this page: it takes over the draft's bubble.
      elements.set(message.id, elements.get(draftKey));
      elements.delete(draftKey);
      messages.delete(draftKey);
    }
  }
  messages.set(key(message), message);
}

/** Tell the server (and through it the peer) how far this page has read. */
async function markRead() {
  if (document.visibilityState !== "visible") return;
  let newest = 0n;
  for (const message of messages.values()) {
    if (message.id && !message.mine && BigInt(message.id) > newest) newest = BigInt(message.id);
  }
  if (newest <= readSent) return;
  readSent = newest;
  try {
    conversation = await api("POST", `/api/v1/conversations/${conversationId}/read`, { up_to: String(newest) });
  } catch {
    readSent = 0n; // try again with the next message or visit
  }
}

// Sends go out one after another, so messages typed quickly arrive in the order they were typed.
let queue = Promise.resolve();

function send(body, clientId = newClientId()) {
  const draft = messages.get(`c:${clientId}`) || {
    id: null, client_id: clientId, mine: true, kind: "text", body, video: null, video_unavailable: false,
    created_at: new Date().toISOString(),
  };
  draft.state = "sending";
  messages.set(`c:${clientId}`, draft);
  render();
  toBottom();
  queue = queue.then(() => deliver(body, clientId));
}

async function deliver(body, clientId) {
  try {
    const saved = await api("POST", `/api/v1/conversations/${conversationId}/messages`,
      { body, client_id: clientId });
    put(saved);
    document.getElementById("request-bar")?.remove(); // replying accepts a request
  } catch (error) {
    const failed = messages.get(`c:${clientId}`);
    if (failed) failed.state = "failed";
    toast(errorMessage(error));
  }
  render();
}

// Tapping a failed bubble sends it again, with the same client_id: never twice.
list.addEventListener("click", (event) => {
  const el = event.target.closest(".msg--mine");
  if (!el) return;
  for (const [k, message] of messages) {
    if (elements.get(k) === el && message.state === "failed") send(message.body, message.client_id);
  }
});

function grow() {
  input.style.height = "auto";
  input.style.height = `${Math.min(input.scrollHeight, 120)}px`;
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const body = input.value.trim();
  if (!body) return;
  input.value = "";
  grow();
  send(body);
});

input.addEventListener("keydown", (event) => {
  // Enter sends; Shift+Enter is a new line; Enter that ends an IME composition (拼音) does neither.
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
    event.preventDefault();
    form.requestSubmit();
  }
});
input.addEventListener("input", grow);

async function loadOlder() {
  if (!olderCursor) return false;
  const before = scroller.scrollHeight - scroller.scrollTop;
  try {
    const page = await api("GET", `/api/v1/conversations/${conversationId}/messages?cursor=${encodeURIComponent(olderCursor)}`);
    for (const message of page.items) put(message);
    olderCursor = page.next_cursor;
  } catch (error) {
    toast(errorMessage(error));
    return false;
  }
  render();
  scroller.scrollTop = scroller.scrollHeight - before; // stay where the reader was
  return Boolean(olderCursor);
}

/** After a dropped connection: fetch the newest page again (nothing is lost, nothing doubles). */
async function catchUp() {
  try {
    const [page, convo] = await Promise.all([
      api("GET", `/api/v1/conversations/${conversationId}/messages`),
      api("GET", `/api/v1/conversations/${conversationId}`),
    ]);
    conversation = convo;
    const stay = nearBottom();
    for (const message of page.items) put(message);
    render();
    if (stay) toBottom();
    markRead();
  } catch {
    /* the next event or reconnect tries again */
  }
}

for (const wire of document.querySelectorAll("#request-bar [data-action]")) {
  wire.addEventListener("click", async () => {
    const action = wire.dataset.action;
    try {
      await api("POST", `/api/v1/conversations/${conversationId}/${action}`);
      if (action === "ignore") {
        location.assign("/inbox/requests");
        return;
      }
      document.getElementById("request-bar")?.remove();
      toast(t("js.request_accepted"));
    } catch (error) {
      toast(errorMessage(error));
    }
  });
}

onLive(({ kind, data }) => {
  if (kind === "resync" || kind === "ready") {
    catchUp();
    return;
  }
  if (data.conversation_id !== conversationId) return;
  if (kind === "message") {
    const stay = nearBottom() || data.message.mine;
    put(data.message);
    render();
    if (stay) toBottom();
    if (!data.message.mine) markRead();
  } else if (kind === "read" && data.reader_id !== me) {
    conversation = { ...conversation, peer_last_read_id: data.last_read_id };
    receipts();
  }
});

document.addEventListener("visibilitychange", markRead);

for (const message of first.page.items) put(message);
render();
toBottom();
markRead();
whenVisible(document.getElementById("older"), loadOlder, scroller);
document.getElementById("composer-send").disabled = !conversation.peer;
