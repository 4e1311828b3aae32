// Shared helpers of the web client: translations, the API call, forms, flash messages.
// No framework: pages are server-rendered and these modules only add behaviour.

const catalog = JSON.parse(document.getElementById("shua-i18n")?.textContent || "{}");
const FLASH_KEY = "shua.flash";

/** The translated string for `key`, with `{name}` placeholders filled from `vars`. */
export function t(key, vars = {}) {
  const text = catalog[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (match, name) => (name in vars ? String(vars[name]) : match));
}

export const locale = document.documentElement.lang || "zh-CN";

/** The logged-in user's id ("" when logged out). */
export function viewerId() {
  return document.querySelector('meta[name="viewer-id"]')?.content ?? "";
}

export function csrfToken() {
  return document.querySelector('meta[name="csrf-token"]')?.content ?? "";
}

/** A failed API call; `problem` is the RFC 9457 body (or a stand-in for network errors). */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
  }
}

/** Call /api/v1 like any client: same-origin cookie, CSRF header on writes, JSON in and out. */
export async function api(method, url, body, extraHeaders = {}) {
  const headers = { Accept: "application/json", ...extraHeaders };
  const init = { method, headers, credentials: "same-origin" };
  if (!["GET", "HEAD"].includes(method)) headers["X-CSRF-Token"] = csrfToken();
  if (body instanceof FormData) {
    init.body = body; // the browser sets the multipart boundary
  } else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(url, init);
  } catch {
    throw new ApiError(0, { code: "network" });
  }
  if (response.status === 204) return null;
  const type = response.headers.get("content-type") || "";
  const data = type.includes("json") ? await response.json().catch(() => null) : null;
  if (!response.ok) throw new ApiError(response.status, data || { code: "http.error" });
  return data;
}

/** The field a problem is about: `field` from the service or the last part of a validation loc. */
export function problemField(problem) {
  if (problem.field) return String(problem.field);
  const loc = problem.errors?.[0]?.loc;
  return Array.isArray(loc) && loc.length > 1 ? String(loc[loc.length - 1]) : null;
}

/** A message for people: the catalogue's text for the code, else the server's own detail. */
export function problemMessage(problem, overrides = {}) {
  const code = problem?.code || "http.error";
  if (overrides[code]) return t(overrides[code], problem);
  const field = code === "request.invalid" ? problemField(problem) : null;
  const keys = [
    field && `error.field.${field}`,
    problem?.reason && `error.${code}.${problem.reason}`,
    `error.${code}`,
  ];
  for (const key of keys) if (key && key in catalog) return t(key, problem);
  return problem?.detail || problem?.title || t("error.unknown");
}

export function errorMessage(error, overrides) {
  return error instanceof ApiError ? problemMessage(error.problem, overrides) : t("error.unknown");
}

/** Keep a message for the next page (after a redirect). */
export function flashNext(key) {
  try {
    sessionStorage.setItem(FLASH_KEY, key);
  } catch {
    /* storage disabled: the message is a nicety */
  }
}

export function takeFlash() {
  try {
    const key = sessionStorage.getItem(FLASH_KEY);
    sessionStorage.removeItem(FLASH_KEY);
    return key;
  } catch {
    return null;
  }
}

let toastTimer = 0;
export function toast(message) {
  const box = document.getElementById("toast");
  if (!box) return;
  box.textContent = message;
  box.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => {
    box.hidden = true;
  }, 3200);
}

function showFormError(form, message) {
  const box = form.querySelector("[data-form-error]");
  if (!box) return;
  box.textContent = message;
  box.hidden = !message;
}

function clearInvalid(form) {
  for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
}

/** The first input the browser's own constraints reject, with a translated message. */
function firstInvalid(form) {
  for (const el of form.elements) {
    if (!el.willValidate || el.closest("[hidden]") || el.checkValidity()) continue;
    const key = `error.field.${el.name}`;
    const message = el.validity.valueMissing ? t("js.required") : key in catalog ? t(key) : el.validationMessage;
    return { el, message };
  }
  return null;
}

/**
 * Wire a form: validate, call `submit(values)`, show the translated problem on failure and mark
 * the field it is about. `overrides` maps an error code to a catalogue key for this form.
 */
export function bindForm(form, submit, overrides = {}) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearInvalid(form);
    showFormError(form, "");
    const invalid = firstInvalid(form);
    if (invalid) {
      invalid.el.setAttribute("aria-invalid", "true");
      showFormError(form, invalid.message);
      invalid.el.focus();
      return;
    }
    const button = form.querySelector('[type="submit"]');
    button?.setAttribute("disabled", "");
    form.setAttribute("aria-busy", "true");
    try {
      await submit(Object.fromEntries(new FormData(form)));
    } catch (error) {
      showFormError(form, errorMessage(error, overrides));
      const field = error instanceof ApiError ? problemField(error.problem) : null;
      const el = field && form.elements.namedItem(field);
      if (el instanceof HTMLElement) {
        el.setAttribute("aria-invalid", "true");
        el.focus();
      }
    } finally {
      button?.removeAttribute("disabled");
      form.removeAttribute("aria-busy");
    }
  });
}

/** Make `<template id>` rows: a fresh copy of the template's first element. */
export function cloneRow(templateId) {
  const template = document.getElementById(templateId);
  return template.content.firstElementChild.cloneNode(true);
}

const dateTimeFormat = new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "short" });
export function formatDateTime(iso) {
  return iso ? dateTimeFormat.format(new Date(iso)) : "";
}

/** A fresh Idempotency-Key: 128 random bits (works on plain http, unlike crypto.randomUUID). */
export function newKey() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** POST a write that moves money with the form's Idempotency-Key: one key per attempt, kept when
 * the answer never came (a retry must be the same request), renewed once the server answered. */
export async function keyedPost(form, url, body) {
  form.dataset.key ||= newKey();
  try {
    const answer = await api("POST", url, body, { "Idempotency-Key": form.dataset.key });
    delete form.dataset.key;
    return answer;
  } catch (error) {
    if (error.status !== 0 && error.status !== 409) delete form.dataset.key;
    throw error;
  }
}

/** "12.3" → 1230 fen; null for anything that is not a positive amount with at most two decimals. */
export function toFen(text) {
  const found = /^\s*(\d{1,9})(?:[.](\d{1,2}))?\s*$/.exec(text || "");
  if (!found) return null;
  const fen = Number(found[1]) * 100 + Number((found[2] || "").padEnd(2, "0"));
  return fen > 0 ? fen : null;
}

/** 123456 → "¥1,234.56" ("+"/"−" in front when signed). */
export function yuan(fen, signed = false) {
  const sign = fen < 0 ? "−" : signed && fen > 0 ? "+" : "";
  const whole = Math.floor(Math.abs(fen) / 100).toLocaleString("en-US");
  return `${sign}¥${whole}.${String(Math.abs(fen) % 100).padStart(2, "0")}`;
}
