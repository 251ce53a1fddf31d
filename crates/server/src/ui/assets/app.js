// The dashboard's only script: follows a run's or a job's event stream and updates the page
// in place, follows a job's output, and sends the stop forms without leaving the page. Every
// page works without it (the forms post and redirect); this only makes them live.
"use strict";

function setBadge(el, value) {
  if (!el) return;
  el.textContent = value;
  el.dataset.value = value;
}

function setText(el, value) {
  if (el && value !== undefined && value !== null) el.textContent = value;
}

function applyCard(card, job) {
  if (!card) return;
  card.dataset.status = job.status;
  card.dataset.result = job.result;
  setBadge(card.querySelector(".status"), job.status);
  setBadge(card.querySelector(".result"), job.result);
  const bar = card.querySelector("progress");
  if (bar) {
    bar.max = Math.max(job.total, 1);
    bar.value = job.done;
    bar.textContent = job.done + " of " + job.total;
  }
  setText(card.querySelector(".done"), String(job.done));
  setText(card.querySelector(".total"), String(job.total));
  setText(card.querySelector(".minutes"), job.minutes);
  setText(card.querySelector(".message"), job.message || "");
  if (job.completed) card.querySelectorAll("form.stop-job").forEach((f) => f.remove());
}

// The header of a run page or a job page ("run" or "job"): its section, the facts
// `layout::facts` rendered with ids `{prefix}-status` and so on, its message, its stop form.
function applyHeader(prefix, state) {
  const section = document.getElementById(prefix);
  section.dataset.status = state.status;
  section.dataset.result = state.result;
  setBadge(document.getElementById(prefix + "-status"), state.status);
  setBadge(document.getElementById(prefix + "-result"), state.result);
  setText(document.getElementById(prefix + "-counters"), state.counters);
  setText(document.getElementById(prefix + "-minutes"), state.minutes);
  setText(document.getElementById(prefix + "-message"), state.message || "");
  if (state.completed) {
    const stop = document.getElementById("stop-" + prefix);
    if (stop) stop.remove();
  }
}

function applyRun(run) {
  applyHeader("run", run);
  for (const job of run.jobs) {
    applyCard(document.querySelector('article.job[data-job-arn="' + CSS.escape(job.arn) + '"]'), job);
  }
}

// Fragments rendered (and escaped) by the server from the same values as the first page.
function replaceWith(id, html) {
  const el = document.getElementById(id);
  if (!el || html === null || html === undefined) return;
  const parsed = new DOMParser().parseFromString("<div>" + html + "</div>", "text/html");
  el.replaceChildren(...parsed.body.firstChild.childNodes);
}

function follow(section, name, apply) {
  if (!section || !section.dataset.events || section.dataset.status === "COMPLETED") return;
  const events = new EventSource(section.dataset.events);
  events.addEventListener(name, (e) => {
    const data = JSON.parse(e.data);
    apply(data);
    const done = name === "run" ? data.completed : data.job.completed;
    if (done) events.close();
  });
}

function followOutput(pre) {
  if (!pre || !pre.dataset.src || !window.fetch) return;
  fetch(pre.dataset.src, { credentials: "same-origin" }).then(async (response) => {
    if (!response.ok || !response.body) return;
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      const atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
      pre.append(decoder.decode(value, { stream: true }));
      if (atBottom) pre.scrollTop = pre.scrollHeight;
    }
    if (!pre.textContent) pre.textContent = "(no test spec output)";
    pre.dataset.ended = "true";
  }).catch(() => {});
}

function say(form, message) {
  let note = form.querySelector(".form-error");
  if (!note) {
    note = document.createElement("p");
    note.className = "form-error";
    note.setAttribute("role", "alert");
    form.append(note);
  }
  note.textContent = message;
}

function sendStop(form) {
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const button = form.querySelector("button");
    if (button) button.disabled = true;
    try {
      const response = await fetch(form.action, {
        method: "POST",
        credentials: "same-origin",
        headers: { Accept: "application/json" },
        body: new URLSearchParams(new FormData(form)),
      });
      if (!response.ok) {
        say(form, (await response.text()).replace(/<[^>]*>/g, " ").trim().slice(0, 300) || "The stop was refused.");
        if (button) button.disabled = false;
        return;
      }
      const answer = await response.json();
      if (form.id === "stop-run") {
        setBadge(document.getElementById("run-status"), answer.status);
        document.getElementById("run").dataset.status = answer.status;
      } else if (form.id === "stop-job") {
        applyHeader("job", answer);
      } else {
        applyCard(form.closest("article.job"), answer);
      }
    } catch (err) {
      say(form, "The server could not be reached.");
      if (button) button.disabled = false;
    }
  });
}

document.addEventListener("DOMContentLoaded", () => {
  follow(document.getElementById("run"), "run", applyRun);
  follow(document.getElementById("job"), "job", (data) => {
    applyHeader("job", data.job);
    replaceWith("suites", data.suites_html);
    replaceWith("artifacts", data.artifacts_html);
  });
  followOutput(document.getElementById("output"));
  document.querySelectorAll("form.stop-job, form#stop-run, form#stop-job").forEach(sendStop);
});
