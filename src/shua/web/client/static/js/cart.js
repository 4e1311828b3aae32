// The cart: check out one shop's lines (an order, then Shua Pay's page), or take a line out.
import { api, bindForm, errorMessage, keyedPost, toast } from "./shua.js";

document.querySelectorAll("form[data-cart-checkout]").forEach((form) => {
  bindForm(form, async (values) => {
    const lines = [...form.querySelectorAll("[data-line]")];
    const order = await keyedPost(form, "/api/v1/orders", {
      items: lines.map((l) => ({ product_id: l.dataset.product, sku_id: l.dataset.sku, quantity: Number(l.dataset.quantity) })),
      expected_total: Number(form.dataset.expectedTotal), // goods and shipping, as the page showed them
      address_id: values.address_id,
    });
    window.location.assign(order.pay_url);
  });
});

document.querySelectorAll("[data-remove]").forEach((button) => {
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await api("PUT", `/api/v1/cart/items/${button.dataset.remove}`, { quantity: 0 });
      window.location.reload();
    } catch (error) {
      button.disabled = false;
      toast(errorMessage(error));
    }
  });
});
