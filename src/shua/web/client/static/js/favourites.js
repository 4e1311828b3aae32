// My favourites: make a new collection (it opens at once, empty).
import { api, bindForm } from "./shua.js";

const form = document.getElementById("folder-new");
bindForm(form, async (values) => {
  const made = await api("POST", "/api/v1/me/collections", { name: values.name.trim() });
  location.assign(`/me/favourites?c=${made.id}`);
});
