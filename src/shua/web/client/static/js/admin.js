// Administration: the hot-search list, open reports (take a video down or dismiss), every account
// (paged by cursor) and the failed-jobs queue with retry.
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

// The hot-search list: what viewers see, with pins and removals (audited on the server).
const hot = document.getElementById("hot-admin");
const stats = document.getElementById("search-stats");

function hotRow(item, override) {
  const row = cloneRow("hot-row");
  row.querySelector('[data-field="term"]').textContent = item ? `${item.rank}. ${item.term}` : override.term;
  const meta = [];
  if (item?.pinned || override?.action === "pin") meta.push(t("js.hot_pinned", { position: override?.position ?? item.rank }));
  else if (override?.action === "remove") meta.push(t("js.hot_removed"));
  else if (item) meta.push(t("js.hot_heat", { heat: item.heat.toFixed(1) }) + (item.badge ? ` · ${t(`js.hot_badge_${item.badge}`)}` : ""));
  row.querySelector('[data-field="meta"]').textContent = meta.join(" ");
  const term = item ? item.term : override.term;
  const button = row.querySelector('[data-action="remove"]');
  const restoring = Boolean(override);
  button.textContent = restoring ? t("js.hot_restore") : button.textContent;
  button.setAttribute("aria-label", `${button.textContent} ${term}`);
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const url = `/api/v1/admin/search/hot/${encodeURIComponent(term)}`;
      showHot(restoring ? await api("DELETE", url) : await api("PUT", url, { action: "remove" }));
    } catch (error) {
      button.disabled = false;
      toast(errorMessage(error));
    }
  });
  return row;
}

function showHot(view) {
  const overrides = new Map(view.overrides.map((o) => [o.term, o]));
  const rows = view.items.map((item) => hotRow(item, item.pinned ? overrides.get(item.term) : undefined));
  for (const o of view.overrides) if (o.action === "remove") rows.push(hotRow(undefined, o));
  hot.replaceChildren(...rows);
  hot.removeAttribute("aria-busy");
}

async function loadHot() {
  try {
    showHot(await api("GET", "/api/v1/admin/search/hot"));
    const s = await api("GET", "/api/v1/admin/search/stats");
    stats.textContent = t("js.search_stats", { today: s.searches_today, mau: s.searchers_30d,
                                               ctr: `${Math.round(s.click_through * 100)}%` });
  } catch (error) {
    stats.textContent = errorMessage(error);
  }
}

document.getElementById("hot-pin").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const term = form.elements.term.value.trim();
  if (!term) return form.elements.term.focus();
  try {
    showHot(await api("PUT", `/api/v1/admin/search/hot/${encodeURIComponent(term)}`,
                      { action: "pin", position: Number(form.elements.position.value) || 1 }));
    form.reset();
    toast(t("js.hot_pin_done"));
  } catch (error) {
    toast(errorMessage(error));
  }
});

loadHot();

// Open reports: a reported video can be taken down (which closes its reports on the server) or
// the report dismissed. Both are audited.
const reports = document.getElementById("reports");
const reportsStatus = document.getElementById("reports-status");
const reasons = JSON.parse(document.getElementById("report-reasons").textContent);

function reportRow(report) {
  const row = cloneRow("report-row");
  const target = row.querySelector('[data-field="target"]');
  target.textContent = t(`js.report_kind_${report.target_kind}`);
  if (report.target_kind === "video") {
    target.href = `/v/${report.target_id}`;
    // Name the video by its caption, so the operator knows what they are deciding on.
    api("GET", `/api/v1/videos/${report.target_id}`)
      .then((video) => { target.textContent = `${target.textContent}「${(video.caption || "").slice(0, 40)}」`; })
      .catch(() => {});
  }
  row.querySelector('[data-field="reason"]').textContent = reasons[report.reason] || report.reason;
  row.querySelector('[data-field="meta"]').textContent =
    [report.detail, formatDateTime(report.created_at)].filter(Boolean).join(" · ");
  const takeDown = row.querySelector('[data-action="take-down"]');
  const dismiss = row.querySelector('[data-action="dismiss"]');
  if (report.target_kind !== "video") takeDown.remove();
  const act = async (button, request, done) => {
    button.disabled = true;
    try {
      await request();
      row.remove();
      toast(t(done));
      if (!reports.children.length) showNoReports();
    } catch (error) {
      button.disabled = false;
      toast(errorMessage(error));
    }
  };
  takeDown.addEventListener("click", () => act(takeDown, async () => {
    await api("PUT", `/api/v1/admin/videos/${report.target_id}/removal`, { reason: report.reason });
    // Other open reports of the same video close with it.
    for (const other of reports.querySelectorAll(`[data-video="${report.target_id}"]`)) other.remove();
  }, "js.report_taken_down"));
  dismiss.addEventListener("click", () => act(dismiss, () => api("POST", `/api/v1/admin/reports/${report.id}/dismissal`),
                                               "js.report_dismissed"));
  if (report.target_kind === "video") row.dataset.video = report.target_id;
  return row;
}

function showNoReports() {
  reportsStatus.hidden = false;
  reportsStatus.textContent = t("js.no_reports");
}

async function loadReports() {
  try {
    const page = await api("GET", "/api/v1/admin/reports?limit=50");
    reports.replaceChildren(...page.items.map(reportRow));
    if (page.items.length) reportsStatus.hidden = true;
    else showNoReports();
  } catch (error) {
    reportsStatus.textContent = errorMessage(error);
  } finally {
    reports.removeAttribute("aria-busy");
  }
}

loadReports();
