// Settings: password, devices, log out, delete account. The language switch lives in main.js.
import { pagedPeople, personRow } from "./people.js";
import { api, bindForm, cloneRow, errorMessage, flashNext, formatDateTime, t, toast } from "./shua.js";

/** "Chrome · Android" from a user-agent string; good enough to recognise one's own devices. */
export function describeDevice(session) {
  if (session.kind === "api") return t("js.device_api");
  const ua = session.user_agent || "";
  const browser = [
    [/Edg\//, "Edge"], [/OPR\/|Opera/, "Opera"], [/Firefox\//, "Firefox"],
    [/MicroMessenger/, "WeChat"], [/Chrome\/|CriOS/, "Chrome"], [/Safari\//, "Safari"],
  ].find(([re]) => re.test(ua))?.[1];
  const os = [
    [/Android/, "Android"], [/iPhone|iPad|iOS/, "iOS"], [/Windows/, "Windows"],
    [/Mac OS X|Macintosh/, "macOS"], [/Linux/, "Linux"],
  ].find(([re]) => re.test(ua))?.[1];
  return [browser, os].filter(Boolean).join(" · ") || t("js.device_unknown");
}

const list = document.getElementById("sessions");
const listStatus = document.getElementById("sessions-status");

function sessionRow(session) {
  const row = cloneRow("session-row");
  row.querySelector('[data-field="device"]').textContent = describeDevice(session);
  if (!session.current) row.querySelector('[data-field="current"]').remove();
  row.querySelector('[data-field="meta"]').textContent =
    t("js.last_active", { when: formatDateTime(session.last_seen_at), ip: session.ip || "—" });
  const revoke = row.querySelector('[data-action="revoke"]');
  if (session.current) {
    revoke.remove();
  } else {
    revoke.setAttribute("aria-label", t("js.revoke_device", { device: describeDevice(session) }));
    revoke.addEventListener("click", async () => {
      revoke.disabled = true;
      try {
        await api("DELETE", `/api/v1/me/sessions/${session.id}`);
        row.remove();
        toast(t("js.device_revoked"));
      } catch (error) {
        revoke.disabled = false;
        toast(errorMessage(error));
      }
    });
  }
  return row;
}

async function loadSessions() {
  try {
    const sessions = await api("GET", "/api/v1/me/sessions");
    list.replaceChildren(...sessions.map(sessionRow));
    listStatus.textContent = "";
    listStatus.hidden = true;
  } catch (error) {
    listStatus.textContent = errorMessage(error);
  } finally {
    list.removeAttribute("aria-busy");
  }
}
loadSessions();

const password = document.getElementById("password-form");
const newPassword = password.elements.namedItem("new_password");
const confirmPassword = password.elements.namedItem("confirm_password");
// A mistyped confirmation is caught by the form's own validation, before any request.
function syncConfirm() {
  const same = confirmPassword.value === newPassword.value;
  confirmPassword.setCustomValidity(same ? "" : t("js.passwords_differ"));
}
newPassword.addEventListener("input", syncConfirm);
confirmPassword.addEventListener("input", syncConfirm);
bindForm(
  password,
  async ({ current_password, new_password }) => {
    await api("POST", "/api/v1/me/password", { current_password, new_password });
    password.reset();
    toast(t("js.password_changed"));
    loadSessions(); // every other device was logged out
  },
  { "auth.invalid_credentials": "js.wrong_current_password" },
);

document.getElementById("logout").addEventListener("click", async (event) => {
  event.currentTarget.disabled = true;
  try {
    await api("POST", "/api/v1/auth/logout");
  } catch {
    /* the session may already be gone: either way we are logged out */
  }
  flashNext("js.logged_out");
  location.assign("/");
});

const deletion = document.getElementById("delete-form");
bindForm(
  deletion,
  async ({ password: pw }) => {
    await api("POST", "/api/v1/me/deletion", { password: pw });
    flashNext("js.account_deleted");
    location.assign("/");
  },
  { "auth.invalid_credentials": "js.wrong_password" },
);

// Privacy: every change saves at once (no save button to forget).
const privacy = document.getElementById("privacy-form");

async function loadPrivacy() {
  const values = await api("GET", "/api/v1/me/privacy");
  for (const [name, value] of Object.entries(values)) {
    const inputs = privacy.elements.namedItem(name);
    if (inputs instanceof RadioNodeList) inputs.value = value;
    else if (inputs instanceof HTMLInputElement) inputs.checked = Boolean(value);
  }
  privacy.setAttribute("aria-busy", "false");
}

privacy.addEventListener("change", async (event) => {
  const input = event.target;
  const value = input.type === "checkbox" ? input.checked : input.value;
  try {
    await api("PATCH", "/api/v1/me/privacy", { [input.name]: value });
    toast(t("js.privacy_saved"));
  } catch (error) {
    if (input.type === "checkbox") input.checked = !input.checked;
    toast(errorMessage(error));
  }
});

loadPrivacy().catch((error) => toast(errorMessage(error)));

function blockedRow(person) {
  const row = personRow({ ...person, relationship: null });
  const button = document.createElement("button");
  button.type = "button";
  button.className = "btn btn--ghost btn--small";
  button.textContent = t("js.unblock");
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await api("DELETE", `/api/v1/users/${encodeURIComponent(person.user.handle)}/block`);
      row.remove();
      toast(t("js.unblocked"));
    } catch (error) {
      button.disabled = false;
      toast(errorMessage(error));
    }
  });
  row.querySelector('[data-field="actions"]').append(button);
  return row;
}

pagedPeople("blocked", "/api/v1/me/blocks", blockedRow);
