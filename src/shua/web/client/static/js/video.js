// A video's page: choose what to play, follow processing for the creator, edit and delete.
import { api, bindForm, errorMessage, flashNext, t, toast } from "./shua.js";

const watch = document.getElementById("watch");
const videoId = watch.dataset.videoId;
const player = document.getElementById("player");

// HLS first for browsers that play it natively (Safari); everyone else gets the largest MP4
// rendition that is not taller than the screen (in device pixels), or the smallest one.
if (player) {
  const renditions = JSON.parse(player.dataset.renditions || "[]");
  const screenHeight = Math.max(screen.height, innerHeight) * (devicePixelRatio || 1);
  const fitting = renditions.filter((r) => (r.height || 0) <= screenHeight);
  const best = fitting.length ? fitting[fitting.length - 1] : renditions[0];
  const sources = [];
  if (player.dataset.hls) sources.push([player.dataset.hls, "application/vnd.apple.mpegurl"]);
  if (best) sources.push([best.url, "video/mp4"]);
  for (const [src, type] of sources) {
    const source = document.createElement("source");
    source.src = src;
    source.type = type;
    player.append(source);
  }
  player.load();
  player.play().catch(() => {}); // autoplay may be refused; the controls are there
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
