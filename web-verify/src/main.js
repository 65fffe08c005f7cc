// The page: pick or drop a bundle and a trust file, run the checks, show each with what
// was expected and found, then play the clip beside the facts it proves.
//
// Served by a portal, the page offers the portal's published trust file (./trust.json);
// opened through a share link (/s/<token>), it loads that link's bundle and trust file
// itself. Nothing else is fetched: the CSP allows connections to its own origin only.

import { FormatError } from "./bytes.js";
import { pick, setLanguage, t, translatePage } from "./i18n.js";
import { parseTrust } from "./trust.js";
import { BundleError, CHECKS, NOT_HERE, secs, utc, verifyBundle } from "./verify.js";

const $ = (id) => document.getElementById(id);
const state = { bundle: null, trustBytes: null, trustLabel: "", videoUrl: null, viewUrls: [] };
// bufferBytes: the clip reader's buffer (tests set it small to cross its edges often).
const api = { state: "idle", report: null, error: null, runs: 0, bufferBytes: undefined };
window.packsealVerify = api;

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else node.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(c);
  return node;
}

function setStatus(text) {
  $("status").textContent = text;
}

// -- times in the station's zone -------------------------------------------------------------

function local(ms, zone) {
  if (!zone) return null;
  const fixed = /^UTC([+-])(\d\d):(\d\d)$/.exec(zone);
  if (zone === "UTC" || fixed) {
    const offset = fixed ? (fixed[1] === "+" ? 1 : -1) * (Number(fixed[2]) * 60 + Number(fixed[3])) : 0;
    const shifted = new Date(ms + offset * 60_000).toISOString().slice(0, 19);
    return `${shifted.replace("T", " ")} ${zone}`;
  }
  try {
    const parts = new Intl.DateTimeFormat("en-CA", {
      timeZone: zone,
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
      hourCycle: "h23",
      timeZoneName: "shortOffset",
    }).formatToParts(new Date(ms));
    const p = Object.fromEntries(parts.map((x) => [x.type, x.value]));
    return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second} ${zone} (${p.timeZoneName})`;
  } catch {
    return null;
  }
}

// -- inputs -----------------------------------------------------------------------------------

function takeBundle(file) {
  state.bundle = file;
  $("bundle-name").textContent = t("{name} ({mb} MB)", { name: file.name, mb: (file.size / 1e6).toFixed(1) });
  maybeRun();
}

async function takeTrust(bytes, label) {
  state.trustBytes = bytes;
  state.trustLabel = label;
  $("trust-name").textContent = label;
  maybeRun();
}

function maybeRun() {
  $("verify").disabled = !(state.bundle && state.trustBytes);
  if (state.bundle && state.trustBytes) run();
}

function wireDrop(zone, onFile) {
  zone.addEventListener("dragover", (e) => {
    e.preventDefault();
    zone.classList.add("over");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("over");
    const file = e.dataTransfer.files[0];
    if (file) onFile(file);
  });
}

// -- running ----------------------------------------------------------------------------------

let running = Promise.resolve();

function run() {
  running = running.then(runOnce, runOnce);
  return running;
}

async function runOnce() {
  const bundle = state.bundle;
  const trustBytes = state.trustBytes;
  if (!bundle || !trustBytes) return;
  api.state = "running";
  api.report = null;
  api.error = null;
  api.timings = {}; // each step's end, in ms from the start, as it happens
  $("result").hidden = true;
  $("error").hidden = true;
  setStatus(t("Checking {name}…", { name: bundle.name }));
  const started = performance.now();
  try {
    let trust;
    try {
      trust = await parseTrust(trustBytes);
    } catch (e) {
      if (e instanceof FormatError) throw new InputError(t("The trust file is not valid: {message}", { message: e.message }), t("use the merchant's published trust.json (`packseal keys trust`)"));
      throw e;
    }
    const report = await verifyBundle(bundle, trust, (done) => setStatus(t("Hashing the video: {n} fragments…", { n: done })), {
      bufferBytes: api.bufferBytes,
      timings: api.timings,
    });
    report.seconds = (performance.now() - started) / 1000;
    report.verified = report.facts !== null && report.checks.every((c) => c.ok === true);
    const firstFailed = report.checks.find((c) => c.ok === false);
    report.first_failed = firstFailed ? firstFailed.name : null;
    report.unchecked_here = report.checks.filter((c) => c.ok === null && c.message.startsWith(NOT_HERE)).map((c) => c.name);
    report.verdict = verdict(report);
    api.report = report;
    show(report);
    setStatus(t("Checked in {s} s, in this browser; nothing was uploaded.", { s: report.seconds.toFixed(1) }));
  } catch (e) {
    const known = e instanceof BundleError || e instanceof InputError;
    api.error = { message: e.message, hint: e.hint ?? null, kind: known ? "input" : "internal" };
    $("error").hidden = false;
    $("error-message").textContent = known ? e.message : t("The page failed: {message}", { message: e.message });
    $("error-hint").textContent = e.hint ?? "";
    setStatus("");
  } finally {
    api.runs += 1;
    api.state = "done";
  }
}

class InputError extends Error {
  constructor(message, hint) {
    super(message);
    this.hint = hint;
  }
}

function verdict(r) {
  const f = r.facts;
  if (r.verified) {
    const [first, last, of] = f.segments;
    const part = first !== 1 || last !== of ? t(" (excerpt: segments {first}..{last} of {of})", { first, last, of }) : "";
    const status = f.status === "sealed" ? "" : ` (${f.status}: ${f.end_reason})`;
    return t("VERIFIED{part}: order {order}{status} packed at station {station}, {start} to {end}, {secs} s, sealed in log {origin} at index {index}", {
      part,
      order: f.order_id,
      status,
      station: f.station,
      start: utc(f.start_ms),
      end: utc(f.end_ms),
      secs: secs(f.end_ms - f.start_ms),
      origin: f.origin,
      index: f.log_index,
    });
  }
  const failedNames = r.checks.filter((c) => c.ok === false).map((c) => c.name);
  if (failedNames.length) return t("NOT VERIFIED: {n} check(s) failed ({names})", { n: failedNames.length, names: failedNames.join(", ") });
  if (f !== null && f.derived) {
    return t("NOT VERIFIED: the video is a derived copy \u2014 not the sealed bytes (the entry and proofs of order {order}, clip {clip}, verified)", { order: f.order_id, clip: f.clip_id });
  }
  if (r.unchecked_here.length && r.checks.every((c) => c.ok === true || r.unchecked_here.includes(c.name))) {
    return t("NOT FULLY VERIFIED HERE: every check this page can run passed; the trust file also requires {names}, which only `packseal verify` checks", { names: r.unchecked_here.join(", ") });
  }
  return t("NOT VERIFIED: not checked: {names}", { names: r.checks.filter((c) => c.ok === null).map((c) => c.name).join(", ") });
}

// -- showing ----------------------------------------------------------------------------------

/** What each named check establishes, in a few words beside its name. */
function checkTitle(name) {
  const titles = {
    zip: t("the zip and its checksums"),
    media: t("the video is the sealed fragments"),
    timeline: t("segments in order, no gaps"),
    signature: t("signed by the certified station"),
    inclusion: t("in the merchant's log"),
    time: t("RFC 3161 time-stamp"),
    witness: t("witness cosignatures"),
    c2pa: t("C2PA Content Credentials"),
    facts: t("README and sheet agree"),
    claim: t("the claim report cites this clip"),
  };
  return titles[name] ?? "";
}

function show(r) {
  $("result").hidden = false;
  const v = $("verdict");
  v.textContent = r.verdict;
  v.className = r.verified ? "verdict ok" : r.first_failed ? "verdict bad" : "verdict partial";
  const body = $("checks-body");
  body.replaceChildren();
  for (const c of r.checks) {
    const mark = c.ok === true ? t("passed") : c.ok === false ? t("FAILED") : c.message.startsWith(NOT_HERE) ? t("not checked here") : t("not checked");
    const cls = c.ok === true ? "ok" : c.ok === false ? "bad" : "skip";
    body.append(
      el(
        "tr",
        { class: cls, "data-check": c.name },
        el("td", { class: "name" }, c.name, el("div", { class: "what" }, checkTitle(c.name))),
        el("td", { class: "mark" }, mark),
        el(
          "td",
          {},
          el("div", {}, c.message),
          c.expected !== null || c.found !== null
            ? el("div", { class: "ef" }, el("span", {}, t("expected: {value}", { value: c.expected ?? "—" })), el("span", {}, t("found: {value}", { value: c.found ?? "—" })))
            : null,
        ),
      ),
    );
  }
  showFacts(r);
}

function showFacts(r) {
  const f = r.facts;
  const box = $("facts");
  box.replaceChildren();
  const player = $("player");
  if (state.videoUrl) URL.revokeObjectURL(state.videoUrl);
  state.videoUrl = null;
  for (const url of state.viewUrls) URL.revokeObjectURL(url);
  state.viewUrls = [];
  player.hidden = true;
  $("player-note").hidden = true;
  $("player-caption").hidden = true;
  $("view-players").replaceChildren();
  if (f === null) {
    box.append(el("p", {}, t("No facts: the clip entry could not be read.")));
    return;
  }
  const proven = r.verified;
  box.append(
    el("h3", {}, proven ? t("Proven by the checks above") : t("What the entry claims (NOT proven: see the checks)")),
  );
  const zone = f.zone;
  const rows = [
    ["Order", t("Order"), f.order_id],
    ["Tracking", t("Tracking"), f.tracking_ids.join(", ") || t("none")],
    ["Merchant", t("Merchant"), f.merchant ?? "?"],
    ["Station", t("Station"), `${f.station}${f.station_name ? ` (${f.station_name})` : ""}`],
    ["Filmed by", t("Filmed by"), f.source],
    ["Footage from", t("Footage from"), local(f.start_ms, zone) ?? utc(f.start_ms)],
    ["Footage to", t("Footage to"), local(f.end_ms, zone) ?? utc(f.end_ms)],
    ["In UTC", t("In UTC"), t("{start} to {end} ({secs} s)", { start: utc(f.start_ms), end: utc(f.end_ms), secs: secs(f.end_ms - f.start_ms) })],
    ["Order scanned", t("Order scanned"), local(f.started_ms, zone) ?? utc(f.started_ms)],
    ["Station's zone", t("Station's zone"), zone ? `${zone}${f.zone_signed ? t(" (signed)") : t(" (unsigned, from the manifest)")}` : t("not stated: times in UTC")],
    ["Clip", t("Clip"), t("{clip} ({status}, {reason}); segments {first}..{last} of {of}", { clip: f.clip_id, status: f.status, reason: f.end_reason, first: f.segments[0], last: f.segments[1], of: f.segments[2] })],
    ["Log", t("Log"), t("{origin}, index {index} (checkpoint size {size})", { origin: f.origin, index: f.log_index ?? "?", size: f.checkpoint_size ?? "?" })],
    ["Witnessed", t("Witnessed"), f.witnessed.length ? f.witnessed.join("; ") : "—"],
    ["Entry hash", t("Entry hash"), f.entry_hash],
  ];
  const dl = el("dl");
  // data-fact keeps the English name: tests and scripts read the facts by it.
  for (const [key, label, v] of rows) dl.append(el("dt", {}, label), el("dd", { "data-fact": key }, v));
  box.append(dl);
  if (r.video && r.checks.find((c) => c.name === "media").ok !== false) {
    state.videoUrl = URL.createObjectURL(r.video.blob.slice(0, r.video.blob.size, "video/mp4"));
    // a video the browser cannot decode (H.265 copied from a camera, in Chromium and
    // Firefox on most PCs) fails here, not in the checks: say so beside the player
    player.onerror = () => {
      $("player-note").hidden = false;
    };
    player.src = state.videoUrl;
    player.hidden = false;
  }
  showViews(r);
}

/** A clip filmed by several cameras: each view's result, and a player per view beside
 * the primary's (#player), kept at the same capture time as it. */
function showViews(r) {
  const results = r.view_results ?? [];
  if (results.length < 2) return;
  const viewsRow = results.map((v) => `${v.view} (${v.video})`).join(", ");
  const dl = $("facts").querySelector("dl");
  dl.append(el("dt", {}, t("Views")), el("dd", { "data-fact": "Views" }, viewsRow));
  const caption = (v) => {
    const mark = v.ok ? t("matches the signed entry") : t("FAILED: {reason}", { reason: v.problems[0] ?? "" });
    return t("view {view} ({file}): {mark}", { view: v.view, file: v.video, mark });
  };
  const first = $("player-caption");
  first.textContent = caption(results[0]);
  first.className = `view-caption ${results[0].ok ? "ok" : "bad"}`;
  first.dataset.view = results[0].view;
  first.hidden = false;
  const box = $("view-players");
  const players = [$("player")];
  for (const v of results.slice(1)) {
    const found = r.views.find((x) => x.view === v.view);
    const figure = el("figure", { class: "view", "data-view": v.view });
    if (found && v.ok && r.checks.find((c) => c.name === "media").ok !== false) {
      const url = URL.createObjectURL(found.blob.slice(0, found.blob.size, "video/mp4"));
      state.viewUrls.push(url);
      const video = el("video", { controls: "", playsinline: "", preload: "metadata", "aria-label": t("view {view}", { view: v.view }) });
      video.dataset.offsetS = String(v.offset_ms / 1000);
      video.src = url;
      players.push(video);
      figure.append(video);
    }
    figure.append(el("figcaption", { class: `view-caption ${v.ok ? "ok" : "bad"}`, "data-view": v.view }, caption(v)));
    box.append(figure);
  }
  linkPlayers(players);
}

/** Play, pause and seek on any player move the others to the same capture time. */
function linkPlayers(players) {
  if (players.length < 2 || players[0].hidden) return;
  const offset = (v) => parseFloat(v.dataset.offsetS || "0") || 0;
  const align = (from, to) => {
    const wanted = from.currentTime + offset(from) - offset(to);
    const end = Number.isFinite(to.duration) ? to.duration : Infinity;
    const at = Math.max(0, Math.min(wanted, end));
    if (Math.abs(to.currentTime - at) > 0.3) to.currentTime = at;
  };
  for (const v of players) {
    const others = players.filter((p) => p !== v);
    v.addEventListener("play", () => others.forEach((o) => {
      align(v, o);
      if (o.paused) o.play().catch(() => {});
    }));
    v.addEventListener("pause", () => others.forEach((o) => { if (!o.paused) o.pause(); }));
    v.addEventListener("seeked", () => others.forEach((o) => align(v, o)));
  }
}

// -- start ------------------------------------------------------------------------------------

async function fetchBytes(url) {
  const response = await fetch(url, { credentials: "omit", cache: "no-store" });
  if (!response.ok) throw new InputError(t("{url}: the server answered {status}", { url, status: response.status }), t("the link may have expired or been revoked; ask the merchant for a new one"));
  return response;
}

async function start() {
  setLanguage(pick(navigator.languages?.length ? navigator.languages : [navigator.language]));
  translatePage(document);
  $("bundle-input").addEventListener("change", (e) => e.target.files[0] && takeBundle(e.target.files[0]));
  $("trust-input").addEventListener("change", async (e) => {
    const f = e.target.files[0];
    if (f) await takeTrust(new Uint8Array(await f.arrayBuffer()), f.name);
  });
  $("trust-paste").addEventListener("click", () => {
    const text = $("trust-text").value.trim();
    if (text) takeTrust(new TextEncoder().encode(text), t("pasted trust file"));
  });
  $("verify").addEventListener("click", () => run());
  wireDrop($("bundle-drop"), takeBundle);
  wireDrop($("trust-drop"), async (f) => takeTrust(new Uint8Array(await f.arrayBuffer()), f.name));
  const served = location.protocol === "http:" || location.protocol === "https:";
  const share = /^\/s\/([A-Za-z0-9_-]{16,128})\/?$/.exec(location.pathname);
  if (served && share) {
    $("inputs").hidden = true;
    $("share-note").hidden = false;
    try {
      setStatus(t("Loading the shared bundle…"));
      const base = `/s/${share[1]}`;
      const trust = new Uint8Array(await (await fetchBytes(`${base}/trust.json`)).arrayBuffer());
      const blob = await (await fetchBytes(`${base}/bundle.zip`)).blob();
      state.bundle = new File([blob], "shared-bundle.zip", { type: "application/zip" });
      $("bundle-name").textContent = t("the shared bundle");
      await takeTrust(trust, t("the merchant's published trust file"));
      await running;
    } catch (e) {
      api.error = { message: e.message, hint: e.hint ?? null, kind: "input" };
      api.state = "done";
      $("error").hidden = false;
      $("error-message").textContent = e.message;
      $("error-hint").textContent = e.hint ?? "";
      setStatus("");
    }
    return;
  }
  if (served) {
    const button = $("trust-portal");
    button.hidden = false;
    button.addEventListener("click", async () => {
      try {
        const bytes = new Uint8Array(await (await fetchBytes("/trust.json")).arrayBuffer());
        await takeTrust(bytes, t("this portal's published trust file (/trust.json)"));
      } catch (e) {
        $("trust-name").textContent = e.message;
      }
    });
  }
  api.state = "ready";
}

void CHECKS;
start();
