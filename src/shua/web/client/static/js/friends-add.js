// Adding friends: search by handle, nickname, pinyin ("zhangsan", "zs") or phone, as you type;
// below, people you may know and why.
import { pagedPeople, personRow, suggestionReason } from "./people.js";
import { api, errorMessage } from "./shua.js";

const form = document.getElementById("people-search");
const input = document.getElementById("people-q");
const results = document.getElementById("results");
const section = document.getElementById("results-section");
const empty = document.getElementById("results-empty");
const suggestSection = document.getElementById("suggest-section");
const me = form.dataset.me;
let timer = 0;
let asked = 0;

async function search(q) {
  const ticket = ++asked;
  if (!q) {
    section.hidden = true;
    suggestSection.hidden = false;
    return;
  }
  try {
    const people = await api("GET", `/api/v1/people/search?q=${encodeURIComponent(q)}`);
    if (ticket !== asked) return; // a newer keystroke already asked
    results.replaceChildren(...people.map((person) => personRow(person, { me })));
    empty.hidden = people.length > 0;
    section.hidden = false;
    suggestSection.hidden = true;
    const url = new URL(location.href);
    url.searchParams.set("q", q);
    history.replaceState(null, "", url);
  } catch (error) {
    if (ticket === asked) {
      results.replaceChildren();
      empty.textContent = errorMessage(error);
      empty.hidden = false;
      section.hidden = false;
    }
  }
}

input.addEventListener("input", () => {
  clearTimeout(timer);
  timer = setTimeout(() => search(input.value.trim()), 250);
});
form.addEventListener("submit", (event) => {
  event.preventDefault();
  clearTimeout(timer);
  search(input.value.trim());
});

pagedPeople("suggestions", "/api/v1/people/suggestions", (person) =>
  personRow(person, { me, meta: suggestionReason(person) }));
if (input.value.trim()) search(input.value.trim());
