// Follows the embedding job from the library page: while a job is starting or running, polls the
// status API every 2 s and updates the counts, the vector coverage, the passages still awaiting
// vectors and the progress bar in place.
"use strict";
(() => {
  const box = document.querySelector("[data-status-url]");
  if (!box) return;

  const POLL_MS = 2000;
  // A new job records itself only once its process has loaded the embedder.
  const START_TIMEOUT_MS = 90000;
  const LABELS = { none: "never run", starting: "starting…" };
  const startedPid = Number(box.dataset.embedPid);
  const pageLoadedAt = Date.now();
  let state = box.dataset.jobState;

  const count = (n) => n.toLocaleString("en-US");
  const stat = (name) => box.querySelector(`[data-stat="${name}"]`);
  const job = (name) => box.querySelector(`[data-job="${name}"]`);
  const active = () => state === "running" || state === "starting";

  function coverageItem(name, embedded, chunks) {
    const item = document.createElement("li");
    const label = document.createElement("span");
    label.className = "embedder";
    label.textContent = name;
    const value = document.createElement("span");
    const percent = chunks ? Math.round((100 * embedded) / chunks) : 0;
    value.textContent = `${count(embedded)} of ${count(chunks)} (${percent}%)`;
    item.append(label, " ", value);
    return item;
  }

  function showJob(label, current) {
    job("state").textContent = LABELS[label] || label;
    job("count").textContent = current ? `${count(current.done)} of ${count(current.total)}` : "";
    const progress = job("progress");
    progress.max = current && current.total ? current.total : 1;
    progress.value = current && current.total ? current.done : Number(label === "done");
    job("button").disabled = active();
  }

  function render(status) {
    stat("documents").textContent = count(status.documents);
    stat("chunks").textContent = count(status.chunks);
    const names = Object.keys(status.embedded);
    if (names.length) {
      stat("coverage").replaceChildren(...names.map((n) => coverageItem(n, status.embedded[n], status.chunks)));
    }
    stat("pending").textContent = count(status.pending);
    job("pending-note").hidden = !status.pending;
    const current = status.embed_job;
    if (state === "starting" && !(current && current.pid === startedPid)) {
      if (Date.now() - pageLoadedAt < START_TIMEOUT_MS) return;
      state = "did not start";
      showJob(state, null);
      job("message").textContent = "The embedding process did not report back: see embed.log in the workspace folder.";
      return;
    }
    state = current.state;
    showJob(state, current);
    job("message").textContent = current.message || "";
  }

  async function poll() {
    try {
      const response = await fetch(box.dataset.statusUrl, { headers: { Accept: "application/json" } });
      if (response.ok) render(await response.json());
    } catch {
      // The server may be restarting: the next tick tries again.
    }
    if (active()) setTimeout(poll, POLL_MS);
  }

  if (active()) setTimeout(poll, POLL_MS);
})();
