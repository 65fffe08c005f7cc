// The merchant's trust file (packseal-trust/v1) and the bundle's manifest.json, parsed
// with the rules of storage/trust.py and verifier/_manifest.py.

import { FormatError, b64decode, codePoints, decodeUtf8 } from "./bytes.js";
import { ALG_COSIGNATURE_V1, parseVkey } from "./note.js";

const TRUST_FORMAT = "packseal-trust/v1";
const MAX_TRUST_BYTES = 1 << 20;
const REASONS = ["rotated", "compromised", "retired"];

const str = (obj, key) => {
  if (obj === null || typeof obj !== "object" || typeof obj[key] !== "string") {
    throw new FormatError(`trust file: '${key}' must be a string`);
  }
  return obj[key];
};
const optStr = (obj, key) => (obj[key] == null ? null : str(obj, key));
const optInt = (obj, key) => {
  const v = obj[key];
  if (v == null) return null;
  if (typeof v !== "number" || !Number.isInteger(v)) {
    throw new FormatError(`trust file: '${key}' must be an integer`);
  }
  return v;
};
const optBool = (obj, key) => {
  const v = obj[key] === undefined ? false : obj[key];
  if (typeof v !== "boolean") throw new FormatError(`trust file: '${key}' must be true or false`);
  return v;
};
const list = (obj, key, empty = false) => {
  const v = obj[key] === undefined && empty ? [] : obj[key];
  if (!Array.isArray(v)) throw new FormatError(`trust file: '${key}' must be a list`);
  return v;
};

function pems(obj, key) {
  const items = list(obj, key, true);
  for (const p of items) {
    if (typeof p !== "string") throw new FormatError(`trust file: '${key}' must be a list of PEM strings`);
    const blocks = [...p.matchAll(/-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----/g)];
    if (blocks.length === 0) throw new FormatError(`trust file: ${key} entry holds no PEM certificate`);
    for (const b of blocks) b64decode(b[1].replace(/\s+/g, ""), `trust file: ${key} certificate`);
  }
  return items;
}

/** Parse and check a trust file; raises FormatError with what is wrong. */
export async function parseTrust(bytes) {
  if (bytes.length > MAX_TRUST_BYTES) {
    throw new FormatError(`trust file is ${bytes.length} bytes, more than ${MAX_TRUST_BYTES}`);
  }
  const text = decodeUtf8(bytes);
  let doc;
  try {
    doc = JSON.parse(text ?? "");
  } catch (e) {
    throw new FormatError(`trust file is not JSON: ${e.message}`);
  }
  if (doc === null || typeof doc !== "object" || doc.format !== TRUST_FORMAT) {
    throw new FormatError(`trust file format must be '${TRUST_FORMAT}'`);
  }
  const logs = [];
  for (const g of list(doc, "logs")) {
    const log = {
      origin: str(g, "origin"),
      vkey: str(g, "vkey"),
      station: str(g, "station"),
      revokedAfter: optInt(g, "revoked_after"),
      revokedReason: optStr(g, "revoked_reason"),
    };
    log.verifier = await parseVkey(log.vkey);
    if (log.verifier.name !== log.origin) {
      throw new FormatError(`trust file: log '${log.origin}' has a key named '${log.verifier.name}'`);
    }
    if (log.revokedAfter !== null && log.revokedAfter < 0) {
      throw new FormatError(`trust file: log '${log.origin}': revoked_after is negative`);
    }
    if (log.revokedReason !== null && !REASONS.includes(log.revokedReason)) {
      throw new FormatError(`trust file: revoked_reason '${log.revokedReason}' is not known`);
    }
    log.signsEntry = (index) => log.revokedAfter === null || index <= log.revokedAfter;
    log.signsCheckpoint = (size) => log.revokedAfter === null || size <= log.revokedAfter + 1;
    logs.push(log);
  }
  // Two unrevoked keys for one origin would verify bundles of two histories: a hidden
  // fork (as storage/trust.py refuses).
  const current = new Map();
  for (const log of logs.filter((g) => g.revokedAfter === null)) {
    current.set(log.origin, new Set([...(current.get(log.origin) ?? []), log.vkey]));
  }
  for (const [origin, vkeys] of current) {
    if (vkeys.size > 1) {
      throw new FormatError(
        `trust file: log '${origin}' has ${vkeys.size} keys that are not revoked (${[...vkeys].sort().join(", ")}); a log has one current key`,
      );
    }
  }
  const witnesses = [];
  for (const w of list(doc, "witnesses", true)) {
    witnesses.push(await parseVkey(str(w, "vkey"), ALG_COSIGNATURE_V1, "witness key"));
  }
  if (new Set(witnesses.map((w) => `${w.name}/${w.keyId}`)).size !== witnesses.length) {
    throw new FormatError("trust file: a witness key is listed twice");
  }
  const quorum = optInt(doc, "witness_quorum") ?? 0;
  if (!(quorum >= 0 && quorum <= witnesses.length)) {
    throw new FormatError(
      `trust file: witness_quorum ${quorum} must be between 0 and the ${witnesses.length} listed witnesses`,
    );
  }
  const trust = {
    merchant: str(doc, "merchant"),
    root: await parseVkey(str(doc, "root")),
    logs,
    tsaRoots: pems(doc, "tsa_roots"),
    witnesses,
    witnessQuorum: quorum,
    c2paRoots: pems(doc, "c2pa_roots"),
    requireLiveSource: optBool(doc, "require_live_source"),
  };
  return trust;
}

// -- manifest.json ----------------------------------------------------------------------------

const TOP = ["checkpoint_size", "clip_id", "clip_index", "format", "members", "order_id", "origin", "station_key_index", "video", "zone"];
const VIDEO = ["derived", "excerpt_ms", "member", "segment_count", "segments", "sealed_sha256", "sealed_size"];
const DERIVED = ["height", "max_bytes", "sha256", "size", "width"];
// A clip filmed by several cameras: each further view's video (verifier/_manifest.py).
const VIEW = ["member", "sealed_sha256", "sealed_size", "segment_count", "segments", "timeline", "view"];
const MAX_MANIFEST_VIEWS = 3;
const HEX64 = /^[0-9a-f]{64}$/;

function obj(value, where, keys, optional = []) {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new FormatError(`manifest ${where}: expected an object`);
  }
  const have = Object.keys(value);
  const missing = keys.filter((k) => !have.includes(k));
  const extra = have.filter((k) => !keys.includes(k) && !optional.includes(k));
  if (missing.length || extra.length) {
    throw new FormatError(`manifest ${where}: missing ${JSON.stringify(missing)}, unknown ${JSON.stringify(extra.slice(0, 5))}`);
  }
  return value;
}
const int = (v, where) => {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 2 ** 53 - 1) {
    throw new FormatError(`manifest ${where}: expected a non-negative integer`);
  }
  return v;
};
const short = (v, where) => {
  if (typeof v !== "string" || !(codePoints(v) > 0 && codePoints(v) <= 512)) {
    throw new FormatError(`manifest ${where}: expected a short string`);
  }
  return v;
};
const hexv = (v, where) => {
  if (typeof v !== "string" || !HEX64.test(v)) throw new FormatError(`manifest ${where}: expected 64 hex digits`);
  return v;
};
const pair = (v, where) => {
  if (!Array.isArray(v) || v.length !== 2) throw new FormatError(`manifest ${where}: expected [start, end]`);
  const a = int(v[0], where);
  const b = int(v[1], where);
  if (b < a) throw new FormatError(`manifest ${where}: end ${b} is before start ${a}`);
  return [a, b];
};

/** The manifest's ``format`` value, or null: to tell "not ours" from "broken". */
export function formatOf(bytes) {
  try {
    const doc = JSON.parse(decodeUtf8(bytes) ?? "");
    return doc !== null && typeof doc === "object" && !Array.isArray(doc) ? (doc.format ?? null) : null;
  } catch {
    return null;
  }
}

export function parseManifest(bytes) {
  if (bytes.length > 1 << 20) throw new FormatError("manifest.json is more than 1 MB");
  let doc;
  try {
    doc = JSON.parse(decodeUtf8(bytes) ?? "");
  } catch (e) {
    throw new FormatError(`manifest.json is not JSON: ${e.message}`);
  }
  const top = obj(doc, "manifest", TOP, ["views"]);
  // Optional: bundles exported before clips were rebased (verifier/timeline.py) have none.
  const video = obj(top.video, "video", VIDEO, ["timeline"]);
  const timeline = "timeline" in video ? parseTimeline(video.timeline) : null;
  const [first, last] = pair(video.segments, "video.segments");
  if (video.excerpt_ms !== null) pair(video.excerpt_ms, "excerpt_ms");
  let derived = null;
  if (video.derived !== null) {
    const d = obj(video.derived, "video.derived", DERIVED);
    derived = { sha256: hexv(d.sha256, "derived.sha256") };
    for (const k of ["size", "width", "height", "max_bytes"]) int(d[k], `derived.${k}`);
  }
  const membersDoc = top.members;
  if (membersDoc === null || typeof membersDoc !== "object" || Array.isArray(membersDoc) || Object.keys(membersDoc).length > 64) {
    throw new FormatError("manifest members must be an object of at most 64 members");
  }
  const members = {};
  for (const [name, m] of Object.entries(membersDoc)) {
    const item = obj(m, `members.${name}`, ["sha256", "size"]);
    members[name] = { size: int(item.size, `${name}.size`), sha256: hexv(item.sha256, `${name}.sha256`) };
  }
  const views = "views" in top ? parseViews(top.views) : [];
  const zone = top.zone;
  if (zone !== null && (typeof zone !== "string" || codePoints(zone) > 64)) {
    throw new FormatError("manifest zone must be null or a zone name");
  }
  return {
    clipId: short(top.clip_id, "clip_id"),
    orderId: short(top.order_id, "order_id"),
    origin: short(top.origin, "origin"),
    clipIndex: int(top.clip_index, "clip_index"),
    stationKeyIndex: int(top.station_key_index, "station_key_index"),
    checkpointSize: int(top.checkpoint_size, "checkpoint_size"),
    video: short(video.member, "video.member"),
    first,
    last,
    segmentCount: int(video.segment_count, "video.segment_count"),
    sealedSha256: hexv(video.sealed_sha256, "video.sealed_sha256"),
    sealedSize: int(video.sealed_size, "video.sealed_size"),
    derived,
    timeline,
    zone,
    members,
    views,
  };
}

/** The manifest's ``views`` (verifier/_manifest.py _views). */
function parseViews(value) {
  if (!Array.isArray(value) || !(value.length > 0 && value.length <= MAX_MANIFEST_VIEWS)) {
    throw new FormatError(`manifest views: expected a list of 1 to ${MAX_MANIFEST_VIEWS} views`);
  }
  return value.map((item, k) => {
    const where = `views[${k}]`;
    const v = obj(item, where, VIEW);
    const [first, last] = pair(v.segments, `${where}.segments`);
    return {
      view: short(v.view, `${where}.view`),
      member: short(v.member, `${where}.member`),
      first,
      last,
      segmentCount: int(v.segment_count, `${where}.segment_count`),
      sealedSha256: hexv(v.sealed_sha256, `${where}.sealed_sha256`),
      sealedSize: int(v.sealed_size, `${where}.sealed_size`),
      timeline: parseTimeline(v.timeline, `${where}.timeline`),
    };
  });
}

/** video.timeline, as verifier/_manifest.py: [{track, decode, emptyEdit}] (BigInt). */
function parseTimeline(value, at = "video.timeline") {
  if (value === null || typeof value !== "object" || Array.isArray(value) || !(Object.keys(value).length > 0 && Object.keys(value).length <= 16)) {
    throw new FormatError(`manifest ${at}: expected an object of 1 to 16 tracks`);
  }
  const tracks = [];
  for (const [track, shift] of Object.entries(value)) {
    if (!/^[1-9][0-9]{0,9}$/.test(track) || Number(track) >= 2 ** 32) {
      throw new FormatError(`manifest ${at}: ${JSON.stringify(track.slice(0, 20))} is not a track id`);
    }
    const where = `${at}.${track}`;
    const item = obj(shift, where, ["decode", "empty_edit"]);
    tracks.push({
      track: Number(track),
      decode: BigInt(int(item.decode, `${where}.decode`)),
      emptyEdit: BigInt(int(item.empty_edit, `${where}.empty_edit`)),
    });
  }
  return tracks.sort((a, b) => a.track - b.track);
}
