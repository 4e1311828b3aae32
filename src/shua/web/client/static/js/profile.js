// A profile: follow / follow back, and the menu (remove follower, report, block, unblock).
import { bindFollowButtons } from "./people.js";
import { openReport } from "./report.js";
import { api, errorMessage, flashNext, t, toast } from "./shua.js";

const profile = document.getElementById("profile");
const handle = profile.dataset.handle;
const followers = document.querySelector("#stat-followers .stat__count");

bindFollowButtons(document, (before, after) => {
  // The follower count moves with our own follow; the server's count is the truth on reload.
  const was = before.following === "active" ? 1 : 0;
  const now = after.following === "active" ? 1 : 0;
  if (followers && was !== now) {
    const count = Number(followers.dataset.count || "0") + now - was;
    followers.dataset.count = String(count);
    followers.textContent = String(count);
  }
});

const menu = document.getElementById("profile-menu");

async function act(action) {
  menu.open = false;
  try {
    if (action === "block") {
      if (!confirm(t("js.block_confirm", { name: profile.dataset.nickname }))) return;
      await api("POST", `/api/v1/users/${encodeURIComponent(handle)}/block`);
      flashNext("js.blocked");
      location.reload();
    } else if (action === "unblock") {
      await api("DELETE", `/api/v1/users/${encodeURIComponent(handle)}/block`);
      flashNext("js.unblocked");
      location.reload();
    } else if (action === "remove-follower") {
      if (!confirm(t("js.remove_follower_confirm", { name: profile.dataset.nickname }))) return;
      await api("DELETE", `/api/v1/me/followers/${profile.dataset.userId}`);
      flashNext("js.follower_removed");
      location.reload();
    } else if (action === "report") {
      openReport("user", profile.dataset.userId, profile.dataset.nickname);
    }
  } catch (error) {
    toast(errorMessage(error));
  }
}

for (const item of menu?.querySelectorAll("[data-action]") ?? []) {
  item.addEventListener("click", () => act(item.dataset.action));
}
