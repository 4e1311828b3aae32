// Edit profile: fields through PATCH /api/v1/me, the avatar through PUT /api/v1/me/avatar.
import { api, bindForm, errorMessage, flashNext, t } from "./shua.js";

const form = document.getElementById("profile-form");
const initial = Object.fromEntries(new FormData(form));

bindForm(form, async (values) => {
  const body = {};
  for (const name of ["nickname", "handle", "bio"]) {
    if (values[name].trim() !== initial[name].trim()) body[name] = values[name].trim();
  }
  if (values.birthday !== initial.birthday) {
    if (values.birthday) body.birthday = values.birthday;
    else body.clear_birthday = true;
  }
  if (Object.keys(body).length) await api("PATCH", "/api/v1/me", body);
  flashNext("js.profile_saved");
  location.assign("/me");
});

const bio = document.getElementById("edit-bio");
const count = document.querySelector('[data-count-for="edit-bio"]');
bio.addEventListener("input", () => {
  count.textContent = `${bio.value.length}/200`;
});

const file = document.getElementById("avatar-file");
const remove = document.getElementById("avatar-remove");
const status = document.getElementById("avatar-status");
const preview = document.getElementById("avatar-preview");

function showAvatar(url) {
  const box = preview.querySelector(".avatar");
  box.querySelector("img")?.remove();
  if (url) {
    const img = document.createElement("img");
    img.className = "avatar__img";
    img.alt = "";
    img.src = url;
    box.append(img);
  }
  remove.hidden = !url;
}

async function run(label, action) {
  status.textContent = t(label);
  file.disabled = remove.disabled = true;
  try {
    const me = await action();
    showAvatar(me.avatar_url);
    status.textContent = t("js.avatar_saved");
  } catch (error) {
    status.textContent = errorMessage(error);
  } finally {
    file.disabled = remove.disabled = false;
    file.value = "";
  }
}

file.addEventListener("change", () => {
  const chosen = file.files?.[0];
  if (!chosen) return;
  const body = new FormData();
  body.append("file", chosen);
  run("js.uploading", () => api("PUT", "/api/v1/me/avatar", body));
});

remove.addEventListener("click", () => run("js.saving", () => api("DELETE", "/api/v1/me/avatar")));
