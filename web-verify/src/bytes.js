// Bytes, text and hashes: the few helpers every format module needs.
//
// Base64 is decoded strictly (as Python's b64decode(validate=True)): the standard
// alphabet, padding to a multiple of four, nothing else. atob() is lenient about
// whitespace and padding, and a verifier must not accept what the CLI refuses.

import { Sha256 } from "./sha256.js";

export class FormatError extends Error {}

const B64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function b64decode(text, what = "value") {
  if (typeof text !== "string" || !B64.test(text)) {
    throw new FormatError(`${what} is not base64`);
  }
  const bin = atob(text);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export function b64encode(bytes) {
  let bin = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(bin);
}

export function hex(bytes) {
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
}

export function concat(...parts) {
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export function equal(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const ENCODER = new TextEncoder();
export const utf8 = (text) => ENCODER.encode(text);

/** Strict UTF-8 decoding: null when the bytes are not UTF-8. */
export function decodeUtf8(bytes) {
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return null;
  }
}

// WebCrypto hashes whole buffers only; beyond this a range is hashed incrementally.
const WHOLE_LIMIT = 64 << 20;

export async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

export async function sha256hex(bytes) {
  return hex(await sha256(bytes));
}

/** SHA-256 of bytes [start, end) of a Blob, reading it a slice at a time. */
export async function sha256Blob(blob, start = 0, end = blob.size) {
  if (end - start <= WHOLE_LIMIT) {
    return sha256hex(await blob.slice(start, end).arrayBuffer());
  }
  const h = new Sha256();
  for (let at = start; at < end; at += 8 << 20) {
    h.update(new Uint8Array(await blob.slice(at, Math.min(end, at + (8 << 20))).arrayBuffer()));
  }
  return hex(h.digest());
}

/** Ed25519 verification through WebCrypto; false for a malformed key or signature. */
export async function ed25519Verify(publicKey, signature, message) {
  if (publicKey.length !== 32 || signature.length !== 64) return false;
  try {
    const key = await crypto.subtle.importKey("raw", publicKey, { name: "Ed25519" }, false, [
      "verify",
    ]);
    return await crypto.subtle.verify("Ed25519", key, signature, message);
  } catch {
    return false;
  }
}

/** Python's len(): code points, not UTF-16 units. */
export function codePoints(text) {
  let n = 0;
  for (const _ of text) n++;
  return n;
}
