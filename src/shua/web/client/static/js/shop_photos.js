// Shop photos: the files picked in a form's `input[name=photos]` are shown as thumbnails at once
// and uploaded on submit (each re-encoded by the server); the ids go with the product, review or
// after-sales request that the form saves.
import { ApiError, api } from "./shua.js";

export function previewPhotos(form) {
  const input = form.querySelector('input[type="file"][name="photos"]');
  const strip = form.querySelector("[data-photo-preview]");
  if (!input || !strip) return;
  input.addEventListener("change", () => {
    strip.replaceChildren();
    const most = Number(input.dataset.most || 9);
    [...input.files].slice(0, most).forEach((file) => {
      const img = document.createElement("img");
      img.className = "photos__thumb";
      img.alt = file.name;
      img.src = URL.createObjectURL(file);
      img.addEventListener("load", () => URL.revokeObjectURL(img.src), { once: true });
      strip.append(img);
    });
  });
}

export async function uploadPhotos(form, purpose) {
  const input = form.querySelector('input[type="file"][name="photos"]');
  if (!input || !input.files.length) return [];
  const most = Number(input.dataset.most || 9);
  if (input.files.length > most) throw new ApiError(422, { code: "commerce.too_many_photos", field: "photos" });
  const ids = [];
  for (const file of input.files) {
    const body = new FormData();
    body.append("file", file);
    body.append("purpose", purpose);
    ids.push((await api("POST", "/api/v1/shop/photos", body)).id);
  }
  return ids;
}
