// packseal portal: the few behaviours a page needs. No framework, no build step.
"use strict";

(function clipPage() {
  const video = document.getElementById("player");
  const timeline = document.getElementById("timeline");
  if (!video || !timeline) return;
  const playhead = document.getElementById("playhead");
  // The served clip is on its own timeline (verifier/timeline.py): its video clock is
  // clip seconds, 0 at its first frame.
  const total = () => parseFloat(video.dataset.durationS) || 1;

  function seek(clipSeconds) {
    video.currentTime = Math.max(0, Math.min(clipSeconds, total() - 0.05));
    video.play().catch(() => {});
  }
  video.addEventListener("timeupdate", () => {
    const t = Math.max(0, video.currentTime);
    const x = Math.min(1000, (t / total()) * 1000);
    playhead.setAttribute("x1", x.toFixed(1));
    playhead.setAttribute("x2", x.toFixed(1));
  });
  timeline.addEventListener("click", (event) => {
    const mark = event.target.closest("[data-at]");
    if (mark) { seek(parseFloat(mark.dataset.at)); return; }
    const box = timeline.getBoundingClientRect();
    seek(((event.clientX - box.left) / box.width) * total());
  });
  document.querySelectorAll("tr.seekable").forEach((row) => {
    row.addEventListener("click", () => seek(parseFloat(row.dataset.at)));
  });
})();

(function auditRun() {
  const card = document.getElementById("run");
  if (!card || card.dataset.status !== "running") return;
  const bar = document.getElementById("run-progress");
  const text = document.getElementById("run-progress-text");
  const fmt = new Intl.NumberFormat();
  async function poll() {
    try {
      const response = await fetch(`/api/v1/audit/runs/${card.dataset.runId}`, {
        headers: { Accept: "application/json" }, credentials: "same-origin",
      });
      if (response.ok) {
        const run = await response.json();
        if (run.status !== "running") { window.location.reload(); return; }
        bar.max = Math.max(run.total, 1);
        bar.value = run.done;
        text.textContent = `${fmt.format(run.done)} of ${fmt.format(run.total)} checked`;
      }
    } catch (e) { /* the portal restarted or the network blinked: try again */ }
    setTimeout(poll, 700);
  }
  poll();
})();
