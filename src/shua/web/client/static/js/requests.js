// Follow requests to a private account: approve or turn down each.
import { pagedPeople, personRow } from "./people.js";
import { api, errorMessage, t, toast } from "./shua.js";

function requestRow(person) {
  const row = personRow({ ...person, relationship: null });
  const actions = row.querySelector('[data-field="actions"]');
  for (const [label, method, cls] of [["js.approve", "POST", "btn--primary"], ["js.decline", "DELETE", "btn--ghost"]]) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = `btn btn--small ${cls}`;
    button.textContent = t(label);
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        await api(method, `/api/v1/me/follow-requests/${person.user.id}`);
        row.remove();
        toast(t(method === "POST" ? "js.request_approved" : "js.request_declined"));
      } catch (error) {
        button.disabled = false;
        toast(errorMessage(error));
      }
    });
    actions.append(button);
  }
  return row;
}

pagedPeople("requests", "/api/v1/me/follow-requests", requestRow);
