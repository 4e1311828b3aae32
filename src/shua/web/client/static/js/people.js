// People: follow buttons, person rows and paged lists, shared by profiles, lists, search and
// the Friends tab.
import { api, ApiError, cloneRow, errorMessage, t, toast } from "./shua.js";

/** The button's words for where the viewer stands with them (Douyin's: 关注, 回关, 互相关注…). */
export function followLabel(rel) {
  if (!rel) return t("js.follow");
  if (rel.following === "pending") return t("js.follow_requested");
  if (rel.following === "active") return rel.friends ? t("js.follow_friends") : t("js.follow_following");
  return rel.followed_by ? t("js.follow_back") : t("js.follow");
}

function paint(button, rel) {
  button.textContent = followLabel(rel);
  const on = rel && rel.following !== "none";
  button.classList.toggle("btn--primary", !on);
  button.classList.toggle("btn--secondary", on);
  button.setAttribute("aria-pressed", String(Boolean(on)));
  button.dataset.relationship = JSON.stringify(rel);
}

/** Make a follow button work: follow, or (when following or asked) unfollow / withdraw. */
export function bindFollow(button, handle, rel, onChange) {
  paint(button, rel);
  button.addEventListener("click", async () => {
    const current = JSON.parse(button.dataset.relationship || "null") || { following: "none" };
    button.disabled = true;
    try {
      if (current.following === "none") {
        const result = await api("POST", `/api/v1/users/${encodeURIComponent(handle)}/follow`);
        paint(button, result.relationship);
        toast(t(result.status === "pending" ? "js.follow_request_sent" : "js.followed"));
        onChange?.(current, result.relationship);
      } else {
        await api("DELETE", `/api/v1/users/${encodeURIComponent(handle)}/follow`);
        const next = { ...current, following: "none", friends: false };
        paint(button, next);
        onChange?.(current, next);
      }
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) {
        location.assign(`/login?next=${encodeURIComponent(location.pathname + location.search)}`);
        return;
      }
      toast(errorMessage(error));
    } finally {
      button.disabled = false;
    }
  });
}

/** Wire every server-rendered `[data-follow]` button on the page. */
export function bindFollowButtons(root = document, onChange) {
  for (const button of root.querySelectorAll("[data-follow]")) {
    bindFollow(button, button.dataset.follow, JSON.parse(button.dataset.relationship || "null"), onChange);
  }
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

/** A list row for a person: avatar, name, a line of context, and a follow button (not for yourself). */
export function personRow(person, { meta = "", me = "" } = {}) {
  const row = cloneRow("person-row");
  const field = (name) => row.querySelector(`[data-field="${name}"]`);
  const user = person.user;
  field("link").href = `/u/${encodeURIComponent(user.handle)}`;
  fillAvatar(field("avatar"), user);
  field("name").textContent = user.nickname || user.handle;
  field("meta").textContent = meta || `@${user.handle}`;
  row.dataset.userId = user.id;
  if (person.relationship && user.handle !== me) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "btn btn--small follow-btn";
    bindFollow(button, user.handle, person.relationship);
    field("actions").append(button);
  }
  return row;
}

/** Why someone is suggested: friends in common, that they follow you, or liked your videos. */
export function suggestionReason(person) {
  if (person.mutual_friends) return t("js.mutual_friends", { count: person.mutual_friends });
  if (person.follows_you) return t("js.follows_you");
  if (person.interactions) return t("js.interacted_with_you");
  return `@${person.user.handle}`;
}

/**
 * Fill `<ul id>` from a paged people endpoint; "more" loads the next page. `row(person)` builds
 * each item (default: personRow). Returns a reload function.
 */
export function pagedPeople(id, url, row = (person) => personRow(person)) {
  const list = document.getElementById(id);
  const status = document.getElementById(`${id}-status`);
  const empty = document.getElementById(`${id}-empty`);
  const more = document.getElementById(`${id}-more`);
  let cursor = null;

  async function load(reset = false) {
    if (reset) {
      cursor = null;
      list.replaceChildren();
    }
    list.setAttribute("aria-busy", "true");
    more.hidden = true;
    try {
      const sep = url.includes("?") ? "&" : "?";
      const page = await api("GET", cursor ? `${url}${sep}cursor=${encodeURIComponent(cursor)}` : url);
      const items = Array.isArray(page) ? page : page.items;
      for (const person of items) list.append(row(person));
      cursor = Array.isArray(page) ? null : page.next_cursor;
      more.hidden = !cursor;
      empty.hidden = list.children.length > 0;
      status.textContent = "";
    } catch (error) {
      status.textContent = errorMessage(error);
    } finally {
      list.setAttribute("aria-busy", "false");
    }
  }

  more.addEventListener("click", () => load());
  load();
  return () => load(true);
}
