// The payment page: pay (wallet or card, with the payment password), follow a card payment until
// the bank answers, confirm receipt (release), cancel a request, refund as the payee.
import { ApiError, api, bindForm, errorMessage, keyedPost, t, toFen, toast } from "./shua.js";

const root = document.getElementById("pay");
const id = root.dataset.intent;
const base = `/api/v1/payments/intents/${id}`;

const payForm = document.getElementById("pay-form");
if (payForm) {
  bindForm(payForm, async (values) => {
    const [method, cardId] = (values.method || "wallet").split(":");
    let intent = await keyedPost(payForm, `${base}/confirmation`, {
      method, ...(cardId ? { card_id: cardId } : {}), pin: values.pin,
      ...(root.dataset.secret ? { secret: root.dataset.secret } : {}),
    });
    payForm.hidden = true;
    document.getElementById("pay-status").textContent = t(`js.intent_${intent.status}`);
    for (let i = 0; i < 60 && intent.status === "processing"; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      intent = await api("GET", base);
    }
    toast(t(`js.intent_${intent.status}`));
    window.location.assign(`/pay/${id}`);
  });
}

const absolute = document.querySelector("[data-absolute]");
if (absolute) {
  absolute.value = new URL(absolute.value, window.location.origin).href;
  absolute.addEventListener("focus", () => absolute.select());
}

for (const [elementId, path, done] of [["pay-release", "release", "js.payment_released"],
  ["pay-cancel", "cancellation", "js.payment_canceled"]]) {
  const button = document.getElementById(elementId);
  button?.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await api("POST", `${base}/${path}`);
      toast(t(done));
      window.location.reload();
    } catch (error) {
      button.disabled = false;
      toast(errorMessage(error));
    }
  });
}

const refundForm = document.getElementById("refund-form");
if (refundForm) {
  bindForm(refundForm, async (values) => {
    const fen = toFen(values.amount);
    if (fen === null) {
      throw new ApiError(422, { code: "payments.invalid_amount", field: "amount" });
    }
    await keyedPost(refundForm, `${base}/refunds`, { amount: fen, reason: values.reason.trim() });
    toast(t("js.refund_sent"));
    window.location.reload();
  });
}
