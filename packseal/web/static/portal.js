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

(function linkedViews() {
  // A clip filmed by several cameras: one player each. Play, pause and seek follow the
  // player a person used, at the same capture time (each view's file starts at its own
  // first frame: data-offset-s is that frame's time after the clip's start).
  const players = Array.from(document.querySelectorAll("video.view-player"));
  if (players.length < 2) return;
  const offset = (v) => parseFloat(v.dataset.offsetS) || 0;
  const others = (v) => players.filter((p) => p !== v);
  const TOLERANCE_S = 0.3;
  function align(from, to) {
    const wanted = from.currentTime + offset(from) - offset(to);
    const end = Number.isFinite(to.duration) ? to.duration : Infinity;
    const t = Math.max(0, Math.min(wanted, end));
    if (Math.abs(to.currentTime - t) > TOLERANCE_S) to.currentTime = t;
  }
  players.forEach((v) => {
    v.addEventListener("play", () => others(v).forEach((o) => {
      align(v, o);
      if (o.paused) o.play().catch(() => {});
    }));
    v.addEventListener("pause", () => others(v).forEach((o) => { if (!o.paused) o.pause(); }));
    v.addEventListener("seeked", () => others(v).forEach((o) => align(v, o)));
  });
  // Drift: the first camera leads while playing.
  players[0].addEventListener("timeupdate", () => {
    if (!players[0].paused) others(players[0]).forEach((o) => align(players[0], o));
  });
  const button = document.getElementById("views-play");
  if (button) {
    const label = () => {
      button.textContent = players[0].paused ? button.dataset.play : button.dataset.pause;
    };
    button.addEventListener("click", () => {
      if (players[0].paused) players[0].play().catch(() => {}); else players[0].pause();
    });
    players[0].addEventListener("play", label);
    players[0].addEventListener("pause", label);
  }
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
