// The named checks of `packseal verify` (verifier/verify.py), in the same order, with the
// same rules, over a File picked or dropped in the browser:
//
//   zip, media, timeline, signature, source, inclusion, time, witness, c2pa, facts, claim
//
// Each check is {name, ok, message, expected, found}; ok is true, false, or null ("not
// checked": its input is missing, or this page cannot check it). One check needs what no
// browser library offers, and is never shown as passed when the trust file requires it:
//   c2pa  C2PA Content Credentials validation (a missing C2PA clip still fails here)
// The RFC 3161 time-stamp (time) is checked in full with pkijs (tsp.js). A report is
// verified only when every check passed, exactly as the CLI decides; a report whose only
// gap is c2pa says "not fully verified here".

import { FormatError, b64encode, concat, hex, sha256Blob, sha256hex } from "./bytes.js";
import { CLAIM_CAPS, CLAIM_MEMBERS, claimCheck } from "./claim.js";
import { LIVE_SOURCES, allViews, describeSource, parseAs, signatureOf, signingBytes, viewNames } from "./entries.js";
import { MediaFormatError, splitAndHash } from "./fmp4.js";
import {
  ProofError,
  SignatureError,
  checkpointSize,
  cosignatures,
  leafHash,
  parseProof,
  verifyProof,
} from "./note.js";
import { formatOf, parseManifest } from "./trust.js";
import { TimestampError, checkResponse, loadRoots } from "./tsp.js";
import { BundleError, BundleZip, MemberError, problem, pyRepr } from "./zip.js";

export const CHECKS = ["zip", "media", "timeline", "signature", "source", "inclusion", "time", "witness", "c2pa", "facts", "claim"];
export const NOT_HERE = "not checked here \u2014 run `packseal verify`";
export { BundleError };

const README = "README.txt";
const MANIFEST = "manifest.json";
const CLIP_ENTRY = "entries/clip.json";
const CLIP_PROOF = "entries/clip.proof";
const KEY_ENTRY = "entries/station-key.json";
const KEY_PROOF = "entries/station-key.proof";
const SUMS = "SHA256SUMS";
const CLIP = "clip.mp4";
const DERIVED = "derived.mp4";
const STAMP_REQUEST = "entries/checkpoint.tsq";
const STAMP_RESPONSE = "entries/checkpoint.tsr";
const C2PA_CLIP = "clip.c2pa.mp4";
const OPTIONAL = [STAMP_REQUEST, STAMP_RESPONSE, C2PA_CLIP, ...CLAIM_MEMBERS];
const REQUIRED = [README, MANIFEST, CLIP_ENTRY, CLIP_PROOF, KEY_ENTRY, KEY_PROOF, "sheet.png", "sheet.pdf", SUMS];
const VIDEOS = [CLIP, DERIVED];
const MAX_VIDEO = 16 * 2 ** 30;
const CAPS = {
  [README]: 8 << 20,
  [MANIFEST]: 1 << 20,
  [CLIP_ENTRY]: 4 << 20,
  [KEY_ENTRY]: 64 << 10,
  [CLIP_PROOF]: 64 << 10,
  [KEY_PROOF]: 64 << 10,
  "sheet.png": 16 << 20,
  "sheet.pdf": 16 << 20,
  [SUMS]: 64 << 10,
  [CLIP]: MAX_VIDEO,
  [DERIVED]: MAX_VIDEO,
  [STAMP_REQUEST]: 64 << 10,
  [STAMP_RESPONSE]: 64 << 10,
  [C2PA_CLIP]: MAX_VIDEO + (16 << 20),
  ...CLAIM_CAPS,
};
const SMALL_CAP = 64 << 10;
// A clip filmed by several cameras: each further view's video is clip.<view>.mp4
// (verifier/_layout.py; "c2pa" is not a view: clip.c2pa.mp4 is the C2PA copy).
const VIEW_MEMBER = /^clip\.([a-z0-9][a-z0-9-]{0,15})\.mp4$/;
const viewOf = (name) => {
  const m = VIEW_MEMBER.exec(name);
  return m !== null && m[1] !== "c2pa" ? m[1] : null;
};
const viewMember = (view) => `clip.${view}.mp4`;
const capsFor = (names) => ({ ...CAPS, ...Object.fromEntries(names.filter((n) => viewOf(n) !== null).map((n) => [n, MAX_VIDEO])) });

/** verifier/_layout.py view_span: the positions (inclusive) of a further view's segments
 * a bundle carries beside the primary's first..last. */
function viewSpan(view, primary, first, last) {
  const n = view.segments.length;
  if (first === 0 && last === primary.segments.length - 1) return [0, n - 1];
  const lo = primary.segments[first].start;
  const hi = primary.segments[last].end;
  const chosen = view.segments.map((s, i) => [s, i]).filter(([s]) => s.end > lo && s.start < hi).map(([, i]) => i);
  if (chosen.length === 0) {
    let k = 0;
    for (let i = 1; i < n; i++) if (Math.abs(view.segments[i].start - lo) < Math.abs(view.segments[k].start - lo)) k = i;
    return [k, k];
  }
  return [chosen[0], chosen[chosen.length - 1]];
}
const MAX_INIT_BYTES = 1 << 20;
const GAP_TOLERANCE_MS = 250;
const CLOCK_SKEW_MS = 5 * 60_000;
const SEAL_SKEW_MS = 60_000;

const check = (name, ok, message, expected = null, found = null) => ({ name, ok, message, expected, found });

function failed(name, problems) {
  const [first, ...rest] = problems;
  let message = first.message;
  if (rest.length) {
    const listed = rest.slice(0, 3).map((p) => p.message).join("; ") + (rest.length > 3 ? "; …" : "");
    message += ` (and ${rest.length} more: ${listed})`;
  }
  return check(name, false, message, first.expected, first.found);
}

export const secs = (ms) => (ms / 1000).toFixed(1);

export function utc(ms, withMs = false) {
  const iso = new Date(ms).toISOString();
  return withMs ? iso : `${iso.slice(0, 19)}Z`;
}

/** Verify ``file`` (a bundle) against ``trust`` (parsed); the report, never throws for a
 * bad bundle except BundleError (not a readable packseal bundle at all). */
export async function verifyBundle(file, trust, onProgress = () => {}, options = {}) {
  return new Verifier(file, trust, onProgress, options).run();
}

/** The latest time the signed clip entry states about its footage, labelled for a person
 * (verifier/_timecheck.py's footage_times). */
function footageLatest(clip) {
  const times = [["the order scan", clip.started], ["the clip's close", clip.ended]];
  clip.segments.forEach((r, i) => times.push([`segment ${i + 1} start`, r.start], [`segment ${i + 1} end`, r.end]));
  for (const sc of clip.scans) times.push([`the ${sc.kind} scan`, sc.t]);
  return times.reduce((a, b) => (b[1] > a[1] ? b : a));
}

class Verifier {
  constructor(file, trust, onProgress, options) {
    this.options = options;
    this.file = file;
    this.trust = trust;
    this.progress = onProgress;
    this.members = {};
    this.manifest = null;
    this.clip = null;
    this.clipError = "";
    this.station = null;
    this.stationError = "";
    this.checkpoint = null;
    this.clipProof = null;
    this.keyProof = null;
    this.video = null;
    this.views = []; // further views' videos, as this.video: {view, name, blob}
    // A clip filmed by several cameras: each view's own result, the primary first:
    // {view, video, ok, problems: [message], offset_ms (its first frame after the primary's)}
    this.viewResults = [];
    this.videoHashes = {};
  }

  async run() {
    const t0 = performance.now();
    // Live, when the caller passes its own: a run that never ends shows its last step.
    const timings = this.options.timings ?? {};
    const lap = (name) => {
      timings[name] = Math.round(performance.now() - t0);
    };
    const z = await BundleZip.open(this.file);
    this.z = z;
    if (z.find(MANIFEST) === null) {
      throw new BundleError(
        `${this.file.name} is not a packseal bundle: it has no ${MANIFEST} (members: ${z.names.slice(0, 8).join(", ") || "none"})`,
        "a bundle is the .zip that `packseal export` writes",
      );
    }
    const unsafe = await z.scan(capsFor(z.names), SMALL_CAP);
    if (unsafe.length) {
      return {
        bundle: this.file.name,
        checks: [
          failed("zip", unsafe),
          ...CHECKS.slice(1).map((n) => check(n, null, "not checked: the zip is not safe to read")),
        ],
        facts: null,
      };
    }
    lap("zip");
    const zipProblems = await this.readMembers();
    lap("members");
    await this.parseEntries();
    lap("entries");
    const [mediaCheck, media] = await this.media();
    lap("media");
    zipProblems.push(...(await this.hashProblems()));
    lap("zip hashes");
    const signature = await this.signature();
    const source = this.source();
    lap("signature");
    const inclusion = await this.inclusion();
    lap("inclusion");
    const time = await this.time();
    lap("time");
    const witness = await this.witness();
    const c2pa = this.c2pa(mediaCheck);
    lap("witness");
    const checks = [
      zipProblems.length
        ? failed("zip", zipProblems)
        : check("zip", true, `${z.infos.length} members, safe to read; their hashes match SHA256SUMS and the manifest`),
      mediaCheck,
      this.timeline(media),
      signature,
      source,
      inclusion,
      time,
      witness.check,
      c2pa,
    ];
    const [factsCheck, facts] = await this.facts(media);
    checks.push(factsCheck);
    checks.push(claimCheck(this.members, this.clip, this.clipError, check, failed, printable));
    if (facts !== null) facts.witnessed = witness.check.ok ? witness.cosigned.map((c) => `${c.name} at ${utc(c.time * 1000)}`) : [];
    lap("facts");
    return {
      bundle: this.file.name,
      checks,
      facts,
      video: this.video,
      views: this.views,
      view_results: this.viewResults,
      timings,
      whole_hasher: this.wholeHasher ?? null,
    };
  }

  // -- members (the zip check's second half) -------------------------------------------

  async readMembers() {
    const z = this.z;
    const problems = [];
    const known = new Set([...REQUIRED, ...VIDEOS, ...OPTIONAL]);
    const views = [];
    for (const info of z.infos) {
      const name = info.filename;
      if (viewOf(name) !== null) {
        // Whether the clip has this view is the media check's question (signed entry).
        views.push(name);
        continue;
      }
      if (known.has(name) || name === "entries/" || name === "claim/") continue;
      if (name.toLowerCase().includes("trust")) {
        problems.push(
          problem(
            `unexpected member ${pyRepr(name)}: a trust file inside a bundle is never used (trust comes only from --trust); it was ignored`,
            "no trust file in the bundle",
            name,
          ),
        );
      } else {
        problems.push(problem(`unexpected member ${pyRepr(name)}`, "only the bundle format's members", name));
      }
    }
    for (const name of REQUIRED) {
      if (z.find(name) === null) problems.push(problem(`member ${pyRepr(name)} is missing`, name, "nothing"));
    }
    const videos = VIDEOS.filter((v) => z.find(v) !== null);
    if (videos.length !== 1) {
      problems.push(problem(`expected one video (${VIDEOS.join(" or ")}), found ${videos.length}`, "one video", videos.join(", ") || "none"));
    }
    const optional = [];
    for (const name of [...REQUIRED, ...OPTIONAL]) {
      const info = z.find(name);
      if (info === null) continue;
      if (OPTIONAL.includes(name)) optional.push(name);
      if (name === C2PA_CLIP) continue;
      try {
        this.members[name] = await z.read(info, CAPS[name]);
      } catch (e) {
        if (!(e instanceof MemberError)) throw e;
        problems.push(e.problem);
      }
    }
    const raw = this.members[MANIFEST];
    if (raw !== undefined) {
      const fmt = formatOf(raw);
      if (typeof fmt === "string" && fmt.startsWith("packseal-bundle/") && fmt !== "packseal-bundle/v1") {
        throw new BundleError(`${this.file.name} is a ${fmt} bundle; this page reads packseal-bundle/v1`, "update the page");
      }
      try {
        this.manifest = parseManifest(raw);
        if (fmt !== "packseal-bundle/v1") throw new FormatError(`manifest format must be 'packseal-bundle/v1'`);
      } catch (e) {
        if (!(e instanceof FormatError)) throw e;
        this.manifest = null;
        problems.push(problem(`${MANIFEST} is not valid: ${e.message}`, "packseal-bundle/v1", String(fmt)));
      }
    }
    this.listed = { videos, optional, views };
    return problems;
  }

  /** The zip check's member hashes; after the media check, which hashes the sealed video
   * whole in its own pass over it (this.videoHashes), so the video is read once. */
  async hashProblems() {
    const { videos, optional, views } = this.listed;
    const problems = [];
    const actual = {};
    for (const [n, b] of Object.entries(this.members)) actual[n] = await sha256hex(b);
    // The videos are not in memory; unhashed, a video whose SHA256SUMS line did not
    // match still got "their hashes match SHA256SUMS" (as in verifier/_members.py).
    for (const name of [...videos, ...views, ...optional.filter((n) => n === C2PA_CLIP)]) {
      const info = this.z.find(name);
      if (info === null) continue;
      if (this.videoHashes[name] !== undefined) {
        actual[name] = this.videoHashes[name];
        continue;
      }
      try {
        actual[name] = await sha256Blob(await this.z.openVideo(info, CAPS[name] ?? MAX_VIDEO));
      } catch (e) {
        if (!(e instanceof MemberError)) throw e;
        problems.push(e.problem);
      }
    }
    const sumsRaw = this.members[SUMS];
    if (sumsRaw !== undefined) {
      const [sums, bad] = parseSums(sumsRaw);
      if (bad) problems.push(problem(`${SUMS}: ${bad}`, "lines '<sha256>  <name>'", bad));
      const listed = new Set([...REQUIRED, ...videos, ...views, ...optional].filter((n) => n !== SUMS));
      for (const name of [...listed].filter((n) => !(n in sums)).sort()) {
        problems.push(problem(`${SUMS} does not list ${pyRepr(name)}`, name, "no line"));
      }
      for (const name of Object.keys(sums).filter((n) => !listed.has(n)).sort()) {
        problems.push(problem(`${SUMS} lists ${pyRepr(name)}, which is not in the bundle`));
      }
      for (const name of Object.keys(sums).sort()) {
        if (name in actual && actual[name] !== sums[name]) {
          problems.push(problem(`member ${pyRepr(name)}: sha256 differs from ${SUMS} (changed after export)`, sums[name], actual[name]));
        }
      }
    }
    const m = this.manifest;
    if (m === null) return problems;
    if (!videos.includes(m.video)) {
      problems.push(problem(`the manifest names video ${pyRepr(m.video)}, the bundle holds ${videos.join(", ") || "none"}`, m.video, videos.join(", ") || "none"));
    }
    const allowed = new Set([...REQUIRED, ...VIDEOS, ...OPTIONAL]);
    for (const name of Object.keys(m.members).filter((n) => !allowed.has(n) && viewOf(n) === null).sort()) {
      problems.push(problem(`the manifest lists an unknown member ${pyRepr(name)}`));
    }
    for (const v of m.views) {
      if (!views.includes(v.member)) {
        problems.push(problem(`the manifest names ${pyRepr(v.member)} for view ${v.view}, which is not in the bundle`, v.member, "nothing"));
      }
    }
    for (const name of Object.keys(m.members).sort()) {
      const item = m.members[name];
      const info = this.z.find(name);
      if (name in actual && actual[name] !== item.sha256) {
        problems.push(problem(`member ${pyRepr(name)}: sha256 differs from the manifest (changed after export)`, item.sha256, actual[name]));
      } else if (info !== null && info.fileSize !== item.size) {
        problems.push(problem(`member ${pyRepr(name)} is ${info.fileSize} bytes, the manifest says ${item.size}`, String(item.size), String(info.fileSize)));
      }
    }
    return problems;
  }

  // -- entries ------------------------------------------------------------------------

  async parseEntries() {
    const data = this.members[CLIP_ENTRY];
    if (data === undefined) this.clipError = `${CLIP_ENTRY} is missing`;
    else {
      try {
        this.clip = await parseAs("clip", data);
      } catch (e) {
        if (!(e instanceof FormatError)) throw e;
        this.clipError = `${CLIP_ENTRY} is not a valid clip entry: ${e.message}`;
      }
    }
    const key = this.members[KEY_ENTRY];
    if (key === undefined) this.stationError = `${KEY_ENTRY} is missing`;
    else {
      try {
        this.station = await parseAs("station-key", key);
      } catch (e) {
        if (!(e instanceof FormatError)) throw e;
        this.stationError = `${KEY_ENTRY} is not a valid station-key entry: ${e.message}`;
      }
    }
  }

  // -- media --------------------------------------------------------------------------

  async media() {
    const clip = this.clip;
    if (clip === null) return [check("media", null, `not checked: ${this.clipError}`), null];
    const m = this.manifest;
    const n = clip.segments.length;
    const [first, last] = m === null ? [0, n - 1] : [m.first, m.last];
    if (m !== null && (m.segmentCount !== n || last >= n)) {
      return [
        check("media", false, `the manifest declares segments ${first + 1}..${last + 1} of ${m.segmentCount}; the signed entry has ${n}`, `segments within 1..${n}`, `${first + 1}..${last + 1} of ${m.segmentCount}`),
        null,
      ];
    }
    const name = VIDEOS.find((v) => this.z.find(v) !== null);
    if (name === undefined) return [check("media", false, "the bundle holds no video", CLIP, "nothing"), null];
    let video;
    try {
      video = await this.z.openVideo(this.z.find(name), CAPS[name]);
    } catch (e) {
      if (!(e instanceof MemberError)) throw e;
      return [failed("media", [e.problem]), null];
    }
    this.video = { name, blob: video };
    const extra = this.notViews(clip);
    if (name === DERIVED) {
      const derived = await this.derived(video, clip, m, first, last);
      return [extra.length ? failed("media", extra) : derived, { first, last, video: name, derived: true, views: [] }];
    }
    const parts = allViews(clip);
    const several = parts.length > 1;
    const span = { first, last, video: name, derived: false, views: [] };
    const [problems, said] = await this.sealed(video, name, parts[0], first, last, m === null ? null : m.timeline, several);
    if (!several) {
      problems.push(...extra);
      return [problems.length ? failed("media", problems) : check("media", true, said), span];
    }
    const viewSaid = [`${parts[0].view} (${name}): ${said}`];
    const result = (view, video, found, offset) => {
      const named = `view ${view} (${video}): `; // said once, by the caption
      const problems = found.map((p) => (p.message.startsWith(named) ? p.message.slice(named.length) : p.message));
      return { view, video, ok: found.length === 0, problems, offset_ms: offset };
    };
    this.viewResults.push(result(parts[0].view, name, [...problems], 0));
    for (const part of parts.slice(1)) {
      const [lo, hi] = viewSpan(part, parts[0], first, last);
      const member = viewMember(part.view);
      span.views.push({ view: part.view, member, first: lo, last: hi });
      const [found, partSaid] = await this.view(m, part, member, lo, hi);
      problems.push(...found);
      viewSaid.push(`${part.view} (${member}): ${partSaid}`);
      this.viewResults.push(result(part.view, member, found, part.segments[lo].start - clip.segments[first].start));
    }
    problems.push(...extra);
    if (problems.length) return [failed("media", problems), span];
    return [check("media", true, `${parts.length} views; ${viewSaid.join("; ")}`), span];
  }

  /** A view-shaped member (clip.<name>.mp4) the signed entry does not name as a further
   * view, in any bundle (verifier/_media.py _not_views). */
  notViews(clip) {
    const names = viewNames(clip);
    const named = names.slice(1);
    const said = named.length ? `its signed entry names: ${names.join(", ")}` : "its signed entry names no further views";
    return this.z.infos
      .filter((info) => viewOf(info.filename) !== null && !named.includes(viewOf(info.filename)))
      .map((info) => problem(`${info.filename} is not a view of this clip (${said})`, [...named].sort().map(viewMember).join(", ") || "no clip.<view>.mp4 member", info.filename));
  }

  /** A further view's video (verifier/_media.py _view): where the manifest says,
   * holding what the signed entry names. */
  async view(m, part, member, first, last) {
    const where = `view ${part.view} (${member})`;
    const info = this.z.find(member);
    if (info === null) {
      return [[problem(`${where}: the view's video is missing from the bundle (the signed entry names view ${part.view})`, member, "nothing")], ""];
    }
    const said = m === null ? null : (m.views.find((v) => v.view === part.view) ?? null);
    if (m !== null && (said === null || said.member !== member)) {
      return [[problem(`${where}: manifest.json does not describe this view`, `a views item for ${part.view} naming ${member}`, said === null ? "none" : said.member)], ""];
    }
    const n = part.segments.length;
    if (said !== null && (said.first !== first || said.last !== last || said.segmentCount !== n)) {
      return [
        [
          problem(
            `${where}: the manifest declares segments ${said.first + 1}..${said.last + 1} of ${said.segmentCount}; beside the primary view's segments the bundle carries the view's ${first + 1}..${last + 1} of ${n}`,
            `segments ${first + 1}..${last + 1} of ${n}`,
            `${said.first + 1}..${said.last + 1} of ${said.segmentCount}`,
          ),
        ],
        "",
      ];
    }
    let video;
    try {
      video = await this.z.openVideo(info, MAX_VIDEO);
    } catch (e) {
      if (!(e instanceof MemberError)) throw e;
      return [[{ ...e.problem, message: `${where}: ${e.problem.message}` }], ""];
    }
    this.views.push({ view: part.view, name: member, blob: video });
    return this.sealed(video, member, part, first, last, said === null ? null : said.timeline, true);
  }

  /** One view's video against its signed init and segments (verifier/_media.py
   * _sealed): [problems, what passed]. ``several``: messages name the view. */
  async sealed(video, name, part, first, last, timeline, several) {
    const prefix = several ? `view ${part.view} (${name}): ` : "";
    const n = part.segments.length;
    const size = video.size;
    const segments = part.segments.slice(first, last + 1).reduce((t, r) => t + r.bytes, 0);
    if (size > segments + MAX_INIT_BYTES) {
      return [
        [problem(`${prefix}${name} is ${size} bytes, but segments ${first + 1}..${last + 1} total ${segments} bytes (plus an init section of about a kilobyte): bytes were added`, `at most ${segments + MAX_INIT_BYTES} bytes`, `${size} bytes`)],
        "",
      ];
    }
    let layout;
    let hashes;
    try {
      let whole;
      let hasher;
      ({ layout, hashes, whole, hasher } = await splitAndHash(video, this.progress, this.options.bufferBytes, timeline));
      if (name === CLIP) this.wholeHasher = hasher;
      if (whole !== null) this.videoHashes[name] = whole;
    } catch (e) {
      if (!(e instanceof MediaFormatError)) throw e;
      return [[problem(`${prefix}${name}: ${e.message}`, "init + whole fragments", e.offset !== null ? `offset ${e.offset}` : null)], ""];
    }
    const problems = [];
    if (hashes[0] !== part.init) {
      problems.push(problem(`${prefix}init section (bytes 0-${layout.init.end}): sha256 does not match the entry`, part.init, hashes[0]));
    }
    const [mismatched, after] = matchFragments(part.segments, first, hashes.slice(1), layout.fragments);
    problems.push(...mismatched.map((p) => ({ ...p, message: prefix + p.message })));
    const gotLast = after - 1;
    if (problems.length === 0 && gotLast !== last) {
      problems.push(
        problem(
          `${prefix}${name} holds segments ${first + 1}..${gotLast + 1} of ${n}; the manifest declares ${first + 1}..${last + 1}: ` +
            (gotLast < last ? "segments are missing" : "segments were added"),
          `segments ${first + 1}..${last + 1}`,
          `segments ${first + 1}..${gotLast + 1}`,
        ),
      );
    }
    if (problems.length) return [problems, ""];
    const what = first !== 0 || last !== n - 1 ? `excerpt: segments ${first + 1}..${last + 1} of ${n}` : `all ${n} segments`;
    const moved =
      timeline === null
        ? ""
        : ` (with their decode times put back where the recording had them: ${timeline.map((t) => `track ${t.track} +${t.decode}` + (t.emptyEdit ? `, empty edit ${t.emptyEdit}` : "")).join(", ")}; ${name} plays from 0)`;
    return [[], `${what}; the init section and every fragment match the signed entry${moved}, in order, and nothing else is in ${name}`];
  }

  async derived(video, clip, m, first, last) {
    const digest = await sha256Blob(video);
    this.videoHashes[DERIVED] = digest;
    if (m !== null && m.derived !== null && m.derived.sha256 !== digest) {
      return check("media", false, `${DERIVED}: sha256 differs from the manifest's (changed after export)`, m.derived.sha256, digest);
    }
    const sealed = m === null ? "" : ` (sealed bytes: sha256 ${m.sealedSha256})`;
    return check(
      "media",
      null,
      `derived copy \u2014 not the sealed bytes: ${DERIVED} (sha256 ${digest}) is a re-encoded copy of segments ${first + 1}..${last + 1} of sealed clip ${clip.clip_id}${sealed}; its bytes cannot match the signed entry and are not verified`,
      "the sealed bytes (clip.mp4)",
      "a derived copy (derived.mp4)",
    );
  }

  // -- timeline -----------------------------------------------------------------------

  timeline(media) {
    const clip = this.clip;
    if (clip === null) return check("timeline", null, `not checked: ${this.clipError}`);
    const [first, last] = media === null ? [0, clip.segments.length - 1] : [media.first, media.last];
    const parts = allViews(clip);
    if (parts.length === 1) return contiguous(clip.segments, first, last, "");
    const spans = new Map(media === null ? [] : media.views.map((v) => [v.view, [v.first, v.last]]));
    const checks = [contiguous(clip.segments, first, last, parts[0].view)];
    for (const part of parts.slice(1)) {
      const [lo, hi] = spans.get(part.view) ?? [0, part.segments.length - 1];
      checks.push(contiguous(part.segments, lo, hi, part.view));
    }
    const bad = checks.filter((c) => !c.ok);
    if (bad.length) return check("timeline", false, bad.map((c) => c.message).join("; "), bad[0].expected, bad[0].found);
    return check("timeline", true, checks.map((c) => c.message).join("; "));
  }

  // -- signature ----------------------------------------------------------------------

  async signature() {
    const { station, clip, trust } = this;
    if (station === null) return check("signature", false, this.stationError);
    const root = trust.root;
    if (station.root !== root.vkey) {
      return check("signature", false, `station key for ${station.origin} is certified by root '${station.root}', expected the trusted root '${root.vkey}'`, root.vkey, station.root);
    }
    let cert;
    try {
      cert = signatureOf(station);
    } catch (e) {
      if (!(e instanceof FormatError)) throw e;
      return check("signature", false, e.message, root.vkey, station.root);
    }
    if (!(await root.verify(signingBytes(station), cert))) {
      return check("signature", false, `station key for ${station.origin}: the root's certification signature does not verify`, root.vkey, station.root);
    }
    const listed = trust.logs.filter((g) => g.origin === station.origin);
    if (listed.length === 0) {
      const origins = trust.logs.map((g) => g.origin).join(", ") || "none";
      return check("signature", false, `the station key is for log ${station.origin}, which the trust file does not list (it lists: ${origins})`, origins, station.origin);
    }
    const key = listed.find((g) => g.vkey === station.vkey);
    if (key === undefined) {
      return check("signature", false, `the trust file lists another key for log ${station.origin} than the certification names`, listed[0].vkey, station.vkey);
    }
    const index = this.claimedIndex();
    if (index !== null && !key.signsEntry(index)) {
      return check(
        "signature",
        false,
        `the clip (log index ${index}) is signed by station key ${station.vkey}, which the trust file marks ${key.revokedReason || "revoked"} after index ${key.revokedAfter}: its signatures after that point do not count`,
        `a signature at index ${key.revokedAfter} or before, or by the key that replaced it`,
        `index ${index}`,
      );
    }
    if (clip === null) return check("signature", false, this.clipError);
    const sv = key.verifier;
    const expected = `${sv.name}+${sv.keyId.toString(16).padStart(8, "0")}`;
    if (clip.key !== expected) {
      return check("signature", false, `clip ${clip.clip_id} names signing key '${clip.key}', expected '${expected}'`, expected, clip.key);
    }
    let sig;
    try {
      sig = signatureOf(clip);
    } catch (e) {
      if (!(e instanceof FormatError)) throw e;
      return check("signature", false, e.message, `a valid signature by ${expected}`, "an invalid signature");
    }
    if (!(await sv.verify(signingBytes(clip), sig))) {
      return check("signature", false, `clip ${clip.clip_id}: station signature does not verify: the entry was changed after it was signed, or signed by another key`, `a valid signature by ${expected}`, "an invalid signature");
    }
    if (clip.station !== station.station) {
      return check("signature", false, `the clip names station '${clip.station}', the certified key is station '${station.station}''s`, station.station, clip.station);
    }
    return check("signature", true, `clip signed by station ${station.station}'s key ${clip.key}, certified by the trusted merchant root ${root.name}+${root.keyId.toString(16).padStart(8, "0")} (${trust.merchant})`);
  }

  claimedIndex() {
    const raw = this.members[CLIP_PROOF];
    if (raw === undefined) return null;
    try {
      return parseProof(raw).index;
    } catch (e) {
      if (e instanceof FormatError) return null;
      throw e;
    }
  }

  // -- inclusion ----------------------------------------------------------------------

  async inclusion() {
    const proofs = [];
    const problems = [];
    for (const [label, proofName, entryName] of [["clip", CLIP_PROOF, CLIP_ENTRY], ["station-key", KEY_PROOF, KEY_ENTRY]]) {
      const raw = this.members[proofName];
      const entry = this.members[entryName];
      if (raw === undefined || entry === undefined) {
        problems.push(problem(`${label}: ${proofName} or ${entryName} is missing`));
        continue;
      }
      try {
        proofs.push([label, proofName, entryName, parseProof(raw), entry]);
      } catch (e) {
        if (!(e instanceof FormatError)) throw e;
        problems.push(problem(`${proofName} is not a C2SP tlog-proof: ${e.message}`));
      }
    }
    if (problems.length) return failed("inclusion", problems);
    const wantOrigin = this.station === null ? null : this.station.origin;
    const opened = {};
    for (const [label, proofName, entryName, proof, entry] of proofs) {
      const size = checkpointSize(proof.checkpoint);
      const verifiers = this.trust.logs.filter((g) => g.signsCheckpoint(size)).map((g) => g.verifier);
      const retired = this.trust.logs.filter((g) => !g.signsCheckpoint(size) && g.origin === wantOrigin);
      let signed;
      try {
        signed = await verifyProof(proof, entry, verifiers);
      } catch (e) {
        if (e instanceof SignatureError) {
          const why = retired.slice(0, 1).map((g) => ` (key ${g.vkey.split("+")[1]} was ${g.revokedReason || "revoked"} after index ${g.revokedAfter}: it cannot sign a checkpoint of size ${size})`).join("");
          problems.push(problem(`${proofName}: ${e.message}${why}`, "a checkpoint signed by the key the trust file lists for its log", "no such signature"));
        } else if (e instanceof ProofError) {
          problems.push(problem(`${proofName}: ${e.message}`, `${entryName} as leaf ${proof.index} under the checkpoint's root`, "another root: the entry, the index or the proof hashes were changed"));
        } else if (e instanceof FormatError) {
          problems.push(problem(`${proofName}: ${e.message}`, "a C2SP checkpoint note"));
        } else throw e;
        continue;
      }
      const origin = signed.checkpoint.origin;
      if (wantOrigin !== null && origin !== wantOrigin) {
        problems.push(problem(`${proofName}: the checkpoint is of log ${origin}, but the clip's station key signs log ${wantOrigin}`, wantOrigin, origin));
        continue;
      }
      opened[label] = [proof, signed];
    }
    if (problems.length) return failed("inclusion", problems);
    const [clipProof, clipCp] = opened.clip;
    const [keyProof, keyCp] = opened["station-key"];
    if (keyProof.index >= clipProof.index) {
      return check("inclusion", false, `the station key was certified at index ${keyProof.index}, not before the clip at index ${clipProof.index}`, `an index below ${clipProof.index}`, String(keyProof.index));
    }
    this.checkpoint = clipCp;
    this.clipProof = clipProof;
    this.keyProof = keyProof;
    const cp = clipCp.checkpoint;
    const same = clipCp.raw.length === keyCp.raw.length && clipCp.raw.every((b, i) => b === keyCp.raw[i]);
    const where = same ? `the same checkpoint of size ${cp.size}` : `checkpoints of size ${cp.size} and ${keyCp.checkpoint.size}`;
    return check("inclusion", true, `clip entry (index ${clipProof.index}) and station key (index ${keyProof.index}) lead to ${where} of log ${cp.origin}, signed by the trusted log key`);
  }

  // -- time, witness, c2pa ------------------------------------------------------------

  /** The failed check if the entry's footage is dated after the entry was sealed (as
   * verifier/_timecheck.py): no time-stamp is needed to see that. */
  afterSeal() {
    const clip = this.clip;
    if (clip === null) return null;
    const [label, latest] = footageLatest(clip);
    if (latest <= clip.time + SEAL_SKEW_MS) return null;
    return check(
      "time",
      false,
      `${label} is dated ${utc(latest)}, ${((latest - clip.time) / 1000).toFixed(0)} s after the station sealed the entry (${utc(clip.time)}): footage cannot be sealed before it was recorded, so these times are not true (a source with a chosen epoch, or a clock that jumped)`,
      `footage times at or before ${utc(clip.time + SEAL_SKEW_MS)}`,
      utc(latest),
    );
  }

  async time() {
    const afterSeal = this.afterSeal();
    if (afterSeal !== null) return afterSeal;
    const request = this.members[STAMP_REQUEST];
    const response = this.members[STAMP_RESPONSE];
    const required = this.trust.tsaRoots.length > 0;
    if (request === undefined && response === undefined) {
      if (required) {
        return check("time", false, `the trust file requires an RFC 3161 time-stamp of the checkpoint; the bundle has none (${STAMP_RESPONSE})`, "a time-stamp by a TSA the trust file lists", "none");
      }
      return check("time", true, "no trusted time-stamp required by the trust file");
    }
    if (request === undefined || response === undefined) {
      return check("time", false, `the time-stamp is incomplete: ${request === undefined ? STAMP_REQUEST : STAMP_RESPONSE} is missing`);
    }
    if (!required) {
      return check("time", true, "the bundle carries an RFC 3161 time-stamp, but the trust file lists no TSA root to check it with: it was not relied on");
    }
    if (this.checkpoint === null) return check("time", null, "not checked: no verified checkpoint to stamp");
    const text = this.checkpoint.note.text;
    let stamp;
    try {
      stamp = await checkResponse(text, request, response, loadRoots(this.trust.tsaRoots));
    } catch (e) {
      if (!(e instanceof TimestampError || e instanceof FormatError)) throw e;
      return check("time", false, `${STAMP_RESPONSE}: ${e.message}`, "a time-stamp of this checkpoint by a TSA the trust file lists", "one that does not verify");
    }
    this.stamp = stamp;
    const bound = `existed before ${utc(stamp.genMs)} per ${stamp.tsa}`;
    const clip = this.clip;
    if (clip !== null) {
      const [label, latest] = footageLatest(clip);
      if (latest > stamp.genMs + CLOCK_SKEW_MS) {
        return check(
          "time",
          false,
          `${label} is dated ${utc(latest)}, after the TSA's genTime ${utc(stamp.genMs)} of the checkpoint that logs it: footage dated after its own time-stamp cannot be true (a source with a chosen epoch, or a station clock set ahead)`,
          `footage times at or before ${utc(stamp.genMs + CLOCK_SKEW_MS)} (genTime + ${CLOCK_SKEW_MS / 60_000} min)`,
          utc(latest),
        );
      }
      if (clip.time > stamp.genMs + CLOCK_SKEW_MS) {
        return check(
          "time",
          false,
          `the station clock says the clip was sealed at ${utc(clip.time)}, after the TSA's genTime ${utc(stamp.genMs)}: the station's times cannot be true`,
          `at or before ${utc(stamp.genMs)}`,
          utc(clip.time),
        );
      }
    }
    const clock = clip === null ? "" : `; its footage (${utc(clip.segments.length ? clip.segments[0].start : clip.started)} to ${utc(footageLatest(clip)[1])}) and its sealing (${utc(clip.time)}) by the station clock are before it`;
    return check("time", true, `this clip ${bound} (RFC 3161 time-stamp of checkpoint size ${this.checkpoint.checkpoint.size})${clock}`);
  }

  async witness() {
    const trust = this.trust;
    const k = trust.witnessQuorum;
    const n = trust.witnesses.length;
    const cp = this.checkpoint;
    if (cp === null) {
      if (k === 0) return { check: check("witness", true, "no witness cosignature required"), cosigned: [] };
      return { check: check("witness", null, "not checked: no verified checkpoint"), cosigned: [] };
    }
    if (n === 0) return { check: check("witness", true, "no witness cosignature required by the trust file"), cosigned: [] };
    let found;
    try {
      found = await cosignatures(cp.raw, trust.witnesses);
    } catch (e) {
      if (!(e instanceof SignatureError || e instanceof FormatError)) throw e;
      return { check: check("witness", false, e.message, "valid cosignatures by the trust file's witnesses", "an altered or forged cosignature"), cosigned: [] };
    }
    const names = found.map((c) => `${c.name} at ${utc(c.time * 1000)}`).join(", ") || "none";
    const distinct = new Set(found.map((c) => c.name)).size;
    if (distinct < k) {
      return { check: check("witness", false, `the checkpoint has valid cosignatures by ${distinct} witness(es) (${names}); the trust file requires ${k} of its ${n} witnesses`, `${k} of ${n}`, String(distinct)), cosigned: found };
    }
    if (k === 0) return { check: check("witness", true, `no cosignature required; cosigned by: ${names}`), cosigned: found };
    return {
      check: check("witness", true, `checkpoint size ${cp.checkpoint.size} cosigned by ${distinct} of ${n} witnesses (${k} required): ${names}; each saw no conflicting history of the log`),
      cosigned: found,
    };
  }

  c2pa(media) {
    const present = this.z.find(C2PA_CLIP) !== null;
    const required = this.trust.c2paRoots.length > 0;
    if (!present) {
      if (required) {
        return check("c2pa", false, `the trust file requires C2PA Content Credentials; the bundle has no ${C2PA_CLIP}`, C2PA_CLIP, "nothing");
      }
      return check("c2pa", true, "no Content Credentials required by the trust file");
    }
    if (!required) {
      return check("c2pa", true, `the bundle carries ${C2PA_CLIP}, but the trust file lists no C2PA CA: it was not checked and is not evidence (clip.mp4 is)`);
    }
    if (this.clip === null || this.checkpoint === null || this.clipProof === null || media.ok !== true) {
      return check("c2pa", null, "not checked: the clip, its proof or its video did not verify");
    }
    return check(
      "c2pa",
      null,
      `${NOT_HERE}: the trust file requires C2PA Content Credentials on ${C2PA_CLIP}; no browser library validates them, so they are not checked here (clip.mp4, which carries the seal, is)`,
      "Content Credentials Trusted under the trust file's C2PA CA",
      "not checked in the browser",
    );
  }

  // -- source (verifier/verify.py _source) ----------------------------------------------

  source() {
    const clip = this.clip;
    if (clip === null) return check("source", null, `not checked: ${this.clipError}`);
    const said = describeSource(clip.source);
    const live = clip.source !== undefined && LIVE_SOURCES.includes(clip.source.kind);
    if (this.trust.requireLiveSource && !live) {
      return check(
        "source",
        false,
        `the trust file requires live footage (a camera or an RTSP stream); this clip's footage is from: ${said}`,
        "a live camera or RTSP stream",
        said,
      );
    }
    if (live) return check("source", true, said);
    return check("source", true, `${said} (the trust file does not require live footage)`);
  }

  // -- facts --------------------------------------------------------------------------

  async facts(media) {
    const { clip, station, manifest: m } = this;
    if (clip === null) return [check("facts", null, `not checked: ${this.clipError}`), null];
    const n = clip.segments.length;
    let [first, last] = media === null ? [0, n - 1] : [media.first, media.last];
    first = Math.min(first, n - 1);
    last = Math.min(last, n - 1);
    const cp = this.checkpoint === null ? null : this.checkpoint.checkpoint;
    const facts = {
      order_id: clip.order_id,
      tracking_ids: clip.tracking_ids,
      clip_id: clip.clip_id,
      status: clip.status,
      end_reason: clip.end_reason,
      station: clip.station,
      station_name: station === null ? null : station.station_name,
      merchant: station === null ? null : station.merchant,
      operator: clip.operator,
      origin: station !== null ? station.origin : clip.key.split("+")[0],
      log_index: this.clipProof === null ? null : this.clipProof.index,
      station_key_index: this.keyProof === null ? null : this.keyProof.index,
      checkpoint_size: cp === null ? null : cp.size,
      checkpoint_root: cp === null ? null : b64encode(cp.rootHash),
      entry_hash: hex(await leafHash(this.members[CLIP_ENTRY])),
      start_ms: clip.segments[first].start,
      end_ms: clip.segments[last].end,
      started_ms: clip.started,
      ended_ms: clip.ended,
      segments: [first + 1, last + 1, n],
      video: media === null ? null : media.video,
      derived: media !== null && media.derived,
      zone: clip.zone || (m === null ? null : m.zone),
      zone_signed: Boolean(clip.zone),
      source: describeSource(clip.source),
      source_live: clip.source === undefined ? null : LIVE_SOURCES.includes(clip.source.kind),
      views: viewFacts(clip, media, first, last),
    };
    const problems = [];
    if (m !== null) {
      const claims = [
        ["order id", m.orderId, clip.order_id],
        ["clip id", m.clipId, clip.clip_id],
        ["log origin", m.origin, facts.origin],
        ["log index", m.clipIndex, facts.log_index],
        ["station-key index", m.stationKeyIndex, facts.station_key_index],
        ["checkpoint size", m.checkpointSize, facts.checkpoint_size],
      ];
      for (const [what, said, proven] of claims) {
        if (proven !== null && said !== proven) {
          problems.push(problem(`the manifest's ${what} is ${said}, the bundle's entry and proof say ${proven}`, String(proven), String(said)));
        }
      }
    }
    problems.push(...readmeProblems(this.members[README], clip));
    if (problems.length) return [failed("facts", problems), facts];
    const tracking = clip.tracking_ids.join(", ") || "none";
    return [
      check("facts", true, `order ${clip.order_id}, tracking ${tracking}, station ${clip.station}, ${utc(facts.start_ms)} to ${utc(facts.end_ms)} (${secs(facts.end_ms - facts.start_ms)} s), clip ${clip.clip_id} (${clip.status}, ${clip.end_reason}); the README agrees; the sheet's QR code was not checked here (no QR decoder in the page: \`packseal verify\` checks it); neither is evidence by itself`),
      facts,
    ];
  }
}

/** The ``timeline`` check of one view's segments first..last (verifier/verify.py
 * _contiguous; ``view`` "": the clip's only one). */
function contiguous(segments, first, last, view) {
  const refs = segments.slice(first, last + 1);
  const named = view ? `view ${view}: ` : "";
  const problems = [];
  for (let i = 1; i < refs.length; i++) {
    const a = refs[i - 1];
    const b = refs[i];
    const k = first + i;
    const step = b.start - a.end;
    if (step > GAP_TOLERANCE_MS) {
      problems.push(problem(`${named}gap of ${secs(step)} s between segment ${k} (ends ${utc(a.end, true)}) and segment ${k + 1} (starts ${utc(b.start, true)})`, `segment ${k + 1} to start at ${utc(a.end, true)}`, utc(b.start, true)));
    } else if (step < -GAP_TOLERANCE_MS) {
      problems.push(problem(`${named}segments ${k} and ${k + 1} overlap by ${secs(-step)} s`, `segment ${k + 1} to start at ${utc(a.end, true)}`, utc(b.start, true)));
    }
  }
  if (problems.length) return failed("timeline", problems);
  const start = refs[0].start;
  const end = refs[refs.length - 1].end;
  return check("timeline", true, `${named}${refs.length} segment(s), contiguous: ${utc(start)} to ${utc(end)} (${secs(end - start)} s)`);
}

/** Every view of a clip filmed by several cameras, the primary first (verifier/_factcheck.py
 * _view_facts): [] for a one-camera station's clip. */
function viewFacts(clip, media, first, last) {
  if (clip.view === undefined) return [];
  const parts = allViews(clip);
  const spans = new Map(media === null ? [] : media.views.map((v) => [v.view, v]));
  const out = [{ view: parts[0].view, video: media === null ? null : media.video, segments: [first + 1, last + 1, parts[0].segments.length] }];
  for (const part of parts.slice(1)) {
    const n = part.segments.length;
    const span = spans.get(part.view);
    const [lo, hi] = span === undefined ? [0, n - 1] : [span.first, span.last];
    out.push({ view: part.view, video: span === undefined ? null : span.member, segments: [lo + 1, hi + 1, n] });
  }
  return out;
}

function parseSums(data) {
  const out = {};
  let text;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(data);
  } catch {
    return [out, "not UTF-8"];
  }
  // eslint-disable-next-line no-control-regex
  const lines = text.split(/\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]/u);
  if (lines.length && lines[lines.length - 1] === "") lines.pop();
  for (let i = 0; i < lines.length; i++) {
    const match = /^([0-9a-f]{64}) {2}(\S.*)$/su.exec(lines[i]);
    if (match === null) return [out, `line ${i + 1} is not '<sha256>  <name>'`];
    if (match[2] in out) return [out, `line ${i + 1} lists '${match[2]}' again`];
    out[match[2]] = match[1];
  }
  return [out, null];
}

function matchFragments(refs, first, found, ranges) {
  const position = new Map(refs.map((r, i) => [r.sha256, i]));
  const problems = [];
  const n = refs.length;
  let want = first;
  found.forEach((h, k) => {
    if (want < n && h === refs[want].sha256) {
      want += 1;
      return;
    }
    const r = ranges[k];
    const where = `fragment ${k + 1} (bytes ${r.start}-${r.end})`;
    const expected = want < n ? refs[want].sha256 : "the end of the file";
    const j = position.get(h);
    let what;
    if (j === undefined) what = `is not a segment of this clip (expected segment ${want + 1} of ${n})`;
    else if (j < want) what = `is segment ${j + 1} again: duplicated or out of order (expected ${want + 1})`;
    else {
      what = `is segment ${j + 1}: segment(s) ${want + 1}..${j} are missing or out of order`;
      want = j + 1;
    }
    if (expected === "the end of the file" && j === undefined) what = `is extra: the entry's ${n} segments ended before it`;
    problems.push(problem(`${where} ${what}`, expected, h));
  });
  return [problems, want];
}

export { concat };

/** storage/text.py's printable(): any text as one safe line (escapes as Python's). */
const UNSAFE = /^[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}]$/u;
const MARK = /^[\p{Mn}\p{Me}]$/u;
export function printable(text) {
  let out = "";
  let marks = 0;
  for (const ch of text) {
    const n = ch.codePointAt(0);
    const hexOf = (w) => n.toString(16).padStart(w, "0");
    const esc = n < 0x100 ? `\\x${hexOf(2)}` : n < 0x10000 ? `\\u${hexOf(4)}` : `\\U${hexOf(8)}`;
    if (MARK.test(ch)) {
      marks += 1;
      if (marks > 2) {
        out += esc;
        continue;
      }
    } else marks = 0;
    if (UNSAFE.test(ch)) out += esc;
    else if (ch === "\\") out += "\\\\";
    else out += ch;
  }
  return out;
}

/** verifier/_human.py: the README must name the proven order and clip (the sheet's QR
 * code is checked by the CLI only: the page has no QR decoder). */
function readmeProblems(data, clip) {
  if (data === undefined) return [];
  const said = {};
  for (const line of new TextDecoder().decode(data).split(/\r?\n/).slice(0, 12)) {
    if (line.length > 11) said[line.slice(0, 11).trim()] = line.slice(11);
  }
  const problems = [];
  const order = said.Order;
  if (order !== printable(clip.order_id)) {
    problems.push(problem(`${README} names order ${order ?? "none"}; the signed entry is order ${printable(clip.order_id)}: the README is not this clip's`, printable(clip.order_id), order ?? "no Order line"));
  }
  const clipLine = said.Clip;
  if (clipLine === undefined || !clipLine.startsWith(`${clip.clip_id} `)) {
    problems.push(problem(`${README} names clip ${(clipLine ?? "none").split(" ")[0]}; the signed entry is clip ${clip.clip_id}`, clip.clip_id, clipLine ?? "no Clip line"));
  }
  return problems;
}
