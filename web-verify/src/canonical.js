// Canonical JSON as storage/canonical.py defines it: sorted keys, no whitespace, UTF-8,
// integers within +-(2**53-1) only. A value is accepted only if re-encoding it gives the
// same bytes, so duplicate keys, floats, escapes and spacing are all refused.

import { FormatError, decodeUtf8, equal, utf8 } from "./bytes.js";

export const MAX_SAFE_INT = 2 ** 53 - 1;
const MAX_DEPTH = 32;

function byCodePoint(a, b) {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i].codePointAt(0) - y[i].codePointAt(0);
    if (d) return d;
  }
  return x.length - y.length;
}

function encode(value, depth) {
  if (depth > MAX_DEPTH) throw new FormatError(`nested deeper than ${MAX_DEPTH}`);
  if (value === null || typeof value === "boolean") return String(value);
  if (typeof value === "number") {
    if (!Number.isInteger(value) || Math.abs(value) > MAX_SAFE_INT) {
      throw new FormatError(`floats and integers beyond 2**53 are not allowed (found ${value})`);
    }
    return Object.is(value, -0) ? "-0" : String(value);
  }
  if (typeof value === "string") {
    if (/[\uD800-\uDFFF]/u.test(value.replace(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g, ""))) {
      throw new FormatError("string is not valid Unicode (lone surrogate)");
    }
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((v) => encode(v, depth + 1)).join(",")}]`;
  const keys = Object.keys(value).sort(byCodePoint);
  return `{${keys.map((k) => `${JSON.stringify(k)}:${encode(value[k], depth + 1)}`).join(",")}}`;
}

export function dumps(value) {
  return utf8(encode(value, 0));
}

export function loads(bytes) {
  const text = decodeUtf8(bytes);
  if (text === null) throw new FormatError("canonical JSON must be UTF-8");
  let value;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new FormatError(`not JSON: ${e.message}`);
  }
  let again;
  try {
    again = dumps(value);
  } catch (e) {
    throw new FormatError(`JSON outside the canonical subset: ${e.message}`);
  }
  if (!equal(again, bytes)) {
    let at = 0;
    while (at < Math.min(again.length, bytes.length) && again[at] === bytes[at]) at++;
    throw new FormatError(`JSON is not canonical: differs from its canonical form at byte ${at}`);
  }
  return value;
}
