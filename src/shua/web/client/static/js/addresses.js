// The address book (收货地址): add an address (also the product page's first one), make one the
// default, delete one.
import { api, bindForm, errorMessage, toast } from "./shua.js";

export function bindAddressForm(form) {
  if (!form) return;
  bindForm(form, async (values) => {
    await api("POST", "/api/v1/addresses", {
      name: values.name.trim(), phone: values.phone.trim(), region: values.region.trim(), detail: values.detail.trim(),
    });
    window.location.reload();
  });
}

// The address book page itself (the product page only borrows the form).
const book = document.getElementById("address-book");
if (book) {
  bindAddressForm(document.getElementById("address-form"));
  for (const [attribute, act] of [
    ["data-address-default", (id) => api("POST", `/api/v1/addresses/${id}/default`)],
    ["data-address-delete", (id) => api("DELETE", `/api/v1/addresses/${id}`)],
  ]) {
    book.querySelectorAll(`[${attribute}]`).forEach((button) => {
      button.addEventListener("click", async () => {
        button.disabled = true;
        try {
          await act(button.getAttribute(attribute));
          window.location.reload();
        } catch (error) {
          button.disabled = false;
          toast(errorMessage(error));
        }
      });
    });
  }
}
