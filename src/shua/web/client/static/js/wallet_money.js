// 钱包's money: top up from a card, withdraw to one, pay another user, ask to be paid; the
// history of every movement (filtered, paged) and the payments made and received. Writes that
// move money carry an Idempotency-Key that survives a retry of the same attempt.
import { ApiError, api, bindForm, cloneRow, formatDateTime, keyedPost, t, toFen, toast, yuan } from "./shua.js";

const status = document.getElementById("money-status");
const history = document.getElementById("history");
const historyStatus = document.getElementById("history-status");
const more = document.getElementById("history-more");
const filter = document.getElementById("history-filter");
let oldest = null;

function changed() {
  document.dispatchEvent(new CustomEvent("wallet:changed"));
  loadHistory(true);
  loadPayments();
}

function amountOf(values) {
  const fen = toFen(values.amount);
  if (fen === null) {
    throw new ApiError(422, { code: "payments.invalid_amount", field: "amount" });
  }
  return fen;
}

function openForm(id) {
  document.querySelectorAll("form[data-money]").forEach((form) => {
    form.hidden = form.id !== id || !form.hidden;
  });
  const form = document.getElementById(id);
  if (!form.hidden) form.querySelector("select, input")?.focus();
}

document.querySelectorAll("[data-open]").forEach((button) => {
  button.addEventListener("click", () => openForm(button.dataset.open));
});

async function fillCards() {
  const cards = await api("GET", "/api/v1/wallet/cards");
  document.querySelectorAll("select[data-cards]").forEach((select) => {
    select.replaceChildren(...cards.map((card) => {
      const option = document.createElement("option");
      option.value = card.id;
      option.textContent = `${t(`js.card_brand_${card.brand}`)} ••••${card.last4}`;
      return option;
    }));
  });
}

// A top-up or withdrawal is settled by the bank a moment later: follow it until it is.
async function follow(operation) {
  status.textContent = t("js.bank_processing");
  for (let i = 0; i < 60 && !["succeeded", "failed"].includes(operation.status); i += 1) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    operation = await api("GET", `/api/v1/wallet/operations/${operation.id}`);
  }
  const done = operation.status === "succeeded";
  status.textContent = done ? t(`js.bank_${operation.purpose}_done`, { amount: yuan(operation.amount) })
    : operation.status === "failed" ? t("js.bank_failed", { reason: t(`js.bank_${operation.failure_code}`) })
      : t("js.bank_processing");
  toast(status.textContent);
  changed();
}

for (const [id, url] of [["topup-form", "/api/v1/wallet/top-ups"], ["withdraw-form", "/api/v1/wallet/withdrawals"]]) {
  const form = document.getElementById(id);
  bindForm(form, async (values) => {
    const operation = await keyedPost(form, url, { card_id: values.card_id, amount: amountOf(values), pin: values.pin });
    form.reset();
    form.hidden = true;
    changed();
    follow(operation);
  });
}

const transferForm = document.getElementById("transfer-form");
bindForm(transferForm, async (values) => {
  const receipt = await keyedPost(transferForm, "/api/v1/wallet/transfers", {
    to: values.to.trim().replace(/^@/, ""), amount: amountOf(values), memo: values.memo.trim(), pin: values.pin,
  });
  window.location.assign(`/wallet/receipts/${receipt.transfer_id}`);
});

const requestForm = document.getElementById("request-form");
bindForm(requestForm, async (values) => {
  const intent = await api("POST", "/api/v1/payments/intents", {
    amount: amountOf(values), description: values.description.trim(),
  });
  window.location.assign(`/pay/${intent.id}`);
});

function entryRow(entry) {
  const row = cloneRow("money-row");
  row.querySelector('[data-field="link"]').href = `/wallet/receipts/${entry.transfer_id}`;
  const who = entry.counterparty ? ` · ${entry.counterparty.nickname || entry.counterparty.handle}` : "";
  row.querySelector('[data-field="title"]').textContent = `${t(`js.kind_${entry.kind}`)}${who}`;
  row.querySelector('[data-field="meta"]').textContent = [formatDateTime(entry.created_at), entry.memo]
    .filter(Boolean).join(" · ");
  const amount = row.querySelector('[data-field="amount"]');
  amount.textContent = yuan(entry.amount, true);
  amount.classList.toggle("wallet__amount--in", entry.amount > 0);
  return row;
}

async function loadHistory(fresh) {
  if (fresh) oldest = null;
  const params = new URLSearchParams({ limit: "20" });
  const chosen = filter.value;
  if (chosen === "in" || chosen === "out") params.set("direction", chosen);
  if (chosen.startsWith("kind:")) params.set("kind", chosen.slice(5));
  if (oldest) params.set("before", oldest);
  history.setAttribute("aria-busy", "true");
  try {
    const page = await api("GET", `/api/v1/wallet/history?${params}`);
    const rows = page.items.map(entryRow);
    if (fresh) history.replaceChildren(...rows);
    else history.append(...rows);
    oldest = page.next;
    more.hidden = !page.next;
    historyStatus.hidden = history.children.length > 0;
    historyStatus.textContent = history.children.length ? "" : t("js.history_empty");
  } catch (error) {
    historyStatus.hidden = false;
    historyStatus.textContent = t("js.loading_failed");
  } finally {
    history.removeAttribute("aria-busy");
  }
}

async function loadPayments() {
  const list = document.getElementById("payments");
  const found = await api("GET", "/api/v1/payments/intents?limit=10");
  list.replaceChildren(...found.map((intent) => {
    const row = cloneRow("money-row");
    row.querySelector('[data-field="link"]').href = `/pay/${intent.id}`;
    const other = intent.you_are === "payee" ? intent.payer : intent.payee;
    const title = intent.you_are === "payee" ? t("js.payment_received") : t("js.payment_made");
    row.querySelector('[data-field="title"]').textContent = `${title}${other ? ` · ${other.nickname || other.handle}` : ""}`;
    row.querySelector('[data-field="meta"]').textContent = [t(`js.intent_${intent.status}`), intent.description,
      formatDateTime(intent.created_at)].filter(Boolean).join(" · ");
    row.querySelector('[data-field="amount"]').textContent = yuan(intent.amount);
    return row;
  }));
  const empty = document.getElementById("payments-status");
  empty.hidden = found.length > 0;
  empty.textContent = found.length ? "" : t("js.payments_empty");
}

filter.addEventListener("change", () => loadHistory(true));
more.addEventListener("click", () => loadHistory(false));
fillCards();
loadHistory(true);
loadPayments();
document.addEventListener("wallet:cards", fillCards);
