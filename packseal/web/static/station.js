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
  // The page's words: the English text is the id, the server sends the translations
  // (packseal/i18n.py) for the page's language.
  const M = JSON.parse(($("messages") || {}).textContent || "{}");
  const t = (text, values) =>
    (M[text] || text).replace(/\{(\w+)\}/g, (_, k) => (values && k in values ? values[k] : ""));
  const probe = (window.packsealStation = { frames: 0, sounds: [], submitted: [], effects: [], sealed: [], fps: 0 });

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
    // Browsers keep a page silent until it is used; the first scan or click turns sound
    // on, and it stays on: a packer never has to find a setting.
    chip.textContent = on ? t("sound on") : t("sound on at the first scan");
    chip.className = "chip " + (on ? "chip-on" : "chip-muted");
  }
  for (const kind of ["click", "pointerdown", "touchstart"]) {
    document.addEventListener(kind, () => { unlockAudio(); setTimeout(showSoundState, 50); });
  }

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
  let heldUntil = 0; // a code just typed stays in the box this long before the prompt returns
  let prompt = t("Connecting…");
  const typedBox = $("typed");
  function showTyped(text, typing) {
    typedBox.textContent = text;
    typedBox.classList.toggle("typing", typing);
    typedBox.classList.remove("prompt");
    heldUntil = performance.now() + 3000;
  }
  function showPrompt() {
    if (typed || performance.now() < heldUntil) return;
    typedBox.textContent = prompt;
    typedBox.classList.remove("typing");
    typedBox.classList.add("prompt");
  }
  function lastScan(ok, kindText, text, said) {
    const box = $("last-scan");
    box.innerHTML = "";
    box.className = "last-scan " + (ok ? "took" : "ignored");
    const tag = document.createElement("span");
    tag.className = "kind kind-" + (ok ? kindText : "ignored");
    tag.textContent = ok ? t(kindText) : t("ignored");
    const what = document.createElement("span");
    what.className = "code";
    what.textContent = text;
    const why = document.createElement("div");
    why.className = "effect";
    why.textContent = said;
    box.append(tag, " ", what, why);
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
      probe.effects.push(done);
      lastScan(done.accepted, done.kind, done.text, done.effect);
      if (!done.accepted) play("error");
    } catch (e) {
      play("error");
      lastScan(false, null, code, e.message);
    }
  }
  document.addEventListener("keydown", (event) => {
    unlockAudio();
    setTimeout(showSoundState, 50);
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
      try { await post(path); } catch (e) { play("error"); lastScan(false, null, "", e.message); }
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
    let cls = "state-idle", word = t("IDLE"), order = "", elapsed = "", detail = t("Scan an order to start recording");
    let advice = "";
    prompt = t("Ready — scan an order");
    const problem = st.failure || (st.alarms.length ? st.alarms[st.alarms.length - 1] : null);
    if (st.state === "starting") {
      cls = "state-starting"; word = t("STARTING"); detail = t("Opening the camera…");
      prompt = t("Starting — wait for the picture");
    } else if (st.failure || st.state === "stopped") {
      cls = st.failure ? "state-alarm" : "state-stopped";
      word = t("RECORDING STOPPED");
      detail = st.failure || t("The station has stopped; restart it to record");
      advice = t("Nothing is being recorded. Call the supervisor to restart the station.");
      prompt = t("Not recording — scans are ignored");
    } else if (problem) {
      cls = "state-alarm"; word = t("ALARM"); detail = problem;
      advice = st.advice || "";
      prompt = t("Scan {code} to dismiss the alarm", { code: st.codes.ack });
      if (st.order_id) { order = st.order_id; elapsed = mmss(st.elapsed_ms || 0); }
    } else if (st.order_id) {
      cls = "state-recording"; word = t("RECORDING"); order = st.order_id;
      elapsed = mmss(st.elapsed_ms || 0);
      detail = st.tracking_ids.length
        ? t("Waybill {ids} · scan the next order when done", { ids: st.tracking_ids.join(", ") })
        : t("Pack the order, then scan the waybill");
      prompt = t("Recording {order} — scan the waybill, then the next order", { order: st.order_id });
    }
    b.className = "banner " + cls;
    $("banner-state").textContent = word;
    $("banner-order").textContent = order;
    $("banner-elapsed").textContent = elapsed;
    $("banner-detail").textContent = detail;
    $("banner-advice").textContent = advice;
    $("banner-advice").hidden = !advice;
    showPrompt();
    live(st);
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
      li.textContent = t("No clips yet");
      list.append(li);
      return;
    }
    for (const c of st.recent) {
      const li = document.createElement("li");
      const when = document.createElement("span"); when.className = "t"; when.textContent = c.started || "";
      const o = document.createElement("span"); o.className = "o"; o.textContent = c.order_id;
      o.title = c.tracking_ids.join(", ");
      const p = document.createElement("span"); p.className = "pill pill-" + c.state;
      // Sealed: the footage's length as the portal and `packseal clips` give it (with
      // pre- and post-roll); before that, the time since the order was scanned.
      const length = c.duration || (c.duration_ms != null ? mmss(c.duration_ms) : "");
      p.textContent = t(c.state);
      if (length) {
        const d = document.createElement("span"); d.className = "len"; d.textContent = " · " + length;
        p.append(d);
      }
      li.append(when, o, p);
      list.append(li);
    }
  }
  function footer(st) {
    $("stats").textContent = t("{fps} fps · {dropped} dropped · {segments} segments sealed", {
      fps: st.fps.toFixed(1), dropped: st.frames_dropped, segments: st.segments_sealed,
    });
    // Two cameras: each view's health, so a side camera that is lost or dropping frames
    // shows while the other keeps recording.
    const views = $("views");
    views.textContent = "";
    if (st.views.length > 1) {
      for (const v of st.views) {
        const item = document.createElement("span");
        item.className = v.lost ? "view view-lost" : v.dropped ? "view view-drops" : "view";
        item.dataset.view = v.view;
        item.textContent = v.lost
          ? t("{view}: camera lost", { view: v.view })
          : t("{view}: {fps} fps · {dropped} dropped", {
            view: v.view, fps: v.fps.toFixed(1), dropped: v.dropped,
          });
        views.append(item);
      }
    }
    const disk = $("disk");
    disk.textContent = st.warnings.length ? st.warnings[0] : "";
    disk.className = st.warnings.length ? "warn" : "";
  }
  // -- the sealed moment: big, green, with its chord, for each clip that is sealed -------
  const sealedIds = new Set();
  let sealedTimer = null;
  function sealedMoment(st) {
    const fresh = st.recent.filter((c) => c.state === "sealed" && !sealedIds.has(c.clip_id));
    for (const c of st.recent) if (c.state === "sealed") sealedIds.add(c.clip_id);
    if (!seen || !fresh.length) return;
    const c = fresh[0]; // newest first
    probe.sealed.push(c.order_id);
    $("sealed-order").textContent = c.order_id;
    $("sealed-detail").textContent = [c.duration, c.tracking_ids.join(", ")].filter(Boolean).join(" · ");
    const box = $("sealed");
    box.hidden = false;
    clearTimeout(sealedTimer);
    sealedTimer = setTimeout(() => { box.hidden = true; }, 3500);
    play("sealed");
  }
  function sounds(st) {
    if (seen) {
      if (st.clips_opened > seen.clips_opened) play("start");
      if (st.alarm_count > seen.alarm_count || (st.failure && !seen.failure)) {
        play("error");
        $("sealed").hidden = true; // a new problem outranks the last clip's good news
      }
    }
  }
  // -- the LIVE chip says LIVE only while pictures arrive from a recording station ------
  let lastFrameAt = 0;
  let connected = false;
  let stationState = "starting";
  function live(st) {
    if (st) stationState = st.failure ? "stopped" : st.state;
    const chip = $("live-chip");
    const fresh = performance.now() - lastFrameAt < 3000;
    let word = t("LIVE"), on = true;
    if (!connected) { word = t("NO CONNECTION"); on = false; }
    else if (stationState === "stopped") { word = t("STOPPED"); on = false; }
    else if (!fresh) { word = t("NO PICTURE"); on = false; }
    $("live-word").textContent = word;
    chip.className = "live-chip " + (on ? "live-on" : "live-off");
    $("preview").classList.toggle("stale", !on);
    if (!on) $("preview-fps").textContent = "";
  }
  async function refresh() {
    try {
      const response = await fetch("/api/status", { headers: HEADERS, credentials: "same-origin" });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const st = await response.json();
      connected = true;
      banner(st); alarms(st); recent(st); footer(st); sounds(st); sealedMoment(st);
      seen = st;
      showSoundState();
    } catch (e) {
      console.error("station status:", e);
      connected = false;
      live(null);
      prompt = t("No connection — scans are not taken");
      showPrompt();
      $("banner").className = "banner state-stopped";
      $("banner-state").textContent = t("NO CONNECTION");
      $("banner-order").textContent = "";
      $("banner-elapsed").textContent = "";
      $("banner-detail").textContent = t("The station program is not answering: is it running?");
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
        lastFrameAt = now;
        stamps.push(now);
        while (stamps.length && now - stamps[0] > 2000) stamps.shift();
        probe.fps = stamps.length / 2;
        live(null);
        if (stationState !== "stopped") $("preview-fps").textContent = `${probe.fps.toFixed(0)} fps`;
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
  setInterval(() => { live(null); showPrompt(); }, 500);
})();
