// 选择兴趣: the topics a new viewer's For You starts from; skipping says "none" (not asked again).
import { api, bindForm, errorMessage, flashNext, toast } from "./shua.js";

const form = document.getElementById("interests-form");
const next = () => {
  const target = form.dataset.next || "/";
  return target.startsWith("/") && !target.startsWith("//") ? target : "/";
};

async function save(interests) {
  await api("PUT", "/api/v1/feed/interests", { interests });
  flashNext(interests.length ? "js.interests_saved" : "js.interests_skipped");
  location.assign(next());
}

bindForm(form, async () => {
  const picked = [...form.querySelectorAll('input[name="interests"]:checked')].map((box) => box.value);
  await save(picked);
});

document.getElementById("interests-skip").addEventListener("click", async () => {
  try {
    await save([]);
  } catch (error) {
    toast(errorMessage(error));
  }
});
