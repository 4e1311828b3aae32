// Likes, favourites and shares on a video's action rail (the feed's slides and the video page).
// Taps answer at once (optimistic), then the server's counts replace the guess; a failure puts
// the old state back. Logged-out viewers are sent to log in and come back to the video.
import { chooseCollection } from "./collections.js";
import { openShare } from "./share.js";
import { api, csrfToken, errorMessage, locale, t, toast } from "./shua.js";

const LONG_PRESS_MS = 500;

const chinese = locale.startsWith("zh");
const compact = new Intl.NumberFormat(locale, { notation: "compact", maximumFractionDigits: 1 });
const compactWhole = new Intl.NumberFormat(locale, { notation: "compact", maximumFractionDigits: 0 });

/** Chinese: 1234 → "1234", 12345 → "1.2万"; English: 1234 → "1.2K", 12345 → "12K". */
export function formatCount(n) {
  const value = Math.max(0, Number(n) || 0);
  if (value < (chinese ? 10000 : 1000)) return String(value);
  return (chinese || value < 10000 || value >= 1e6 ? compact : compactWhole).format(value);
}

export const loggedIn = () => Boolean(csrfToken());

/** Go log in, then come back to `next` (a path on this site). */
export function toLogin(next) {
  location.assign(`/login?next=${encodeURIComponent(next)}`);
}

const reducedMotion = () => matchMedia("(prefers-reduced-motion: reduce)").matches;

/** A heart that pops where the viewer double-tapped (a still one with reduced motion). */
export function heartBurst(container, x, y) {
  const heart = document.createElement("span");
  heart.className = reducedMotion() ? "heart-burst heart-burst--still" : "heart-burst";
  heart.setAttribute("aria-hidden", "true");
  const rect = container.getBoundingClientRect();
  heart.style.left = `${x - rect.left}px`;
  heart.style.top = `${y - rect.top}px`;
  heart.style.setProperty("--tilt", `${Math.round(Math.random() * 40 - 20)}deg`);
  container.append(heart);
  const done = () => heart.remove();
  heart.addEventListener("animationend", done, { once: true });
  setTimeout(done, 1200); // in case no animation runs at all
}

/**
 * The action rail of one video. `video` is the API's VideoRead (with `stats` and `me`);
 * `onComments` opens the comments sheet.
 */
export class Rail {
  constructor(root, video, { onComments } = {}) {
    this.root = root;
    this.video = video;
    this.stats = { likes: 0, comments: 0, shares: 0, favourites: 0, ...video.stats };
    this.me = { liked: false, favourited: false, ...video.me };
    this.busy = new Set();
    this.button = (name) => root.querySelector(`[data-action="${name}"]`);
    this.button("like").addEventListener("click", () => this.like());
    this.bindFavourite(this.button("favourite"));
    this.button("share").addEventListener("click", () => this.share());
    this.button("comments").addEventListener("click", () => {
      if (onComments) onComments(this);
    });
    this.render();
  }

  // A tap favourites into the default collection; a long press (or right click) chooses one.
  bindFavourite(star) {
    let timer = 0;
    let pressed = false;
    const choose = () => {
      if (!loggedIn()) return toLogin(this.next);
      chooseCollection(this, star);
    };
    star.addEventListener("pointerdown", () => {
      pressed = false;
      timer = setTimeout(() => {
        pressed = true;
        choose();
      }, LONG_PRESS_MS);
    });
    for (const end of ["pointerup", "pointerleave", "pointercancel"]) {
      star.addEventListener(end, () => clearTimeout(timer));
    }
    star.addEventListener("contextmenu", (event) => {
      event.preventDefault();
      clearTimeout(timer);
      if (!pressed) choose();
      pressed = true;
    });
    star.addEventListener("click", () => {
      if (pressed) {
        pressed = false; // the end of a long press, not a tap
        return;
      }
      this.favourite();
    });
  }

  get next() {
    return `/v/${this.video.id}`;
  }

  render() {
    for (const el of this.root.querySelectorAll("[data-count]")) {
      const n = this.stats[el.dataset.count] || 0;
      el.textContent = el.dataset.label && !n ? el.dataset.label : formatCount(n);
    }
    this.button("like").setAttribute("aria-pressed", String(this.me.liked));
    this.button("favourite").setAttribute("aria-pressed", String(this.me.favourited));
  }

  apply(engagement) {
    this.stats = { ...engagement.stats };
    this.me = { ...engagement.me };
    this.render();
  }

  setComments(total) {
    this.stats.comments = total;
    this.render();
  }

  async toggle(name, on, field, count, url) {
    if (!loggedIn()) return toLogin(this.next);
    if (this.busy.has(name)) return null;
    const before = { stats: { ...this.stats }, me: { ...this.me } };
    if (this.me[field] === on) return null;
    this.busy.add(name);
    this.me[field] = on;
    this.stats[count] += on ? 1 : -1;
    this.render();
    try {
      const result = await api(on ? "POST" : "DELETE", url);
      this.apply(result);
      return result;
    } catch (error) {
      this.apply(before);
      toast(errorMessage(error));
      return null;
    } finally {
      this.busy.delete(name);
    }
  }

  /** Like or unlike; `onlyLike` (a double tap) never takes a like back. */
  like(onlyLike = false) {
    const on = onlyLike ? true : !this.me.liked;
    if (onlyLike && this.me.liked && loggedIn()) return null;
    return this.toggle("like", on, "liked", "likes", `/api/v1/videos/${this.video.id}/like`);
  }

  async favourite() {
    const on = !this.me.favourited;
    const result = await this.toggle("favourite", on, "favourited", "favourites",
      `/api/v1/videos/${this.video.id}/favourite`);
    if (result) toast(t(on ? "js.favourited" : "js.unfavourited"));
  }

  async share() {
    // Logged in: the share sheet (a friend, the link, the system sheet); else just the link.
    if (loggedIn() && document.getElementById("share-sheet")) return openShare(this);
    const url = `${location.origin}/v/${this.video.id}`;
    let channel = "link";
    try {
      if (navigator.share) {
        await navigator.share({ url, text: this.video.caption || "" });
        channel = "other";
      } else {
        await navigator.clipboard.writeText(url);
        toast(t("js.link_copied"));
      }
    } catch (error) {
      if (error?.name === "AbortError") return;
      toast(url); // no clipboard: at least show the link
    }
    if (!loggedIn()) return;
    try {
      this.apply(await api("POST", `/api/v1/videos/${this.video.id}/shares`, { channel }));
    } catch {
      /* the link was shared; the count is a nicety */
    }
  }
}
