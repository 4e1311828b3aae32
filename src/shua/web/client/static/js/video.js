// A video's page: choose what to play, like, comment, favourite and share, follow processing
// for the creator, edit and delete.
import { openComments } from "./comments.js";
import { heartBurst, loggedIn, Rail, toLogin } from "./engage.js";
import { attachSources } from "./player.js";
import { api, bindForm, errorMessage, flashNext, t, toast } from "./shua.js";

const watch = document.getElementById("watch");
const videoId = watch.dataset.videoId;
const player = document.getElementById("player");

if (player) {
  attachSources(player, { hls_url: player.dataset.hls, renditions: JSON.parse(player.dataset.renditions || "[]") });
  player.play().catch(() => {}); // autoplay may be refused; the controls are there
}

const railEl = document.getElementById("watch-rail");
if (railEl) {
  const video = JSON.parse(document.getElementById("watch-video").textContent);
  const rail = new Rail(railEl, video, {
    onComments: (r) => {
      if (!loggedIn()) return toLogin(r.next);
      openComments(video, { rail: r, trigger: railEl.querySelector('[data-action="comments"]') });
    },
  });
  // Tap plays or pauses; a double tap likes (the same gesture as in the feed).
  const tap = document.getElementById("watch-tap");
  let last = -Infinity;
  let pending = 0;
  tap.addEventListener("click", (event) => {
    const toggle = () => (player.paused ? player.play().catch(() => {}) : player.pause());
    if (event.detail === 0) return toggle();
    const now = performance.now();
    if (now - last < 300) {
      clearTimeout(pending);
      last = -Infinity;
      if (!loggedIn()) return toLogin(rail.next);
      heartBurst(tap.parentElement, event.clientX, event.clientY);
      rail.like(true);
      return;
    }
    last = now;
    pending = setTimeout(toggle, 300);
  });
  if (new URLSearchParams(location.search).has("comments")) rail.button("comments").click();
}

// The creator watches processing: poll every 2 s until ready (or playable) or failed.
if (watch.dataset.owner === "true" && !["ready", "failed"].includes(watch.dataset.status)) {
  const wasPlayable = watch.dataset.playable === "true";
  const timer = setInterval(async () => {
    let video;
    try {
      video = await api("GET", `/api/v1/videos/${videoId}`);
    } catch {
      return; // a blip: try again on the next tick
    }
    watch.dataset.status = video.status;
    const changed = video.status === "failed" || (!wasPlayable && video.playable) || video.status === "ready";
    if (changed) {
      clearInterval(timer);
      location.reload();
    }
  }, 2000);
}

const edit = document.getElementById("video-edit");
if (edit) {
  bindForm(edit, async (values) => {
    await api("PATCH", `/api/v1/videos/${videoId}`, {
      caption: values.caption.trim(),
      category: values.category || null,
      cover_text: values.cover_text.trim(),
      visibility: values.visibility,
    });
    flashNext("js.video_saved");
    location.reload();
  });
}

const remove = document.getElementById("video-delete");
remove?.addEventListener("click", async () => {
  if (!confirm(t("js.video_delete_confirm"))) return;
  remove.disabled = true;
  try {
    await api("DELETE", `/api/v1/videos/${videoId}`);
    flashNext("js.video_deleted");
    location.assign("/me");
  } catch (error) {
    remove.disabled = false;
    toast(errorMessage(error));
  }
});
