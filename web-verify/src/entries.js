// The two log entries a bundle carries (clip, station-key), parsed with the rules of
// storage/entries.py: canonical JSON with exactly the fields of its kind, each of its
// type, and the same value checks. Keep SCHEMAS in step with the Python dataclasses:
// a field added there is an "unknown field" here until it is added.

import { FormatError, b64decode, codePoints, utf8 } from "./bytes.js";
import * as canonical from "./canonical.js";
import { parseVkey } from "./note.js";

const MAX_ENTRY_BYTES = 4 << 20;
const MAX_TEXT = 512;
// A scan is recorded exactly as read: a QR code holds up to 7,089 characters.
const MAX_SCAN_TEXT = 7089;
const HEX64 = /^[0-9a-f]{64}$/;
const STATUSES = ["sealed", "cancelled", "interrupted"];
const END_REASONS = [
  "next-order",
  "rescan",
  "stop",
  "cancel",
  "idle",
  "max-length",
  "shutdown",
  "source-lost",
  "encoder-died",
  "crash",
];
const ZONE_OFFSET = /^UTC[+-]\d\d:\d\d$/;
const ZONE_IANA = /^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/;
const KINDS = ["clip", "gap", "key-revocation", "purge", "segment", "station-key"];
// storage/footage.py: what each source kind fills (every other field is "").
const SOURCE_USES = {
  camera: ["device", "card", "bus", "serial"],
  rtsp: ["host"],
  http: ["host"],
  file: ["name", "sha256"],
  demo: ["name"],
};
const SOURCE_FIELDS = ["device", "card", "bus", "serial", "host", "name", "sha256"];
const SOURCE_MOST = 256;
// storage/entries.py: a camera view's name, at most MAX_VIEWS per clip; "c2pa" is reserved.
const VIEW_NAME = /^[a-z0-9][a-z0-9-]{0,15}$/;
const RESERVED_VIEWS = ["c2pa"];
const MAX_VIEWS = 4;
const SOURCE_HOST = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(:[0-9]{1,5})?$/;
export const LIVE_SOURCES = ["camera", "rtsp", "http"];

// Field types: "int", "str", "bool", {literal: [...]}, {tuple: T}, {fixed: [T...]},
// {nullable: T}, or a schema name. A field with a `default` may be absent; one marked
// `omit` is absent when unknown (never null) and stays absent in the parsed entry, so
// entries signed before it existed keep their signing bytes.
const SCHEMAS = {
  "station-key": {
    fields: {
      prev: "str",
      time: "int",
      origin: "str",
      station: "str",
      station_name: "str",
      merchant: "str",
      vkey: "str",
      root: "str",
      cert: { type: "str", default: "" },
    },
    signedBy: "cert",
  },
  clip: {
    fields: {
      prev: "str",
      time: "int",
      clip_id: "str",
      order_id: "str",
      status: { literal: STATUSES },
      end_reason: "str",
      started: "int",
      ended: "int",
      pre_roll: "int",
      post_roll: "int",
      station: "str",
      operator: "str",
      run: "str",
      init: "str",
      segments: { tuple: "SegmentRef" },
      scans: { tuple: "Scan" },
      video: "Video",
      zone: "str",
      tracking_ids: { type: { tuple: "str" }, default: [] },
      repeat_of: { type: { nullable: "str" }, default: null },
      key: { type: "str", default: "" },
      sig: { type: "str", default: "" },
      source: { type: "FootageSource", omit: true },
      // A station with several cameras: the primary's name, and the further views.
      view: { type: "str", omit: true },
      views: { type: { tuple: "ClipView" }, omit: true },
    },
    signedBy: "sig",
  },
  ClipView: {
    fields: {
      view: "str",
      run: "str",
      init: "str",
      segments: { tuple: "SegmentRef" },
      video: "Video",
      source: { type: "FootageSource", omit: true },
    },
  },
  FootageSource: {
    fields: {
      kind: { literal: Object.keys(SOURCE_USES) },
      ...Object.fromEntries(SOURCE_FIELDS.map((f) => [f, { type: "str", default: "" }])),
    },
  },
  SegmentRef: {
    fields: { seq: "int", sha256: "str", start: "int", end: "int", bytes: "int" },
  },
  Scan: {
    fields: {
      t: "int",
      text: "str",
      kind: { literal: ["order", "tracking", "control", "other"] },
      symbology: "str",
      source: { literal: ["camera", "gun", "web"] },
      box: { type: { nullable: { fixed: ["int", "int", "int", "int"] } }, default: null },
    },
  },
  Video: {
    fields: {
      codec: "str",
      width: "int",
      height: "int",
      fps_num: "int",
      fps_den: "int",
      pix_fmt: "str",
      segment_ms: "int",
      encoder: "str",
    },
  },
};

const typeName = (v) =>
  v === null
    ? "NoneType"
    : Array.isArray(v)
      ? "list"
      : typeof v === "object"
        ? "dict"
        : typeof v === "number"
          ? "int"
          : typeof v === "boolean"
            ? "bool"
            : "str";

function decode(type, value, path) {
  if (typeof type === "object" && "type" in type) return decode(type.type, value, path);
  if (type === "int") {
    if (typeof value !== "number") throw new FormatError(`${path}: expected an integer, found ${typeName(value)}`);
    return value;
  }
  if (type === "str") {
    if (typeof value !== "string") throw new FormatError(`${path}: expected a string, found ${typeName(value)}`);
    return value;
  }
  if (typeof type === "string") return decodeObject(SCHEMAS[type], value, path);
  if (type.literal) {
    if (!type.literal.includes(value)) throw new FormatError(`${path}: '${value}' is not one of ${type.literal}`);
    return value;
  }
  if (type.nullable) return value === null ? null : decode(type.nullable, value, path);
  if (type.tuple || type.fixed) {
    if (!Array.isArray(value)) throw new FormatError(`${path}: expected a list, found ${typeName(value)}`);
    if (type.fixed && value.length !== type.fixed.length) {
      throw new FormatError(`${path}: expected ${type.fixed.length} items, found ${value.length}`);
    }
    return value.map((v, i) => decode(type.tuple ?? type.fixed[i], v, `${path}[${i}]`));
  }
  throw new Error(`unsupported field type at ${path}`);
}

function decodeObject(schema, value, path) {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new FormatError(`${path}: expected an object, found ${typeName(value)}`);
  }
  const unknown = Object.keys(value).filter((k) => !(k in schema.fields)).sort();
  if (unknown.length) throw new FormatError(`${path}: unknown field(s) ${JSON.stringify(unknown)}`);
  const out = {};
  for (const [name, type] of Object.entries(schema.fields)) {
    if (!(name in value)) {
      if (typeof type === "object" && type.omit) continue;
      if (typeof type === "object" && "default" in type) {
        out[name] = type.default;
        continue;
      }
      throw new FormatError(`${path}: missing field '${name}'`);
    }
    if (typeof type === "object" && type.omit && value[name] === null) {
      throw new FormatError(`${path}.${name}: null is not allowed; the field is left out`);
    }
    out[name] = decode(type, value[name], `${path}.${name}`);
  }
  return out;
}

function hex64(value, what) {
  if (!HEX64.test(value)) throw new FormatError(`${what} must be 64 lowercase hex digits`);
}

function text(value, what, empty = false, most = MAX_TEXT) {
  if (!empty && !value) throw new FormatError(`${what} must not be empty`);
  const n = codePoints(value);
  if (n > most) throw new FormatError(`${what} is ${n} characters, at most ${most}`);
}

function span(start, end, what) {
  if (start < 0 || end < start) throw new FormatError(`${what}: end ${end} is before start ${start}`);
}

async function checkStationKey(e) {
  hex64(e.prev, "station-key prev");
  for (const name of ["origin", "station", "station_name", "merchant", "vkey", "root"]) {
    text(e[name], `station-key ${name}`);
  }
  const v = await parseVkey(e.vkey);
  if (v.name !== e.origin) {
    throw new FormatError(`station-key vkey is named '${v.name}', expected the origin '${e.origin}'`);
  }
}

function checkClip(c) {
  hex64(c.prev, "clip prev");
  hex64(c.init, "clip init");
  text(c.clip_id, "clip id");
  text(c.order_id, "clip order id");
  text(c.station, "clip station");
  text(c.operator, "clip operator", true);
  if (c.zone && !(codePoints(c.zone) <= 64 && (ZONE_OFFSET.test(c.zone) || ZONE_IANA.test(c.zone)))) {
    throw new FormatError("clip zone is not an IANA zone name or UTC+HH:MM");
  }
  if (!END_REASONS.includes(c.end_reason)) {
    throw new FormatError(`clip end reason '${c.end_reason}' is not one of ${END_REASONS}`);
  }
  span(c.started, c.ended, `clip ${c.clip_id}`);
  if (c.segments.length === 0) throw new FormatError(`clip ${c.clip_id} has no segments`);
  const views = c.views ?? [];
  for (const v of views) {
    hex64(v.init, `view ${v.view} init`);
    text(v.run, `view ${v.view} run`);
    if (v.segments.length === 0) throw new FormatError(`view '${v.view}' has no segments`);
    if (v.source !== undefined) checkSource(v.source);
  }
  for (const s of [c.segments, ...views.map((v) => v.segments)].flat()) {
    hex64(s.sha256, `clip segment ${s.seq} sha256`);
    span(s.start, s.end, `clip segment ${s.seq}`);
  }
  if (c.view === undefined && c.views === undefined) {
    c.segments.forEach((s, i) => {
      if (s.seq !== c.segments[0].seq + i) {
        throw new FormatError(`clip ${c.clip_id}: segment numbers are not consecutive`);
      }
    });
  } else checkViews(c);
  for (const s of c.scans) text(s.text, "scan text", false, MAX_SCAN_TEXT);
  if (c.source !== undefined) checkSource(c.source);
}

/** storage/entries.py Clip._check_views: a clip of a station with several cameras. Its
 * segment numbers are station-wide, so the views' segments interleave. */
function checkViews(c) {
  if (c.views !== undefined && c.views.length === 0) {
    throw new FormatError(`clip ${c.clip_id}: views is empty; it is left out instead`);
  }
  if (c.view === undefined) throw new FormatError(`clip ${c.clip_id} has views but does not name its primary view`);
  const names = allViews(c).map((v) => v.view);
  for (const name of names) {
    if (!VIEW_NAME.test(name) || RESERVED_VIEWS.includes(name)) {
      throw new FormatError(`clip ${c.clip_id} view '${name.slice(0, 40)}' is not a view name ([a-z0-9][a-z0-9-]{0,15}, not c2pa)`);
    }
  }
  if (new Set(names).size !== names.length) throw new FormatError(`clip ${c.clip_id}: a view is named twice: ${names}`);
  if (names.length > MAX_VIEWS) throw new FormatError(`clip ${c.clip_id} has ${names.length} views, at most ${MAX_VIEWS}`);
  const seen = new Map();
  for (const part of allViews(c)) {
    const seqs = part.segments.map((s) => s.seq);
    if (seqs.some((q, i) => i > 0 && q <= seqs[i - 1])) {
      throw new FormatError(`clip ${c.clip_id}: view ${part.view}'s segment numbers do not increase`);
    }
    for (const q of seqs) {
      if (!seen.has(q)) seen.set(q, part.view);
      else if (seen.get(q) !== part.view) throw new FormatError(`clip ${c.clip_id}: segment ${q} is in views ${seen.get(q)} and ${part.view}`);
    }
  }
}

/** Every camera's footage of a clip entry, the primary first (storage Clip.all_views):
 * {view, run, init, segments, video, source}; the primary's view is "" on a one-camera
 * station's clip. */
export function allViews(c) {
  const primary = { view: c.view ?? "", run: c.run, init: c.init, segments: c.segments, video: c.video, source: c.source };
  return [primary, ...(c.views ?? [])];
}

/** The views' names, the primary first; [] for a one-camera station's clip. */
export function viewNames(c) {
  return c.view === undefined ? [] : allViews(c).map((v) => v.view);
}

function checkSource(s) {
  const uses = SOURCE_USES[s.kind];
  for (const name of SOURCE_FIELDS) {
    const n = codePoints(s[name]);
    if (n > SOURCE_MOST) throw new FormatError(`source ${name} is ${n} characters, at most ${SOURCE_MOST}`);
    if (s[name] && !uses.includes(name)) throw new FormatError(`a ${s.kind} source has no ${name}`);
  }
  if (s.kind === "camera" && !s.device) throw new FormatError("a camera source must name its device");
  if ((s.kind === "rtsp" || s.kind === "http") && !SOURCE_HOST.test(s.host)) {
    throw new FormatError(`an ${s.kind} source's host must be host[:port] without credentials`);
  }
  if (s.kind === "file" && !HEX64.test(s.sha256)) {
    throw new FormatError("a file source's sha256 must be 64 lowercase hex digits");
  }
}

/** What the footage came from, in one line (storage/footage.py describe_source). */
export function describeSource(s) {
  if (s === undefined || s === null) return "not recorded (sealed before packseal recorded footage sources)";
  if (s.kind === "camera") {
    const known = [s.card, s.bus].filter((x) => x);
    if (s.serial) known.push(`serial ${s.serial}`);
    return `live camera ${s.device}${known.length ? ` (${known.join(", ")})` : " (no identity reported)"}`;
  }
  if (s.kind === "rtsp") return `live network camera (RTSP) at ${s.host}`;
  if (s.kind === "http") return `live network camera (HTTP MJPEG) at ${s.host}`;
  if (s.kind === "file") {
    return `imported file ${s.name || "(unnamed)"} sha256 ${s.sha256}: NOT live, its times were chosen when it was imported`;
  }
  return `demo scene ${s.name}: synthetic footage, NOT a camera`;
}

/** Parse an entry member as ``kind`` ("clip" or "station-key"); raises FormatError. */
export async function parseAs(kind, bytes) {
  if (bytes.length > MAX_ENTRY_BYTES) {
    throw new FormatError(`entry is ${bytes.length} bytes, more than ${MAX_ENTRY_BYTES}`);
  }
  const obj = canonical.loads(bytes);
  if (obj === null || typeof obj !== "object" || Array.isArray(obj)) {
    throw new FormatError(`entry must be a JSON object, found ${typeName(obj)}`);
  }
  if (!KINDS.includes(obj.kind)) {
    throw new FormatError(`entry kind '${obj.kind}' is not one of ${KINDS}`);
  }
  if (obj.kind !== kind) throw new FormatError(`expected a ${kind} entry, found a ${obj.kind} entry`);
  const body = { ...obj };
  delete body.kind;
  const entry = decodeObject(SCHEMAS[kind], body, kind);
  try {
    if (kind === "clip") checkClip(entry);
    else await checkStationKey(entry);
  } catch (e) {
    if (e instanceof FormatError) throw new FormatError(`${kind}: ${e.message}`);
    throw e;
  }
  entry.kind = kind;
  return entry;
}

/** What a signature covers: the entry without prev and its signature field. */
export function signingBytes(entry) {
  const body = { ...entry };
  delete body.prev;
  delete body[SCHEMAS[entry.kind].signedBy];
  return new Uint8Array([...utf8(`packseal/${entry.kind}/v1\n`), ...canonical.dumps(body)]);
}

export function signatureOf(entry) {
  return b64decode(entry[SCHEMAS[entry.kind].signedBy], `${entry.kind} ${SCHEMAS[entry.kind].signedBy}`);
}
