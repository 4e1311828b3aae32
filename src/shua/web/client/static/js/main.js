// Loaded on every page: language switch, password reveal, avatar fallback, flash messages.
import { api, csrfToken, t, takeFlash, toast } from "./shua.js";

const YEAR = 365 * 24 * 3600;

async function setLanguage(lang) {
  document.cookie = `shua_lang=${encodeURIComponent(lang)}; path=/; max-age=${YEAR}; SameSite=Lax`;
  if (csrfToken()) {
    // Remember it on the account too, so other devices follow; the cookie already decides here.
    await api("PATCH", "/api/v1/me", { locale: lang }).catch(() => {});
  }
  location.reload();
}

for (const button of document.querySelectorAll("[data-set-lang]")) {
  button.addEventListener("click", () => {
    if (button.getAttribute("aria-pressed") !== "true") setLanguage(button.dataset.setLang);
  });
}

for (const button of document.querySelectorAll("[data-reveal]")) {
  const input = document.getElementById(button.dataset.reveal);
  button.addEventListener("click", () => {
    const show = input.type === "password";
    input.type = show ? "text" : "password";
    button.setAttribute("aria-pressed", String(show));
    button.textContent = t(show ? "js.hide" : "js.show");
  });
}

// A broken avatar file falls back to the initial drawn underneath it.
for (const img of document.querySelectorAll("img.avatar__img")) {
  img.addEventListener("error", () => img.remove(), { once: true });
  if (img.complete && img.naturalWidth === 0) img.remove();
}

const flash = takeFlash();
if (flash) toast(t(flash));
