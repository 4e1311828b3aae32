// 我的小店: open a shop, list a product with up to three SKUs.
import { ApiError, api, bindForm, t, toFen, toast } from "./shua.js";

const shopForm = document.getElementById("shop-form");
if (shopForm) {
  bindForm(shopForm, async (values) => {
    await api("POST", "/api/v1/shops", { name: values.name.trim(), kind: values.kind });
    window.location.reload();
  });
}

const productForm = document.getElementById("product-form");
if (productForm) {
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
    await api("POST", "/api/v1/shops/mine/products", {
      title: values.title.trim(), description: values.description.trim(), skus,
    });
    toast(t("js.product_listed"));
    window.location.reload();
  });
}
