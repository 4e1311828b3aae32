// Live updates on every page of a logged-in user: one EventSource per tab on /api/v1/live. It keeps
// the 消息 badge in the tab bar current and re-dispatches each event on `window` as a "shua:live"
// DOM event ({kind, data}), so page modules listen without opening a second stream.
// Every `ready` (the first connect too) is a catch-up point: events sent between the page's render
// and the stream's start, or while it was down, are not replayed, so pages refetch then.

const KINDS = ["ready", "message", "read", "notification", "unread", "resync", "signed_out"];
const badge = document.querySelector("[data-unread-badge]");
const badgeCount = badge?.querySelector("[data-unread-count]");

/** Show the total unread on the 消息 tab (hidden at zero). */
export function showUnread(counts) {
  if (!badge || !counts) return;
  const total = Math.max(0, Number(counts.total) || 0);
  badgeCount.textContent = total > 99 ? "99+" : String(total);
  badge.hidden = total === 0;
}

function connect() {
  const source = new EventSource("/api/v1/live");
  for (const kind of KINDS) {
    source.addEventListener(kind, (event) => {
      let data;
      try {
        data = JSON.parse(event.data || "{}");
      } catch {
        return;
      }
      if (kind === "ready" || kind === "unread") showUnread(data);
      if (kind === "notification") showUnread(data.unread);
      if (kind === "signed_out") source.close();
      window.dispatchEvent(new CustomEvent("shua:live", { detail: { kind, data } }));
    });
  }
  addEventListener("pagehide", () => source.close());
}

// After DOMContentLoaded: every page module has run by then and listens for the first `ready`.
if ("EventSource" in window && document.querySelector('meta[name="csrf-token"]')) {
  if (document.readyState === "loading") addEventListener("DOMContentLoaded", connect, { once: true });
  else connect();
}
