// The platform's ruling on an after-sales dispute (audited; it can move money, so it is keyed).
import { errorMessage, keyedPost, t, toast } from "./shua.js";

document.querySelectorAll("[data-rule]").forEach((button) => {
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await keyedPost(button, `/api/v1/admin/commerce/after-sales/${button.dataset.rule}/ruling`, {
        for_buyer: button.dataset.forBuyer === "true",
      });
      toast(t("js.ruling_done"));
      window.location.reload();
    } catch (error) {
      button.disabled = false;
      toast(errorMessage(error));
    }
  });
});
