// Choosing the collection a favourite goes into (long-press or right-click the star).
import { api, errorMessage, t, toast } from "./shua.js";

const sheet = document.getElementById("folders-sheet");
const backdrop = document.getElementById("folders-backdrop");
const list = document.getElementById("folders-list");
const form = document.getElementById("folders-new");
let current = null; // { rail, trigger }

function choice(folder, chosen) {
  const item = document.createElement("li");
  const button = document.createElement("button");
  button.type = "button";
  button.className = "folder-choice";
  button.setAttribute("aria-pressed", String(chosen));
  const name = document.createElement("span");
  name.className = "folder-choice__name";
  name.textContent = folder.is_default ? t("js.default_collection") : folder.name;
  const count = document.createElement("span");
  count.className = "folder-choice__count";
  count.textContent = String(folder.count);
  button.append(name, count);
  button.addEventListener("click", () => put(folder));
  item.append(button);
  return item;
}

async function put(folder) {
  const { rail } = current;
  try {
    rail.apply(await api("POST", `/api/v1/videos/${rail.video.id}/favourite`, { collection_id: folder.id }));
    toast(t("js.favourited_into", { name: folder.is_default ? t("js.default_collection") : folder.name }));
    close();
  } catch (error) {
    toast(errorMessage(error));
  }
}

async function load() {
  const page = await api("GET", "/api/v1/me/collections");
  const chosen = current.rail.me.favourited ? current.rail.me.collection_id : null;
  const folders = page.items.length ? page.items : [{ id: null, name: "", is_default: true, count: 0 }];
  list.replaceChildren(...folders.map((f) => choice(f, f.id !== null && f.id === chosen)));
}

export async function chooseCollection(rail, trigger) {
  current = { rail, trigger };
  sheet.hidden = false;
  backdrop.hidden = false;
  document.getElementById("folders-close").focus();
  try {
    await load();
  } catch (error) {
    toast(errorMessage(error));
    close();
  }
}

function close() {
  sheet.hidden = true;
  backdrop.hidden = true;
  current?.trigger?.focus();
  current = null;
}

if (sheet) {
  document.getElementById("folders-close").addEventListener("click", close);
  backdrop.addEventListener("click", close);
  sheet.addEventListener("keydown", (event) => {
    if (event.key === "Escape") close();
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const input = form.elements.namedItem("name");
    const error = form.querySelector("[data-form-error]");
    error.hidden = true;
    const name = input.value.trim();
    if (!name) return input.focus();
    try {
      const made = await api("POST", "/api/v1/me/collections", { name });
      input.value = "";
      await put(made);
    } catch (failure) {
      error.textContent = errorMessage(failure);
      error.hidden = false;
    }
  });
}
