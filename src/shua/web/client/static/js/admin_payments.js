// The operators' ledger page: freeze or unfreeze an account (with a reason, audited).
import { api, errorMessage, t, toast } from "./shua.js";

document.querySelectorAll("[data-action='freeze'], [data-action='unfreeze']").forEach((button) => {
  button.addEventListener("click", async () => {
    const freezing = button.dataset.action === "freeze";
    const reason = freezing ? window.prompt(t("js.freeze_reason")) : "";
    if (freezing && !reason) return;
    button.disabled = true;
    try {
      const url = `/api/v1/admin/payments/accounts/${button.dataset.id}/freeze`;
      await (freezing ? api("PUT", url, { reason }) : api("DELETE", url));
      toast(t(freezing ? "js.account_frozen" : "js.account_unfrozen"));
      window.location.reload();
    } catch (error) {
      button.disabled = false;
      toast(errorMessage(error));
    }
  });
});
