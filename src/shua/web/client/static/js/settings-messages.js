// Settings: who may send you direct messages (everyone: strangers as message requests; friends;
// nobody: no new conversations). Saved as soon as it changes.
import { api, errorMessage, t, toast } from "./shua.js";

const group = document.getElementById("who-can-message");

async function load() {
  try {
    const privacy = await api("GET", "/api/v1/me/privacy");
    const current = group.querySelector(`input[value="${privacy.who_can_message}"]`);
    if (current) current.checked = true;
    group.disabled = false;
  } catch (error) {
    toast(errorMessage(error));
  }
}

group?.addEventListener("change", async (event) => {
  const value = event.target.value;
  group.disabled = true;
  try {
    await api("PATCH", "/api/v1/me/privacy", { who_can_message: value });
    toast(t("js.privacy_saved"));
  } catch (error) {
    toast(errorMessage(error));
    await load();
  } finally {
    group.disabled = false;
  }
});

if (group) load();
