// lakesmith wizard: posts steps to the REST API, shows its field errors inline, follows a job's
// server-sent events. Vanilla JS, no build step, nothing loaded from another host.
"use strict";

async function postJSON(url, body) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = null;
  try { data = await response.json(); } catch (e) { data = null; }
  return { ok: response.ok, status: response.status, data };
}

function numberOrText(text) {
  const trimmed = text.trim();
  if (trimmed === "") return null;
  const n = Number(trimmed);
  return Number.isNaN(n) ? trimmed : n;
}

// One value per field, read as its kind says (see pages._kind).
function readField(field) {
  const kind = field.dataset.kind;
  if (kind === "mapping") {
    const out = {};
    for (const row of field.querySelectorAll("tr")) {
      const key = row.querySelector(".map-key").value.trim();
      if (key !== "") out[key] = numberOrText(row.querySelector(".map-value").value);
    }
    return out;
  }
  if (kind === "choices") {
    return [...field.querySelectorAll("input:checked")].map((i) => i.value);
  }
  const input = field.querySelector("input, select");
  if (kind === "list") {
    return input.value.split(",").map((s) => numberOrText(s)).filter((v) => v !== null);
  }
  if (kind === "number") return numberOrText(input.value);
  return input.value === "" ? null : input.value;
}

function showErrors(form, errors) {
  for (const box of form.querySelectorAll("[data-error-for]")) box.textContent = "";
  for (const field of form.querySelectorAll(".field")) field.classList.remove("invalid");
  for (const err of errors) {
    const name = err.path.split(".")[0];
    let box = form.querySelector(`[data-error-for="${CSS.escape(name)}"]`);
    if (!box) box = form.querySelector('[data-error-for=""]');
    const where = err.path.includes(".") && box.dataset.errorFor ? `${err.path}: ` : "";
    box.textContent += (box.textContent ? " · " : "") + where + err.message;
    const field = form.querySelector(`.field[data-field="${CSS.escape(name)}"]`);
    if (field) field.classList.add("invalid");
  }
}

function setupStep(form) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = {};
    for (const field of form.querySelectorAll(".field")) body[field.dataset.field] = readField(field);
    const url = `/api/wizard/sessions/${form.dataset.session}/steps/${form.dataset.step}/validate`;
    const res = await postJSON(url, body);
    if (res.ok && res.data.valid) {
      window.location.assign(form.dataset.next);
    } else if (res.data && res.data.errors) {
      showErrors(form, res.data.errors);
    } else {
      showErrors(form, [{ path: "", message: (res.data && res.data.detail) || `error ${res.status}` }]);
    }
  });
}

function setupReview(button) {
  button.addEventListener("click", async () => {
    button.disabled = true;
    const res = await postJSON(`/api/wizard/sessions/${button.dataset.session}/submit`);
    if (res.status === 202) {
      window.location.assign(`/jobs/${res.data.job_id}`);
      return;
    }
    button.disabled = false;
    const problem = res.data || {};
    document.getElementById("submit-error").textContent =
      `${problem.title || "Error"}: ${problem.detail || res.status}`;
  });
}

function fmt(n) { return n.toLocaleString("en-US"); }

function renderStatus(run, s) {
  run.dataset.state = s.state;
  document.getElementById("state").textContent = s.state;
  document.getElementById("phase").textContent = s.phase;
  document.getElementById("blocks").textContent = s.blocks_done;
  document.getElementById("elapsed").textContent = s.elapsed_s;
  document.getElementById("eta").textContent = s.eta_s === null ? "–" : s.eta_s;
  for (const t of s.tables) {
    const row = run.querySelector(`tr[data-table="${t.name}"]`);
    if (!row) continue;
    const bar = row.querySelector("progress");
    bar.max = Math.max(t.rows_total, 1);
    bar.value = Math.min(t.rows_done, bar.max);
    row.querySelector(".done").textContent = fmt(t.rows_done);
    row.querySelector(".total").textContent = fmt(t.rows_total);
  }
  const active = s.state === "queued" || s.state === "running";
  document.getElementById("cancel").hidden = !active;
  document.getElementById("result-link").hidden = s.state !== "succeeded";
  document.getElementById("job-error").textContent = s.error ? `${s.error.title}: ${s.error.detail}` : "";
}

function setupRun(run) {
  const job = run.dataset.job;
  const cancel = document.getElementById("cancel");
  cancel.addEventListener("click", async () => {
    cancel.disabled = true;
    const res = await postJSON(`/api/generate/cancel/${job}`);
    if (!res.ok) document.getElementById("job-error").textContent = res.data ? res.data.detail : res.status;
  });
  if (run.dataset.state !== "queued" && run.dataset.state !== "running") return;
  const source = new EventSource(`/api/generate/events/${job}`);
  source.addEventListener("status", (event) => {
    const s = JSON.parse(event.data);
    renderStatus(run, s);
    if (s.state !== "queued" && s.state !== "running") {
      source.close();
      if (s.state === "succeeded") window.location.assign(`/jobs/${job}/result`);
    }
  });
}

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("step-form");
  if (form) setupStep(form);
  const generate = document.getElementById("generate");
  if (generate) setupReview(generate);
  const run = document.getElementById("run");
  if (run) setupRun(run);
});
