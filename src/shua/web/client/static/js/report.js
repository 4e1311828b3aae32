// Reporting a user, video, comment, daily post or mood to the moderators, from one dialog.
import { api, bindForm, t, toast } from "./shua.js";

const sheet = document.getElementById("report-sheet");
let target = null;

/** Open the dialog for `{kind, id}`; `title` is a catalogue key taking `{name}` (or a plain title). */
export function openReport(kind, id, name = "") {
  if (!sheet) return;
  target = { kind, id };
  document.getElementById("report-title").textContent = t(`js.report_${kind}`, { name });
  document.getElementById("report-form").reset();
  sheet.showModal();
}

if (sheet) {
  sheet.querySelector("[data-close]").addEventListener("click", () => sheet.close());
  bindForm(document.getElementById("report-form"), async (values) => {
    await api("POST", "/api/v1/reports", {
      target_kind: target.kind, target_id: target.id, reason: values.reason, detail: values.detail.trim(),
    });
    sheet.close();
    toast(t("js.reported"));
  });
}
