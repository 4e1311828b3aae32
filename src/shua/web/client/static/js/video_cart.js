// The video's yellow cart, for its creator: a product (by its number) or a link out.
import { api, bindForm, t, toast } from "./shua.js";

const form = document.getElementById("cart-form");
if (form) {
  const videoId = document.getElementById("watch").dataset.videoId;
  bindForm(form, async (values) => {
    const productId = values.product_id.trim();
    const link = values.external_url.trim();
    const url = `/api/v1/videos/${videoId}/cart`;
    if (!productId && !link) {
      await api("DELETE", url);
    } else {
      await api("PUT", url, productId ? { product_id: productId } : { external_url: link });
    }
    toast(t("js.cart_saved"));
    window.location.reload();
  });
}
