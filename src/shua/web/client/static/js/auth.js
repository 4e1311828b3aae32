// Log-in and sign-up forms.
import { api, bindForm, flashNext } from "./shua.js";

function go(form) {
  // The server only renders a local path here (see pages.safe_next); check again anyway.
  const next = form.dataset.next || "/me";
  location.assign(next.startsWith("/") && !next.startsWith("//") ? next : "/me");
}

const login = document.getElementById("login-form");
if (login) {
  bindForm(login, async ({ login: name, password }) => {
    await api("POST", "/api/v1/auth/login", { login: name.trim(), password });
    go(login);
  });
}

const signup = document.getElementById("signup-form");
if (signup) {
  const method = () => signup.elements.namedItem("method").value;
  const sync = () => {
    for (const field of signup.querySelectorAll("[data-method]")) {
      const active = field.dataset.method === method();
      field.hidden = !active;
      field.querySelector("input").required = active;
    }
  };
  for (const radio of signup.querySelectorAll('input[name="method"]')) radio.addEventListener("change", sync);
  sync();

  bindForm(signup, async ({ username, phone, nickname, password }) => {
    const body = { password };
    if (method() === "phone") body.phone = phone.trim();
    else body.username = username.trim();
    if (nickname.trim()) body.nickname = nickname.trim();
    await api("POST", "/api/v1/auth/signup", body);
    flashNext("js.welcome");
    go(signup);
  });
}
