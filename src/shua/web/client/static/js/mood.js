// 写心情: pick a mood, a few words, who sees it; it lasts a day.
import { api, bindForm, errorMessage, flashNext, toast } from "./shua.js";

bindForm(document.getElementById("mood-form"), async (values) => {
  await api("PUT", "/api/v1/me/mood", { tag: values.tag, text: values.text.trim(), visibility: values.visibility });
  flashNext("js.mood_saved");
  location.assign("/friends");
});

document.getElementById("mood-clear")?.addEventListener("click", async () => {
  try {
    await api("DELETE", "/api/v1/me/mood");
    flashNext("js.mood_cleared");
    location.assign("/friends");
  } catch (error) {
    toast(errorMessage(error));
  }
});
