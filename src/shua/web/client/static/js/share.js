// Sharing a video: send it to a friend in a message (it arrives as a video card), copy the
// link, or hand it to the system share sheet — every way counts as a share. Reporting the video
// lives here too, as on Douyin's share panel.
import { openReport } from "./report.js";
import { api, errorMessage, t, toast, viewerId } from "./shua.js";

const sheet = document.getElementById("share-sheet");
const backdrop = document.getElementById("share-backdrop");
const friendsList = document.getElementById("share-friends");
const empty = document.getElementById("share-empty");
const system = document.getElementById("share-system");
let rail = null;
let loadedFriends = null;

function avatar(user) {
  const el = document.createElement("span");
  el.className = `avatar avatar--md avatar--tone${Number(BigInt(user.id) % 6n)}`;
  const initial = document.createElement("span");
  initial.className = "avatar__initial";
  initial.setAttribute("aria-hidden", "true");
  initial.textContent = (user.nickname || user.handle).slice(0, 1).toUpperCase();
  el.append(initial);
  if (user.avatar_url) {
    const img = document.createElement("img");
    img.className = "avatar__img";
    img.alt = "";
    img.src = user.avatar_url;
    img.addEventListener("error", () => img.remove(), { once: true });
    el.append(img);
  }
  return el;
}

async function sendTo(user, button) {
  button.disabled = true;
  try {
    const conversation = await api("POST", "/api/v1/conversations", { to: user.handle });
    await api("POST", `/api/v1/conversations/${conversation.id}/messages`, {
      kind: "video", video_id: rail.video.id, client_id: crypto.randomUUID(),
    });
    button.classList.add("share__friend--sent");
    button.querySelector(".share__name").textContent = t("js.share_sent");
    toast(t("js.shared_with", { name: user.nickname || user.handle }));
    rail.apply(await api("GET", `/api/v1/videos/${rail.video.id}/engagement`));
  } catch (error) {
    button.disabled = false;
    toast(errorMessage(error));
  }
}

function friendButton(user) {
  const item = document.createElement("li");
  const button = document.createElement("button");
  button.type = "button";
  button.className = "share__friend";
  button.setAttribute("aria-label", t("js.share_to", { name: user.nickname || user.handle }));
  const name = document.createElement("span");
  name.className = "share__name";
  name.textContent = user.nickname || user.handle;
  button.append(avatar(user), name);
  button.addEventListener("click", () => sendTo(user, button));
  item.append(button);
  return item;
}

async function loadFriends() {
  friendsList.setAttribute("aria-busy", "true");
  try {
    if (!loadedFriends) {
      const page = await api("GET", `/api/v1/users/${encodeURIComponent(sheet.dataset.me)}/friends`);
      loadedFriends = page.items.map((person) => person.user);
    }
    friendsList.replaceChildren(...loadedFriends.map(friendButton));
    empty.hidden = loadedFriends.length > 0;
  } catch (error) {
    toast(errorMessage(error));
  } finally {
    friendsList.setAttribute("aria-busy", "false");
  }
}

async function count(channel) {
  try {
    rail.apply(await api("POST", `/api/v1/videos/${rail.video.id}/shares`, { channel }));
  } catch {
    /* the link went out; the count is a nicety */
  }
}

document.getElementById("share-copy").addEventListener("click", async () => {
  const url = `${location.origin}/v/${rail.video.id}`;
  try {
    await navigator.clipboard.writeText(url);
    toast(t("js.link_copied"));
  } catch {
    toast(url); // no clipboard: at least show the link
  }
  await count("link");
  close();
});

system.hidden = !navigator.share;
system.addEventListener("click", async () => {
  try {
    await navigator.share({ url: `${location.origin}/v/${rail.video.id}`, text: rail.video.caption || "" });
    await count("other");
    close();
  } catch (error) {
    if (error?.name !== "AbortError") toast(errorMessage(error));
  }
});

const reportButton = document.getElementById("share-report");
reportButton.addEventListener("click", () => {
  close();
  openReport("video", rail.video.id);
});

export function openShare(forRail) {
  rail = forRail;
  reportButton.hidden = String(rail.video.owner_id) === viewerId();
  sheet.hidden = false;
  backdrop.hidden = false;
  document.body.classList.add("has-sheet");
  document.getElementById("share-close").focus();
  loadFriends();
}

export function close() {
  sheet.hidden = true;
  backdrop.hidden = true;
  document.body.classList.remove("has-sheet");
}

document.getElementById("share-close").addEventListener("click", close);
backdrop.addEventListener("click", close);
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && !sheet.hidden) close();
});
