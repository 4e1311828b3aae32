// Followers / following / friends of a user, paged, each with a follow button; on your own
// followers list each row can also be removed (they are not told).
import { pagedPeople, personRow } from "./people.js";
import { api, errorMessage, t, toast } from "./shua.js";

const people = document.getElementById("people");
const me = people.dataset.me;
const ownFollowers = me && me === people.dataset.handle && people.dataset.tab === "followers";

function row(person) {
  const el = personRow(person, { me });
  if (ownFollowers) {
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "btn btn--ghost btn--small";
    remove.textContent = t("js.remove");
    remove.setAttribute("aria-label", t("js.remove_follower_named", { name: person.user.nickname }));
    remove.addEventListener("click", async () => {
      if (!confirm(t("js.remove_follower_confirm", { name: person.user.nickname }))) return;
      remove.disabled = true;
      try {
        await api("DELETE", `/api/v1/me/followers/${person.user.id}`);
        el.remove();
        toast(t("js.follower_removed"));
      } catch (error) {
        remove.disabled = false;
        toast(errorMessage(error));
      }
    });
    el.querySelector('[data-field="actions"]').append(remove);
  }
  return el;
}

pagedPeople("people-list", `/api/v1/users/${encodeURIComponent(people.dataset.handle)}/${people.dataset.tab}`, row);
