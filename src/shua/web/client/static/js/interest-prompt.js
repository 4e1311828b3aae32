// The For You banner offering the interests picker to a viewer who never answered; closing it
// answers "none", so it does not come back.
import { api, errorMessage, toast } from "./shua.js";

const prompt = document.getElementById("interest-prompt");
document.getElementById("interest-prompt-close").addEventListener("click", async () => {
  prompt.hidden = true;
  try {
    await api("PUT", "/api/v1/feed/interests", { interests: [] });
  } catch (error) {
    prompt.hidden = false;
    toast(errorMessage(error));
  }
});
