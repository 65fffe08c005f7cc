// The bundle's claim section (claim/), as verifier/_claim_section.py checks it: the
// report is of this clip and order, every packing frame it cites is a segment of this
// clip's signed entry (hash and time), and the section holds its page and exactly the
// strips it names. A report, not evidence by itself: the check says so when it passes.

import { problem } from "./zip.js";

export const CLAIM_JSON = "claim/claim.json";
export const CLAIM_PNG = "claim/claim.png";
export const CLAIM_PDF = "claim/claim.pdf";
export const MAX_CLAIM_PHOTOS = 8;
export const CLAIM_STRIPS = Array.from({ length: MAX_CLAIM_PHOTOS }, (_, i) => `claim/claim-${i + 1}.png`);
export const CLAIM_MEMBERS = [CLAIM_JSON, CLAIM_PNG, CLAIM_PDF, ...CLAIM_STRIPS];
export const CLAIM_CAPS = Object.fromEntries(CLAIM_MEMBERS.map((n) => [n, n === CLAIM_JSON ? 4 << 20 : 16 << 20]));
const CLAIM_FORMAT = "packseal-claim/v1";
const HEX64 = /^[0-9a-f]{64}$/;

const isObject = (v) => typeof v === "object" && v !== null && !Array.isArray(v);
const isInt = (v) => Number.isInteger(v);
const photosOf = (doc) => (Array.isArray(doc.photos) ? doc.photos : []);

/** The ``claim`` check; ``check`` and ``failed`` make the report's check objects. */
export function claimCheck(members, clip, clipError, check, failed, printable) {
  const present = CLAIM_MEMBERS.filter((n) => members[n] !== undefined);
  if (!present.length) return check("claim", true, "no claim report in the bundle");
  const raw = members[CLAIM_JSON];
  if (raw === undefined) {
    return check("claim", false, `the claim section has ${present.join(", ")} but no ${CLAIM_JSON}`, CLAIM_JSON, "nothing");
  }
  let doc;
  try {
    doc = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(raw));
  } catch (e) {
    return check("claim", false, `${CLAIM_JSON} is not JSON: 「${e.message}」`, `a ${CLAIM_FORMAT} report`, "bytes that do not parse");
  }
  if (!isObject(doc) || doc.format !== CLAIM_FORMAT) {
    const said = printable(String(isObject(doc) ? doc.format : Array.isArray(doc) ? "list" : typeof doc)).slice(0, 60);
    return check("claim", false, `${CLAIM_JSON} is not a ${CLAIM_FORMAT} report (format ${said})`, CLAIM_FORMAT, said);
  }
  if (clip === null) return check("claim", null, `not checked: ${clipError}`);
  const problems = [...identity(doc, clip, printable), ...files(doc, members, printable)];
  const [cited, frameProblems] = frames(doc, clip, printable);
  problems.push(...frameProblems);
  if (problems.length) return failed("claim", problems);
  const where = cited.slice(0, 4).join("; ") + (cited.length > 4 ? "; …" : "");
  const said = cited.length
    ? `cites ${cited.length} packing frame(s), each in a segment of this clip's signed entry (${where})`
    : "cites no packing frame (the product was not found in the footage)";
  return check(
    "claim",
    true,
    `included; a report, not evidence by itself: ${CLAIM_JSON} of ${doc.photos.length} buyer photo(s) (not in the bundle; their SHA-256 are in it) ${said}`,
  );
}

function identity(doc, clip, printable) {
  const problems = [];
  for (const [key, proven] of [["clip_id", clip.clip_id], ["order_id", clip.order_id]]) {
    if (doc[key] !== proven) {
      const shown = printable(String(doc[key]));
      problems.push(problem(`${CLAIM_JSON} is a report of ${key.replace("_", " ")} ${shown}; the bundle's signed entry is of ${printable(proven)}`, printable(proven), shown));
    }
  }
  if (!Array.isArray(doc.photos) || !doc.photos.length) problems.push(problem(`${CLAIM_JSON} lists no photos`, "a list of photos", "none"));
  return problems;
}

function files(doc, members, printable) {
  const problems = [CLAIM_PNG, CLAIM_PDF].filter((n) => members[n] === undefined).map((n) => problem(`the claim section has no ${n}`, n, "nothing"));
  const named = new Set();
  photosOf(doc).forEach((photo, i) => {
    const strip = isObject(photo) ? photo.annotated : undefined;
    const member = typeof strip === "string" ? `claim/${strip}` : null;
    if (!CLAIM_STRIPS.includes(member)) {
      const shown = printable(String(strip));
      problems.push(problem(`${CLAIM_JSON} photo ${i + 1} names strip ${shown}, not a claim-N.png of the section`, "claim-1.png .. claim-8.png", shown));
      return;
    }
    named.add(member);
    if (members[member] === undefined) problems.push(problem(`${member}, named by ${CLAIM_JSON}, is missing`, member));
  });
  for (const extra of CLAIM_STRIPS.filter((n) => members[n] !== undefined && !named.has(n))) {
    problems.push(problem(`${extra} is in the claim section but ${CLAIM_JSON} names it not`));
  }
  return problems;
}

function frames(doc, clip, printable) {
  const cited = [];
  const problems = [];
  const n = clip.segments.length;
  photosOf(doc).forEach((photo, i) => {
    const footage = isObject(photo) ? photo.footage : undefined;
    const ref = isObject(footage) ? footage.reference : undefined;
    if (ref === null || ref === undefined) return;
    const what = `${CLAIM_JSON} photo ${i + 1} cites`;
    if (!isObject(ref) || ref.source !== "footage") {
      problems.push(problem(`${CLAIM_JSON} photo ${i + 1}: its footage reference is not a packing frame`, "a reference with source 'footage'", printable(JSON.stringify(ref))));
      return;
    }
    if (ref.clip_id !== clip.clip_id) {
      const other = printable(String(ref.clip_id));
      problems.push(problem(`${what} a frame of clip ${other}, not of this bundle's clip ${clip.clip_id}`, clip.clip_id, other));
      return;
    }
    const { segment: seg, segments: of, segment_sha256: sha, t_ms: tMs } = ref;
    if (!(isInt(seg) && isInt(of) && isInt(tMs) && typeof sha === "string" && HEX64.test(sha))) {
      problems.push(problem(`${what} a frame without segment, segments, segment_sha256 and t_ms`, "integers and a SHA-256", printable(JSON.stringify(ref))));
      return;
    }
    if (of !== n || seg < 1 || seg > n) {
      problems.push(problem(`${what} segment ${seg} of ${of}; the signed entry has ${n} segments`, `a segment 1..${n} of ${n}`, `${seg} of ${of}`));
      return;
    }
    const signed = clip.segments[seg - 1];
    if (sha !== signed.sha256) {
      problems.push(problem(`${what} segment ${seg} of ${of} with sha256 ${sha}, which is not that segment of this clip's signed entry (other footage)`, signed.sha256, sha));
      return;
    }
    if (tMs < signed.start || tMs > signed.end) {
      problems.push(problem(`${what} a frame at ${tMs} ms, outside segment ${seg} (${signed.start}..${signed.end} ms)`, `${signed.start}..${signed.end}`, String(tMs)));
      return;
    }
    cited.push(`photo ${i + 1}: segment ${seg}/${of} sha256 ${sha.slice(0, 16)}…`);
  });
  return [cited, problems];
}
