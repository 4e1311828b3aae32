// A video's page: choose what to play, follow processing for the creator, edit and delete.
import { attachSources } from "./player.js";
import { api, bindForm, errorMessage, flashNext, t, toast } from "./shua.js";

const watch = document.getElementById("watch");
const videoId = watch.dataset.videoId;
const player = document.getElementById("player");

if (player) {
  attachSources(player, { hls_url: player.dataset.hls, renditions: JSON.parse(player.dataset.renditions || "[]") });
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
