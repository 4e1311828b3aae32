// The "+" page: pick or record a video, preview it locally, upload it with tus while the
// caption is written, choose a cover frame, then post it and go to its page.
//
// Chunk size: 5 MiB (capped by the server's per-request limit). `?chunk=BYTES` in the page
// address overrides it, so tests (and people debugging resumes) can force many small chunks.
import { api, bindForm, errorMessage, t } from "./shua.js";
import { DEFAULT_CHUNK, TusUpload } from "./tus.js";

const form = document.getElementById("create-form");
const pick = document.getElementById("create-pick");
const previewBox = document.getElementById("create-preview-box");
const preview = document.getElementById("create-preview");
const uploadBox = document.getElementById("create-upload");
const bar = document.getElementById("create-progress");
const percent = document.getElementById("create-percent");
const stateText = document.getElementById("create-upload-state");
const pauseButton = document.getElementById("create-pause");
const coverField = document.getElementById("create-cover-field");
const cover = document.getElementById("create-cover");
const coverTime = document.getElementById("create-cover-time");
const caption = document.getElementById("create-caption");
const count = document.querySelector('[data-count-for="create-caption"]');
const tags = document.getElementById("create-tags");
const submit = document.getElementById("create-submit");
const fileError = document.getElementById("create-file-error");

const maxBytes = Number(form.dataset.maxBytes) || Infinity;
const forced = Number(new URLSearchParams(location.search).get("chunk"));
const chunkSize = Math.min(forced > 0 ? forced : DEFAULT_CHUNK, Number(form.dataset.maxChunk) || DEFAULT_CHUNK);

let upload = null;
let uploading = null; // the promise of the upload id
let previewUrl = null;

// Problems with the file or its upload show next to it; problems posting show by the button.
function showError(message) {
  fileError.textContent = message;
  fileError.hidden = !message;
}

function setState(state) {
  const labels = {
    starting: "js.upload_starting",
    uploading: "js.uploading",
    paused: "js.upload_paused",
    retrying: "js.upload_retrying",
    done: "js.upload_done",
    error: "js.upload_failed",
  };
  stateText.textContent = t(labels[state]);
  uploadBox.dataset.state = state;
  pauseButton.hidden = state === "done";
  pauseButton.textContent = t(state === "paused" || state === "error" ? "js.upload_resume" : "js.upload_pause");
}

function setProgress(sent, total) {
  const value = total ? Math.floor((sent / total) * 100) : 0;
  bar.value = value;
  percent.textContent = `${value}%`;
}

function startUpload(file) {
  upload = new TusUpload(file, { chunkSize, onProgress: setProgress, onState: setState });
  uploadBox.hidden = false;
  setProgress(0, file.size);
  uploading = upload.start();
  uploading.catch((error) => showError(errorMessage(error)));
}

function choose(file) {
  showError("");
  if (!file) return;
  if (file.type && !file.type.startsWith("video/")) {
    showError(t("error.media.not_a_video"));
    return;
  }
  if (file.size > maxBytes) {
    showError(t("error.media.upload_too_large"));
    return;
  }
  if (upload) upload.pause();
  if (previewUrl) URL.revokeObjectURL(previewUrl);
  previewUrl = URL.createObjectURL(file);
  preview.src = previewUrl;
  pick.hidden = true;
  previewBox.hidden = false;
  submit.disabled = false;
  startUpload(file);
}

for (const id of ["create-file", "create-record"]) {
  const input = document.getElementById(id);
  input.addEventListener("change", () => {
    choose(input.files?.[0]);
    input.value = "";
  });
}

document.getElementById("create-change").addEventListener("click", () => {
  document.getElementById("create-file").click();
});

pauseButton.addEventListener("click", () => {
  if (!upload) return;
  const state = uploadBox.dataset.state;
  if (state === "error") {
    showError("");
    uploading = upload.start();
    uploading.catch((error) => showError(errorMessage(error)));
  } else if (state === "paused") {
    upload.resume();
  } else {
    upload.pause();
  }
});

// Cover frame: a slider over the preview's duration, showing the chosen frame.
preview.addEventListener("loadedmetadata", () => {
  if (!Number.isFinite(preview.duration)) return;
  cover.max = String(Math.max(0, Math.floor(preview.duration * 1000) - 1));
  coverField.hidden = false;
});
cover.addEventListener("input", () => {
  const ms = Number(cover.value);
  coverTime.textContent = `${(ms / 1000).toFixed(1)}s`;
  preview.currentTime = ms / 1000;
});

// Same rules as the server's parse_caption: #话题 (letters, digits, _), @handle.
const TAG_RE = /#([\p{L}\p{N}_]{1,40})|@([a-z][a-z0-9_.]{2,23})/giu;
function showTags() {
  count.textContent = `${caption.value.length}/2200`;
  const seen = new Set();
  tags.replaceChildren();
  for (const match of caption.value.matchAll(TAG_RE)) {
    const text = match[1] ? `#${match[1]}` : `@${match[2].toLowerCase()}`;
    if (seen.has(text)) continue;
    seen.add(text);
    const chip = document.createElement("li");
    chip.className = match[1] ? "chip chip--tag" : "chip chip--mention";
    chip.textContent = text;
    tags.append(chip);
  }
}
caption.addEventListener("input", showTags);

bindForm(form, async (values) => {
  if (!uploading) throw new Error("no file");
  submit.textContent = t("js.posting");
  try {
    if (uploadBox.dataset.state === "paused") upload.resume();
    const uploadId = await uploading;
    const video = await api("POST", "/api/v1/videos", {
      upload_id: uploadId,
      caption: values.caption.trim(),
      category: values.category || null,
      cover_text: values.cover_text.trim(),
      visibility: values.visibility,
      allow_comments: values.allow_comments === "on",
      allow_duets: values.allow_duets === "on",
      cover_ms: Number(values.cover_ms) || 0,
    });
    upload.forget();
    location.assign(`/v/${video.id}`);
  } finally {
    submit.textContent = t("js.post");
  }
});
