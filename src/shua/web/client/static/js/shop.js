// 我的小店: open a shop, list a product with up to three SKUs and its photos, take a product off
// sale or back on, answer buyers' questions.
import { ApiError, api, bindForm, errorMessage, t, toFen, toast } from "./shua.js";
import { previewPhotos, uploadPhotos } from "./shop_photos.js";

const shopForm = document.getElementById("shop-form");
if (shopForm) {
  bindForm(shopForm, async (values) => {
    await api("POST", "/api/v1/shops", { name: values.name.trim(), kind: values.kind });
    window.location.reload();
  });
}

const productForm = document.getElementById("product-form");
if (productForm) {
  previewPhotos(productForm);
  bindForm(productForm, async (values) => {
    const skus = [];
    for (let n = 0; n < 3; n += 1) {
      const name = (values[`sku_${n}_name`] || "").trim();
      if (!name) continue;
      const price = toFen(values[`sku_${n}_price`]);
      const stock = Number(values[`sku_${n}_stock`]);
      if (price === null) throw new ApiError(422, { code: "payments.invalid_amount", field: `sku_${n}_price` });
      if (!Number.isInteger(stock) || stock < 0) throw new ApiError(422, { code: "request.invalid", field: `sku_${n}_stock` });
      skus.push({ name, price, stock });
    }
    const photos = await uploadPhotos(productForm, "product");
    await api("POST", "/api/v1/shops/mine/products", {
      title: values.title.trim(), description: values.description.trim(), skus, photos,
      return_days: Number(values.return_days),
      shipping_template_id: values.shipping_template_id || null,
    });
    toast(t("js.product_listed"));
    window.location.reload();
  });
}

document.querySelectorAll("[data-sale]").forEach((button) => {
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await api("PATCH", `/api/v1/products/${button.dataset.sale}`, { on_sale: button.dataset.on === "true" });
      toast(t("js.product_updated"));
      window.location.reload();
    } catch (error) {
      button.disabled = false;
      toast(errorMessage(error));
    }
  });
});

document.querySelectorAll("form[data-answer]").forEach((form) => {
  bindForm(form, async (values) => {
    await api("POST", `/api/v1/questions/${form.dataset.answer}/answer`, { answer: values.answer.trim() });
    toast(t("js.answer_sent"));
    window.location.reload();
  });
});

// 运费模板: a fee, free from a goods total, regions not delivered to ("新疆，西藏" or "新疆, 西藏").
const shippingForm = document.getElementById("shipping-form");
if (shippingForm) {
  bindForm(shippingForm, async (values) => {
    const fee = /^\s*0+(?:[.]0{1,2})?\s*$/.test(values.fee) ? 0 : toFen(values.fee);
    if (fee === null) throw new ApiError(422, { code: "payments.invalid_amount", field: "fee" });
    const freeOver = values.free_over.trim() ? toFen(values.free_over) : null;
    if (values.free_over.trim() && freeOver === null) {
      throw new ApiError(422, { code: "payments.invalid_amount", field: "free_over" });
    }
    await api("POST", "/api/v1/shops/mine/shipping-templates", {
      name: values.name.trim(), fee, free_over: freeOver,
      excluded_regions: values.excluded.split(/[,，、\s]+/).map((r) => r.trim()).filter(Boolean),
    });
    toast(t("js.template_saved"));
    window.location.reload();
  });
}

// 改价 / 补货: a SKU's price and stock, from the product list.
document.querySelectorAll("form[data-sku]").forEach((form) => {
  bindForm(form, async (values) => {
    const price = toFen(values.price);
    const stock = Number(values.stock);
    if (price === null) throw new ApiError(422, { code: "payments.invalid_amount", field: "price" });
    if (!Number.isInteger(stock) || stock < 0) throw new ApiError(422, { code: "request.invalid", field: "stock" });
    await api("PATCH", `/api/v1/skus/${form.dataset.sku}`, { price, stock });
    toast(t("js.product_updated"));
    window.location.reload();
  });
});
