// Orders: the merchant ships a paid order (carrier and tracking number); the buyer confirms receipt
// and reviews each item.
import { api, bindForm, errorMessage, t, toast } from "./shua.js";

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
  bindForm(form, async (values) => {
    await api("POST", `/api/v1/order-items/${form.dataset.review}/review`, {
      stars: Number(values.stars), text: values.text.trim(),
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
