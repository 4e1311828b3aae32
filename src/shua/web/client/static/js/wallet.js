// 钱包: the balance, bound cards (bind with the code sent to the card's phone, unbind, preferred)
// and the payment password.
import { api, bindForm, cloneRow, errorMessage, t, toast, yuan } from "./shua.js";

const balance = document.getElementById("wallet-balance");
const cards = document.getElementById("cards");
const cardsStatus = document.getElementById("cards-status");
const cardForm = document.getElementById("card-form");
const codeForm = document.getElementById("code-form");
const addButton = document.getElementById("card-add");
const pinForm = document.getElementById("pin-form");
let pending = null;

function cardRow(card) {
  const row = cloneRow("card-row");
  row.querySelector('[data-field="name"]').textContent = `${t(`js.card_brand_${card.brand}`)} ••••${card.last4}`;
  row.querySelector('[data-field="meta"]').textContent = `${card.holder} · ${card.expiry}`;
  const prefer = row.querySelector('[data-action="prefer"]');
  if (card.preferred) {
    prefer.remove();
  } else {
    row.querySelector('[data-field="preferred"]').remove();
    prefer.addEventListener("click", () => act(prefer, () => api("PUT", `/api/v1/wallet/cards/${card.id}/preferred`)));
  }
  const unbind = row.querySelector('[data-action="unbind"]');
  unbind.setAttribute("aria-label", `${unbind.textContent} ••••${card.last4}`);
  unbind.addEventListener("click", () => {
    if (confirm(t("js.card_unbind_confirm", { last4: card.last4 }))) {
      act(unbind, () => api("DELETE", `/api/v1/wallet/cards/${card.id}`), "js.card_unbound");
    }
  });
  return row;
}

async function act(button, request, done) {
  button.disabled = true;
  try {
    await request();
    if (done) toast(t(done));
    await load();
  } catch (error) {
    button.disabled = false;
    toast(errorMessage(error));
  }
}

async function load() {
  try {
    const [wallet, bound] = await Promise.all([api("GET", "/api/v1/wallet"), api("GET", "/api/v1/wallet/cards")]);
    balance.textContent = yuan(wallet.balance);
    cards.replaceChildren(...bound.map(cardRow));
    document.dispatchEvent(new CustomEvent("wallet:cards"));
    cardsStatus.hidden = bound.length > 0;
    cardsStatus.textContent = bound.length ? "" : t("js.no_cards");
    document.getElementById("pin-status").textContent = t(wallet.pin_set ? "js.pin_is_set" : "js.pin_not_set");
    document.getElementById("pin-current-field").hidden = !wallet.pin_set;
    document.getElementById("pin-reset").hidden = !wallet.pin_set;
    pinForm.elements.current.required = wallet.pin_set;
  } catch (error) {
    cardsStatus.hidden = false;
    cardsStatus.textContent = errorMessage(error);
  } finally {
    cards.removeAttribute("aria-busy");
  }
}

addButton.addEventListener("click", () => {
  cardForm.hidden = false;
  codeForm.hidden = true;
  addButton.hidden = true;
  cardForm.elements.number.focus();
});

bindForm(cardForm, async (values) => {
  pending = await api("POST", "/api/v1/wallet/cards", {
    number: values.number.trim(),
    holder: values.holder.trim(),
    phone: values.phone.trim(),
    expiry_month: Number(values.expiry_month),
    expiry_year: Number(values.expiry_year),
  });
  cardForm.hidden = true;
  codeForm.hidden = false;
  document.getElementById("code-sent").textContent = t("js.code_sent", { phone: pending.phone });
  codeForm.elements.code.focus();
});

bindForm(codeForm, async (values) => {
  await api("POST", `/api/v1/wallet/cards/${pending.id}/confirmation`, { code: values.code.trim() });
  codeForm.reset();
  cardForm.reset();
  codeForm.hidden = true;
  addButton.hidden = false;
  toast(t("js.card_bound", { last4: pending.last4 }));
  await load();
});

bindForm(pinForm, async (values) => {
  await api("PUT", "/api/v1/wallet/pin", { pin: values.pin, ...(values.current ? { current: values.current } : {}) });
  pinForm.reset();
  toast(t("js.pin_saved"));
  await load();
});

const resetForm = document.getElementById("pin-reset-form");
const resetSend = document.getElementById("pin-reset-send");
resetSend.addEventListener("click", async () => {
  resetSend.disabled = true;
  try {
    const sent = await api("POST", "/api/v1/wallet/pin/reset");
    document.getElementById("pin-reset-sent").textContent = t("js.pin_reset_sent", { phone: sent.phone });
    resetForm.hidden = false;
    resetForm.elements.code.focus();
  } catch (error) {
    toast(errorMessage(error));
  } finally {
    resetSend.disabled = false;
  }
});

bindForm(resetForm, async (values) => {
  await api("POST", "/api/v1/wallet/pin/reset/confirmation", { code: values.code.trim(), pin: values.pin });
  resetForm.reset();
  resetForm.hidden = true;
  toast(t("js.pin_reset_done"));
  await load();
});

document.addEventListener("wallet:changed", load);
load();
