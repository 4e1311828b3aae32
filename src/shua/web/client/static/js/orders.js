// Orders: the merchant ships a paid order (carrier and tracking number); the buyer confirms receipt
// and reviews each item, with photos; after-sales requests carry photos of what went wrong.
import { ApiError, api, bindForm, errorMessage, keyedPost, t, toFen, toast } from "./shua.js";
import { previewPhotos, uploadPhotos } from "./shop_photos.js";

document.querySelectorAll("form[data-ship]").forEach((form) => {
  bindForm(form, async (values) => {
    await api("POST", `/api/v1/orders/${form.dataset.ship}/shipment`, {
      carrier: values.carrier, tracking_number: values.tracking_number.trim(),
    });
    toast(t("js.order_shipped"));
    window.location.reload();
  });
});

document.querySelectorAll("form[data-review]").forEach((form) => {
  previewPhotos(form);
  bindForm(form, async (values) => {
    const photos = await uploadPhotos(form, "review");
    await api("POST", `/api/v1/order-items/${form.dataset.review}/review`, {
      stars: Number(values.stars), text: values.text.trim(), photos,
    });
    toast(t("js.review_posted"));
    window.location.reload();
  });
});

document.querySelectorAll("[data-confirm]").forEach((button) => {
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await api("POST", `/api/v1/orders/${button.dataset.confirm}/receipt`);
      toast(t("js.order_completed"));
      window.location.reload();
    } catch (error) {
      button.disabled = false;
      toast(errorMessage(error));
    }
  });
});

document.querySelectorAll("form[data-after-sale-form]").forEach((form) => {
  previewPhotos(form);
  bindForm(form, async (values) => {
    const amount = values.amount.trim() ? toFen(values.amount) : undefined;
    if (amount === null) throw new ApiError(422, { code: "payments.invalid_amount", field: "amount" });
    const photos = await uploadPhotos(form, "after_sale");
    await api("POST", `/api/v1/orders/${form.dataset.afterSaleForm}/after-sales`, {
      kind: values.kind, reason: values.reason, detail: values.detail.trim(), photos,
      ...(amount ? { amount } : {}),
    });
    toast(t("js.after_sale_sent"));
    window.location.reload();
  });
});

// Steps that may move money carry an Idempotency-Key (the button's own, kept across a retry).
for (const [attribute, path, body] of [
  ["data-decide", "decision", (b) => ({ approve: b.dataset.approve === "true" })],
  ["data-received", "receipt", () => ({})],
]) {
  document.querySelectorAll(`[${attribute}]`).forEach((button) => {
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        await keyedPost(button, `/api/v1/after-sales/${button.getAttribute(attribute)}/${path}`, body(button));
        window.location.reload();
      } catch (error) {
        button.disabled = false;
        toast(errorMessage(error));
      }
    });
  });
}

document.querySelectorAll("[data-appeal]").forEach((button) => {
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await api("POST", `/api/v1/after-sales/${button.dataset.appeal}/appeal`);
      window.location.reload();
    } catch (error) {
      button.disabled = false;
      toast(errorMessage(error));
    }
  });
});
