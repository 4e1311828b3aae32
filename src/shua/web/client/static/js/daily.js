// Watching someone's daily posts, oldest first, like stories: a photo stays five seconds, a
// clip plays through; tap the right side for the next, the left for the previous. Each one a
// friend sees is reported, so the author's viewers list is true.
import { attachSources, detachSources } from "./player.js";
import { personRow } from "./people.js";
import { openReport } from "./report.js";
import { api, errorMessage, flashNext, formatDateTime, t, toast } from "./shua.js";

const PHOTO_MS = 5000;
const story = document.getElementById("story");
const posts = JSON.parse(document.getElementById("story-posts").textContent || "[]");
const isMe = story.dataset.me === "true";
const photo = document.getElementById("story-photo");
const clip = document.getElementById("story-clip");
const bars = document.getElementById("story-bars");
let index = 0;
let timer = 0;

for (const _ of posts) {
  const bar = document.createElement("span");
  bar.className = "story__bar";
  bar.append(document.createElement("span"));
  bars.append(bar);
}

function hoursLeft(post) {
  const ms = new Date(post.expires_at).getTime() - Date.now();
  return Math.max(0, Math.ceil(ms / 3600000));
}

function show(i) {
  clearTimeout(timer);
  if (i >= posts.length) {
    location.assign("/friends");
    return;
  }
  index = Math.max(0, i);
  const post = posts[index];
  [...bars.children].forEach((bar, n) => {
    bar.classList.toggle("story__bar--done", n < index);
    bar.classList.toggle("story__bar--now", n === index);
  });
  document.getElementById("story-caption").textContent = post.caption;
  document.getElementById("story-time").textContent = formatDateTime(post.created_at);
  document.getElementById("story-left").textContent = t("js.daily_hours_left", { hours: hoursLeft(post) });
  detachSources(clip);
  if (post.kind === "photo") {
    clip.hidden = true;
    photo.hidden = false;
    photo.src = post.photo_url;
    timer = setTimeout(() => show(index + 1), PHOTO_MS);
  } else {
    photo.hidden = true;
    clip.hidden = false;
    clip.poster = post.video?.poster_url || "";
    if (post.video) attachSources(clip, post.video);
    clip.play().catch(() => {});
  }
  if (!isMe && !post.seen) {
    post.seen = true;
    api("POST", `/api/v1/daily/${post.id}/views`).catch(() => {});
  }
  if (isMe) {
    document.getElementById("story-viewers-btn").textContent = t("js.daily_viewed_by", { count: post.view_count ?? 0 });
  }
}

clip.addEventListener("ended", () => show(index + 1));
document.getElementById("story-next").addEventListener("click", () => show(index + 1));
document.getElementById("story-prev").addEventListener("click", () => show(index - 1));
document.addEventListener("keydown", (event) => {
  if (event.key === "ArrowRight") show(index + 1);
  else if (event.key === "ArrowLeft") show(index - 1);
});

const sheet = document.getElementById("viewers-sheet");
sheet.querySelector("[data-close]").addEventListener("click", () => sheet.close());

document.getElementById("story-viewers-btn")?.addEventListener("click", async () => {
  clearTimeout(timer);
  clip.pause();
  try {
    const page = await api("GET", `/api/v1/daily/${posts[index].id}/viewers`);
    const list = document.getElementById("viewers");
    list.replaceChildren(...page.items.map((v) => personRow({ user: v.user, relationship: null },
      { meta: formatDateTime(v.viewed_at) })));
    document.getElementById("viewers-empty").hidden = page.items.length > 0;
    sheet.showModal();
  } catch (error) {
    toast(errorMessage(error));
  }
});
sheet.addEventListener("close", () => show(index));

document.getElementById("story-report")?.addEventListener("click", () => {
  clearTimeout(timer);
  clip.pause();
  openReport("daily", posts[index].id);
});
document.getElementById("report-sheet").addEventListener("close", () => show(index));

document.getElementById("story-delete")?.addEventListener("click", async () => {
  clearTimeout(timer);
  if (!confirm(t("js.daily_delete_confirm"))) return show(index);
  try {
    await api("DELETE", `/api/v1/daily/${posts[index].id}`);
    flashNext("js.daily_deleted");
    location.assign("/friends");
  } catch (error) {
    toast(errorMessage(error));
  }
});

show(0);
