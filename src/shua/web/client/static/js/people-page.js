// Followers / following / friends of a user, paged, each with a follow button.
import { pagedPeople, personRow } from "./people.js";

const people = document.getElementById("people");
const me = people.dataset.me;
pagedPeople(
  "people-list",
  `/api/v1/users/${encodeURIComponent(people.dataset.handle)}/${people.dataset.tab}`,
  (person) => personRow(person, { me }),
);
