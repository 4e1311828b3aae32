// 拍日常: a photo (sent as it is; the server re-encodes it) or a short clip (tus upload, then
// processed like any video) for friends, for a day.
import { TusUpload } from "./tus.js";
import { api, bindForm, flashNext, t } from "./shua.js";

const form = document.getElementById("daily-form");
const input = document.getElementById("daily-file");
const picker = document.getElementById("daily-picker");
const preview = document.getElementById("daily-preview");
const photo = document.getElementById("daily-photo");
const clip = document.getElementById("daily-clip");
const submit = document.getElementById("daily-submit");
const progress = document.getElementById("daily-progress");
const fill = document.getElementById("daily-progress-fill");
const label = document.getElementById("daily-progress-label");
const maxPhoto = Number(form.dataset.maxPhoto);
const maxBytes = Number(form.dataset.maxBytes);
const maxSeconds = Number(form.dataset.maxSeconds);
let chosen = null;
let objectUrl = null;

function showError(message) {
  const box = form.querySelector("[data-form-error]");
  box.textContent = message;
  box.hidden = !message;
}

function choose(file) {
  showError("");
  chosen = null;
  submit.disabled = true;
  if (!file) return;
  const isPhoto = file.type.startsWith("image/");
  const isClip = file.type.startsWith("video/");
  if (!isPhoto && !isClip) return showError(t("js.daily_wrong_file"));
  if (file.size > (isPhoto ? maxPhoto : maxBytes)) return showError(t("js.daily_too_big"));
  if (objectUrl) URL.revokeObjectURL(objectUrl);
  objectUrl = URL.createObjectURL(file);
  photo.hidden = !isPhoto;
  clip.hidden = !isClip;
  if (isPhoto) {
    photo.src = objectUrl;
  } else {
    clip.src = objectUrl;
    clip.addEventListener("loadedmetadata", () => {
      if (clip.duration > maxSeconds + 0.5) {
        showError(t("js.daily_too_long", { seconds: maxSeconds }));
        submit.disabled = true;
        chosen = null;
      }
    }, { once: true });
    clip.play().catch(() => {});
  }
  preview.hidden = false;
  picker.hidden = true;
  chosen = { file, kind: isPhoto ? "photo" : "video" };
  submit.disabled = false;
}

input.addEventListener("change", () => choose(input.files[0]));
document.getElementById("daily-change").addEventListener("click", () => input.click());

async function postPhoto(file, caption) {
  const body = new FormData();
  body.append("file", file);
  body.append("caption", caption);
  return api("POST", "/api/v1/daily/photo", body);
}

async function postClip(file, caption) {
  progress.hidden = false;
  const upload = new TusUpload(file, {
    onProgress: (sent, total) => {
      const percent = Math.round((sent / total) * 100);
      fill.style.width = `${percent}%`;
      label.textContent = t("js.daily_uploading", { percent });
    },
  });
  const uploadId = await upload.start();
  label.textContent = t("js.daily_processing");
  return api("POST", "/api/v1/daily/video", { upload_id: uploadId, caption });
}

bindForm(form, async (values) => {
  if (!chosen) return showError(t("js.daily_pick_first"));
  const caption = (values.caption || "").trim();
  await (chosen.kind === "photo" ? postPhoto(chosen.file, caption) : postClip(chosen.file, caption));
  flashNext(chosen.kind === "photo" ? "js.daily_posted" : "js.daily_clip_posted");
  location.assign("/friends");
});
