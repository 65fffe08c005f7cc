// packseal station screen: live picture, state banner, sounds, and scanner-gun input.
// A USB scanner is a keyboard: it types the code (usually + Enter) into whatever page has
// focus. This page takes every printable key, and sends the code on Enter or, for guns
// configured without a suffix, after a short pause (data-submit-after-ms).
"use strict";

(function station() {
  const $ = (id) => document.getElementById(id);
  const submitAfter = parseInt(document.body.dataset.submitAfterMs, 10) || 120;
  const HEADERS = { "X-Packseal-Station": "1", Accept: "application/json" };
  // What tests (and curious people in the console) can read back.
  const probe = (window.packsealStation = { frames: 0, sounds: [], submitted: [], fps: 0 });

  // -- sounds: made with WebAudio, no files --------------------------------------------
  let audio = null;
  function unlockAudio() {
    if (!audio) {
      try { audio = new (window.AudioContext || window.webkitAudioContext)(); } catch (e) { return; }
    }
    if (audio.state === "suspended") audio.resume().catch(() => {});
  }
  function tones(list, type) {
    if (!audio || audio.state !== "running") return;
    let t = audio.currentTime + 0.02;
    for (const [freq, dur, gap] of list) {
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.type = type;
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0.0001, t);
      gain.gain.exponentialRampToValueAtTime(0.35, t + 0.015);
      gain.gain.exponentialRampToValueAtTime(0.0001, t + dur);
      osc.connect(gain).connect(audio.destination);
      osc.start(t);
      osc.stop(t + dur + 0.02);
      t += dur + gap;
    }
  }
  const SOUNDS = {
    start: () => tones([[660, 0.12, 0.03], [990, 0.2, 0]], "sine"), // rising: recording
    sealed: () => tones([[523, 0.09, 0.02], [659, 0.09, 0.02], [784, 0.16, 0]], "triangle"),
    error: () => tones([[220, 0.18, 0.08], [220, 0.18, 0.08], [180, 0.3, 0]], "square"),
  };
  function play(name) {
    probe.sounds.push(name);
    SOUNDS[name]();
  }
  function showSoundState() {
    const chip = $("sound-chip");
    const on = audio && audio.state === "running";
    chip.textContent = on ? "sound on" : "sound off · click to enable";
    chip.className = "chip " + (on ? "chip-on" : "chip-muted");
  }
  document.addEventListener("click", () => { unlockAudio(); setTimeout(showSoundState, 50); });

  // -- talking to the station -------------------------------------------------------------
  async function post(path, body) {
    const init = { method: "POST", headers: { ...HEADERS }, credentials: "same-origin" };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetch(path, init);
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      const message = (data.error && data.error.message) || `HTTP ${response.status}`;
      throw new Error(message);
    }
    return data;
  }

  // -- scanner-gun input ------------------------------------------------------------------
  let typed = "";
  let timer = null;
  const typedBox = $("typed");
  function showTyped(text, typing) {
    typedBox.textContent = text;
    typedBox.classList.toggle("typing", typing);
  }
  async function submit() {
    clearTimeout(timer);
    const code = typed.trim();
    typed = "";
    if (!code) return;
    showTyped(code, false);
    probe.submitted.push(code);
    try {
      const done = await post("/api/scan", { code });
      $("last-scan").innerHTML = "";
      const kind = document.createElement("span");
      kind.className = "kind kind-" + done.kind;
      kind.textContent = done.kind;
      $("last-scan").append("sent ", kind, " " + done.text);
    } catch (e) {
      play("error");
      $("last-scan").textContent = "not accepted: " + e.message;
    }
  }
  document.addEventListener("keydown", (event) => {
    unlockAudio();
    if (event.ctrlKey || event.altKey || event.metaKey) return;
    if (event.key === "Enter" || event.key === "Tab") {
      event.preventDefault();
      submit();
      return;
    }
    if (event.key.length !== 1) return;
    event.preventDefault();
    typed += event.key;
    showTyped(typed, true);
    clearTimeout(timer);
    timer = setTimeout(submit, submitAfter);
  });

  // -- buttons ----------------------------------------------------------------------------
  function action(id, path) {
    $(id).addEventListener("click", async () => {
      try { await post(path); } catch (e) { play("error"); $("last-scan").textContent = e.message; }
      refresh();
    });
  }
  action("stop", "/api/stop");
  action("cancel", "/api/cancel");
  action("clear-alarms", "/api/alarms/clear");

  // -- status: banner, alarms, recent clips ---------------------------------------------
  let seen = null;
  const mmss = (ms) => {
    const s = Math.floor(ms / 1000);
    return `${String(Math.floor(s / 60)).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
  };
  function banner(st) {
    const b = $("banner");
    let cls = "state-idle", word = "IDLE", order = "", elapsed = "", detail = "Scan an order to start recording";
    const problem = st.failure || (st.alarms.length ? st.alarms[st.alarms.length - 1] : null);
    if (st.state === "starting") {
      cls = "state-starting"; word = "STARTING"; detail = "Opening the camera…";
    } else if (st.failure || st.state === "stopped") {
      cls = st.failure ? "state-alarm" : "state-stopped";
      word = "RECORDING STOPPED";
      detail = st.failure || "The station has stopped; restart it to record";
    } else if (problem) {
      cls = "state-alarm"; word = "ALARM"; detail = problem;
      if (st.order_id) { order = st.order_id; elapsed = mmss(st.elapsed_ms || 0); }
    } else if (st.order_id) {
      cls = "state-recording"; word = "RECORDING"; order = st.order_id;
      elapsed = mmss(st.elapsed_ms || 0);
      detail = st.tracking_ids.length
        ? `Waybill ${st.tracking_ids.join(", ")} · scan the next order when done`
        : "Pack the order, then scan the waybill";
    }
    b.className = "banner " + cls;
    $("banner-state").textContent = word;
    $("banner-order").textContent = order;
    $("banner-elapsed").textContent = elapsed;
    $("banner-detail").textContent = detail;
    $("stop").disabled = !st.order_id;
    $("cancel").disabled = !st.order_id;
  }
  function alarms(st) {
    const box = $("alarms");
    const list = $("alarm-list");
    list.innerHTML = "";
    for (const text of [...st.alarms, ...st.warnings]) {
      const li = document.createElement("li");
      li.textContent = text;
      list.append(li);
    }
    box.hidden = list.children.length === 0;
    $("clear-alarms").hidden = st.alarms.length === 0;
  }
  function recent(st) {
    const list = $("recent");
    list.innerHTML = "";
    if (!st.recent.length) {
      const li = document.createElement("li");
      li.className = "empty";
      li.textContent = "No clips yet";
      list.append(li);
      return;
    }
    for (const c of st.recent) {
      const li = document.createElement("li");
      const t = document.createElement("span"); t.className = "t"; t.textContent = c.started || "";
      const o = document.createElement("span"); o.className = "o"; o.textContent = c.order_id;
      o.title = c.tracking_ids.join(", ");
      const p = document.createElement("span"); p.className = "pill pill-" + c.state;
      p.textContent = c.state + (c.duration_ms != null ? " · " + mmss(c.duration_ms) : "");
      li.append(t, o, p);
      list.append(li);
    }
  }
  function footer(st) {
    $("stats").textContent = `${st.fps.toFixed(1)} fps · ${st.frames_dropped} dropped · ${st.segments_sealed} segments sealed`;
    const disk = $("disk");
    disk.textContent = st.warnings.length ? st.warnings[0] : "";
    disk.className = st.warnings.length ? "warn" : "";
  }
  function sounds(st) {
    if (seen) {
      if (st.clips_opened > seen.clips_opened) play("start");
      if (st.clips_sealed > seen.clips_sealed) play("sealed");
      if (st.alarm_count > seen.alarm_count || (st.failure && !seen.failure)) play("error");
    }
    seen = st;
  }
  async function refresh() {
    try {
      const response = await fetch("/api/status", { headers: HEADERS, credentials: "same-origin" });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const st = await response.json();
      banner(st); alarms(st); recent(st); footer(st); sounds(st); showSoundState();
    } catch (e) {
      $("banner").className = "banner state-stopped";
      $("banner-state").textContent = "NO CONNECTION";
      $("banner-order").textContent = "";
      $("banner-elapsed").textContent = "";
      $("banner-detail").textContent = "The station program is not answering: is it running?";
    }
  }
  (function statusLoop() { refresh().finally(() => setTimeout(statusLoop, 300)); })();

  // -- live picture: long-polled JPEGs, about 10 per second ------------------------------
  const img = $("preview");
  let last = -1;
  let shown = null;
  const stamps = [];
  async function frameLoop() {
    const started = performance.now();
    try {
      const response = await fetch(`/api/preview.jpg?after=${last}`, { headers: HEADERS, cache: "no-store" });
      if (response.ok) {
        last = parseInt(response.headers.get("X-Frame-Index"), 10);
        const url = URL.createObjectURL(await response.blob());
        img.src = url;
        if (shown) URL.revokeObjectURL(shown);
        shown = url;
        probe.frames += 1;
        const now = performance.now();
        stamps.push(now);
        while (stamps.length && now - stamps[0] > 2000) stamps.shift();
        probe.fps = stamps.length / 2;
        $("preview-fps").textContent = `${probe.fps.toFixed(0)} fps`;
      } else {
        await new Promise((r) => setTimeout(r, 500));
      }
    } catch (e) {
      await new Promise((r) => setTimeout(r, 1000));
    }
    setTimeout(frameLoop, Math.max(0, 100 - (performance.now() - started)));
  }
  frameLoop();
  showSoundState();
})();
