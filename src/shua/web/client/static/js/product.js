// The product page: choose a SKU, a quantity and where it goes, see the total, buy now (the order
// holds the stock and sends you to Shua Pay's payment page); a first address is added here.
import { ApiError, api, bindForm, errorMessage, keyedPost, t, toast, yuan } from "./shua.js";
import { bindAddressForm } from "./addresses.js";

const root = document.getElementById("product");
const form = document.getElementById("buy-form");

// Shipping as the server charges it (commerce/shipping.py): the template's fee, unless the goods
// reach its free-shipping total.
function shippingFor(goods) {
  const fee = Number(form.dataset.shippingFee || 0);
  const freeOver = form.dataset.freeOver ? Number(form.dataset.freeOver) : null;
  return freeOver !== null && goods >= freeOver ? 0 : fee;
}

function chosen() {
  const sku = form.querySelector('input[name="sku_id"]:checked');
  const quantity = Number(form.elements.quantity.value);
  const goods = sku && Number.isInteger(quantity) ? Number(sku.dataset.price) * quantity : 0;
  return { sku, quantity, total: goods ? goods + shippingFor(goods) : 0 };
}

function showTotal() {
  const { total } = chosen();
  document.getElementById("buy-total").textContent = total ? t("js.order_total", { total: yuan(total) }) : "";
}

if (form) {
  form.addEventListener("input", showTotal);
  showTotal();
  bindForm(form, async () => {
    const { sku, quantity, total } = chosen();
    if (!sku) throw new ApiError(422, { code: "commerce.out_of_stock" });
    const order = await keyedPost(form, "/api/v1/orders", {
      items: [{ product_id: root.dataset.product, sku_id: sku.value, quantity }],
      address_id: form.elements.address_id.value,
      expected_total: total,
      ...(root.dataset.video ? { source_video_id: root.dataset.video } : {}),
    });
    window.location.assign(order.pay_url);
  });
}

bindAddressForm(document.getElementById("address-form"));

const addButton = document.getElementById("add-to-cart");
if (addButton) {
  addButton.addEventListener("click", async () => {
    const { sku, quantity } = chosen();
    if (!sku) return;
    addButton.disabled = true;
    try {
      await api("PUT", `/api/v1/cart/items/${sku.value}`, { quantity });
      toast(t("js.added_to_cart"));
    } catch (error) {
      toast(errorMessage(error));
    } finally {
      addButton.disabled = false;
    }
  });
}

// 问大家: a question goes to the shop; it shows here (to you) at once, to others once answered.
const questionForm = document.getElementById("question-form");
if (questionForm) {
  bindForm(questionForm, async (values) => {
    await api("POST", `/api/v1/products/${root.dataset.product}/questions`, { question: values.question.trim() });
    toast(t("js.question_sent"));
    window.location.reload();
  });
}
