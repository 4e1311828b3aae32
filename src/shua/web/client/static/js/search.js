// 搜索: suggestions while typing (history, hashtags, popular searches, people), clearing the
// history, filters that apply at once, more video results on scroll, and logging which result
// was opened (query → video, for ranking and the recommender).
import { api, cloneRow, errorMessage, t, toast } from "./shua.js";
import { fillAvatar } from "./inbox-ui.js";

const form = document.getElementById("search-form");
const input = document.getElementById("search-q");
const box = document.getElementById("suggestions");
let timer = 0;
let asked = 0;
let active = -1;

function go(q, extra = {}) {
  const url = new URL("/search", location.origin);
  url.searchParams.set("q", q);
  for (const [key, value] of Object.entries(extra)) url.searchParams.set(key, value);
  location.assign(url);
}

function closeSuggestions() {
  box.hidden = true;
  box.replaceChildren();
  input.setAttribute("aria-expanded", "false");
  input.removeAttribute("aria-activedescendant");
  active = -1;
}

const ICONS = { history: "🕘", term: "🔍", hashtag: "#", user: "👤" };

function suggestionRow(s, index) {
  const li = document.createElement("li");
  li.className = "suggestion";
  li.id = `suggestion-${index}`;
  li.setAttribute("role", "option");
  li.dataset.kind = s.kind;
  const icon = document.createElement("span");
  icon.className = "suggestion__icon";
  icon.setAttribute("aria-hidden", "true");
  icon.textContent = ICONS[s.kind] || "";
  const text = document.createElement("span");
  text.className = "suggestion__text";
  text.textContent = s.text;
  li.append(icon, text);
  if (s.kind === "user" && s.user) {
    const meta = document.createElement("span");
    meta.className = "suggestion__meta";
    meta.textContent = `@${s.user.handle}`;
    li.append(meta);
    li.dataset.href = `/u/${s.user.handle}`;
  } else if (s.kind === "hashtag" && s.videos) {
    const meta = document.createElement("span");
    meta.className = "suggestion__meta";
    meta.textContent = t("js.search_tag_videos", { count: s.videos });
    li.append(meta);
  }
  li.dataset.text = s.text;
  li.addEventListener("mousedown", (event) => event.preventDefault()); // keep focus in the input
  li.addEventListener("click", () => choose(li));
  return li;
}

function choose(li) {
  if (li.dataset.href) location.assign(li.dataset.href);
  else go(li.dataset.text);
}

async function suggest(q) {
  const ticket = ++asked;
  if (!q) return closeSuggestions();
  try {
    const found = await api("GET", `/api/v1/search/suggestions?q=${encodeURIComponent(q)}`);
    if (ticket !== asked) return; // a newer keystroke already asked
    if (!found.length) return closeSuggestions();
    box.replaceChildren(...found.map(suggestionRow));
    box.hidden = false;
    input.setAttribute("aria-expanded", "true");
    active = -1;
  } catch {
    if (ticket === asked) closeSuggestions();
  }
}

function move(step) {
  const rows = [...box.children];
  if (!rows.length) return;
  rows[active]?.setAttribute("aria-selected", "false");
  active = (active + step + rows.length) % rows.length;
  rows[active].setAttribute("aria-selected", "true");
  input.setAttribute("aria-activedescendant", rows[active].id);
}

input.addEventListener("input", () => {
  clearTimeout(timer);
  timer = setTimeout(() => suggest(input.value.trim()), 150);
});
input.addEventListener("keydown", (event) => {
  if (box.hidden) return;
  if (event.key === "ArrowDown" || event.key === "ArrowUp") {
    event.preventDefault();
    move(event.key === "ArrowDown" ? 1 : -1);
  } else if (event.key === "Escape") {
    closeSuggestions();
  } else if (event.key === "Enter" && active >= 0) {
    event.preventDefault();
    choose(box.children[active]);
  }
});
input.addEventListener("blur", () => setTimeout(closeSuggestions, 100));
form.addEventListener("submit", (event) => {
  event.preventDefault();
  const q = input.value.trim();
  if (!q) return input.focus();
  const tab = form.elements.namedItem("tab")?.value;
  go(q, tab && tab !== "users" && tab !== "hashtags" ? { tab } : {});
});

// History: clear all, or one entry.
document.getElementById("history-clear")?.addEventListener("click", async () => {
  try {
    await api("DELETE", "/api/v1/search/history");
    document.getElementById("history")?.remove();
    toast(t("js.search_history_cleared"));
  } catch (error) {
    toast(errorMessage(error));
  }
});
for (const button of document.querySelectorAll("[data-forget]")) {
  button.addEventListener("click", async () => {
    try {
      await api("DELETE", `/api/v1/search/history?q=${encodeURIComponent(button.dataset.forget)}`);
      button.closest("li").remove();
      if (!document.querySelector("#history-list li")) document.getElementById("history")?.remove();
    } catch (error) {
      toast(errorMessage(error));
    }
  });
}

// Filters apply as soon as one changes.
for (const select of document.querySelectorAll("[data-autosubmit]")) {
  select.addEventListener("change", () => select.form.submit());
}

// Results: log the opened one, load more on scroll.
const results = document.getElementById("results");
if (results) {
  const searchId = results.dataset.searchId;
  results.addEventListener("click", (event) => {
    const link = event.target.closest("[data-result]");
    if (!link || !searchId) return;
    // keepalive: the request outlives the page it was sent from
    fetch("/api/v1/search/clicks", {
      method: "POST", keepalive: true, credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": document.querySelector('meta[name="csrf-token"]')?.content || "" },
      body: JSON.stringify({ search_id: searchId, video_id: link.dataset.result, position: Number(link.dataset.position) }),
    }).catch(() => {});
  });
  const grid = document.getElementById("video-results");
  const more = document.getElementById("results-more");
  let next = results.dataset.next;
  let position = grid ? grid.children.length : 0;
  const seen = new Set([...results.querySelectorAll("[data-result]")].map((a) => a.dataset.result));

  function card(hit) {
    const li = cloneRow("result-card");
    const link = li.querySelector("[data-field=link]");
    link.href = `/v/${hit.video.id}`;
    link.dataset.result = hit.video.id;
    link.dataset.position = String(position++);
    if (hit.video.poster_url) {
      const img = document.createElement("img");
      img.src = hit.video.poster_url;
      img.alt = "";
      img.loading = "lazy";
      img.decoding = "async";
      li.querySelector("[data-field=poster]").prepend(img);
    }
    li.querySelector("[data-field=likes]").textContent = String(hit.video.stats.likes);
    li.querySelector("[data-field=caption]").textContent = hit.video.caption || t("js.search_no_caption");
    li.querySelector("[data-field=name]").textContent = hit.creator.nickname;
    fillAvatar(li.querySelector("[data-field=avatar]"), hit.creator);
    return li;
  }

  async function loadMore() {
    if (!next || !grid) return;
    const cursor = next;
    next = "";
    more.textContent = t("js.loading");
    const { query, tab, sort, period, length } = results.dataset;
    const params = new URLSearchParams({ q: query, tab: tab === "all" ? "videos" : tab, sort, period, length, cursor });
    try {
      const page = await api("GET", `/api/v1/search?${params}`);
      // A ranking can shift between pages (new likes): never show a video twice.
      grid.append(...page.videos.filter((hit) => !seen.has(hit.video.id)).map((hit) => {
        seen.add(hit.video.id);
        return card(hit);
      }));
      next = page.next_cursor || "";
      more.textContent = "";
    } catch (error) {
      next = cursor;
      more.textContent = errorMessage(error);
    }
  }

  if (grid && more && "IntersectionObserver" in window) {
    new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) loadMore();
    }, { rootMargin: "400px" }).observe(more);
  }
}
