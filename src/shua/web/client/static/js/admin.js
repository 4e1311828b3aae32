// Administration: every account (paged by cursor) and the failed-jobs queue with retry.
import { api, cloneRow, errorMessage, formatDateTime, t, toast } from "./shua.js";

const users = document.getElementById("users");
const usersStatus = document.getElementById("users-status");
const more = document.getElementById("users-more");
let cursor = null;

function userRow(user) {
  const row = cloneRow("user-row");
  const name = row.querySelector('[data-field="name"]');
  name.textContent = `${user.nickname} @${user.handle}`;
  if (user.status === "active") name.href = `/u/${encodeURIComponent(user.handle)}`;
  if (user.role !== "admin") row.querySelector('[data-field="role"]').remove();
  if (user.status === "active") row.querySelector('[data-field="status"]').remove();
  row.querySelector('[data-field="meta"]').textContent =
    t("js.joined", { when: formatDateTime(user.created_at) });
  return row;
}

async function loadUsers() {
  more.disabled = true;
  try {
    const query = new URLSearchParams({ limit: "50", ...(cursor ? { cursor } : {}) });
    const page = await api("GET", `/api/v1/admin/users?${query}`);
    users.append(...page.items.map(userRow));
    cursor = page.next_cursor;
    more.hidden = !cursor;
    usersStatus.hidden = true;
  } catch (error) {
    usersStatus.hidden = false;
    usersStatus.textContent = errorMessage(error);
  } finally {
    more.disabled = false;
    users.removeAttribute("aria-busy");
  }
}

const jobs = document.getElementById("jobs");
const jobsStatus = document.getElementById("jobs-status");

function jobRow(job) {
  const row = cloneRow("job-row");
  row.querySelector('[data-field="name"]').textContent = job.name;
  row.querySelector('[data-field="meta"]').textContent = t("js.job_meta", {
    attempts: job.attempts, max: job.max_attempts, when: formatDateTime(job.finished_at),
  });
  row.querySelector('[data-field="error"]').textContent = job.last_error || "";
  const retry = row.querySelector('[data-action="retry"]');
  retry.setAttribute("aria-label", t("js.retry_job", { name: job.name }));
  retry.addEventListener("click", async () => {
    retry.disabled = true;
    try {
      await api("POST", `/api/v1/admin/jobs/${job.id}/retry`);
      row.remove();
      toast(t("js.job_queued"));
      if (!jobs.children.length) showNoJobs();
    } catch (error) {
      retry.disabled = false;
      toast(errorMessage(error));
    }
  });
  return row;
}

function showNoJobs() {
  jobsStatus.hidden = false;
  jobsStatus.textContent = t("js.no_failed_jobs");
}

async function loadJobs() {
  try {
    const failed = await api("GET", "/api/v1/admin/jobs/failed");
    jobs.replaceChildren(...failed.map(jobRow));
    if (failed.length) jobsStatus.hidden = true;
    else showNoJobs();
  } catch (error) {
    jobsStatus.textContent = errorMessage(error);
  } finally {
    jobs.removeAttribute("aria-busy");
  }
}

more.addEventListener("click", loadUsers);
loadUsers();
loadJobs();
