// C2SP signed notes, checkpoints, tlog-proofs, witness cosignatures and RFC 6962
// inclusion proofs, with the rules of storage/note.py, checkpoint.py, cosignature.py
// and merkle.py (transparency-dev's exact proof lengths).

import {
  FormatError,
  b64decode,
  b64encode,
  concat,
  decodeUtf8,
  ed25519Verify,
  equal,
  hex,
  sha256,
  utf8,
} from "./bytes.js";

export class SignatureError extends Error {}
export class ProofError extends Error {}

export const ALG_ED25519 = 0x01;
export const ALG_COSIGNATURE_V1 = 0x04;
const SIG_PREFIX = "\u2014 ";
const MAX_SIGNATURES = 100;
const MAX_PROOF_HASHES = 128;
const DECIMAL = /^(0|[1-9][0-9]{0,19})$/;

export function checkName(name) {
  if (!name || name.includes("+") || /\s/u.test(name)) {
    throw new FormatError(
      `key name '${name}' is not valid: it must be non-empty, without spaces or '+'`,
    );
  }
}

export async function keyId(name, typedKey) {
  const digest = await sha256(concat(utf8(name), utf8("\n"), typedKey));
  return new DataView(digest.buffer).getUint32(0);
}

const hex8 = (n) => n.toString(16).padStart(8, "0");

/** A note verifier from a vkey: {name, keyId, publicKey, type, vkey}. */
export async function parseVkey(vkey, type = ALG_ED25519, what = "verifier key") {
  const first = vkey.indexOf("+");
  const second = first < 0 ? -1 : vkey.indexOf("+", first + 1);
  if (first < 0 || second < 0) throw new FormatError(`${what} '${vkey}' is not name+keyid+key`);
  const name = vkey.slice(0, first);
  const hexId = vkey.slice(first + 1, second);
  checkName(name);
  if (!/^[0-9a-f]{8}$/.test(hexId)) {
    throw new FormatError(`${what} id '${hexId}' is not 8 lowercase hex digits`);
  }
  const raw = b64decode(vkey.slice(second + 1), `${what} for '${name}'`);
  if (raw.length !== 33 || raw[0] !== type) {
    throw new FormatError(
      `${what} for '${name}': expected 0x0${type} + 32-byte Ed25519 key, found ${raw.length} bytes`,
    );
  }
  const id = await keyId(name, raw);
  if (id !== parseInt(hexId, 16)) {
    throw new FormatError(`${what} for '${name}': key id ${hexId} does not match the key (computed ${hex8(id)})`);
  }
  const publicKey = raw.subarray(1);
  return {
    name,
    keyId: id,
    publicKey,
    type,
    vkey: `${name}+${hex8(id)}+${b64encode(raw)}`,
    async verify(message, signature) {
      if (type === ALG_ED25519) return ed25519Verify(publicKey, signature, message);
      if (signature.length !== 72) return false;
      const time = new DataView(signature.buffer, signature.byteOffset).getBigUint64(0);
      if (time > 2n ** 63n - 1n) return false;
      const text = decodeUtf8(message);
      if (text === null) return false;
      const signed = utf8(`cosignature/v1\ntime ${time}\n${text}`);
      return ed25519Verify(publicKey, signature.subarray(8), signed);
    },
  };
}

/** [text, signatures] of a note, checking only its format. */
export function parseNote(bytes) {
  const decoded = decodeUtf8(bytes);
  if (decoded === null) throw new FormatError("note is not UTF-8");
  // eslint-disable-next-line no-control-regex
  const control = /[\x00-\x09\x0b-\x1f]/.exec(decoded);
  if (control) {
    throw new FormatError(
      `note contains control character 0x${control[0].charCodeAt(0).toString(16).padStart(2, "0")}`,
    );
  }
  const split = decoded.lastIndexOf("\n\n");
  if (split < 0) throw new FormatError("note has no blank line before its signatures");
  const text = decoded.slice(0, split + 1);
  const block = decoded.slice(split + 2);
  if (!block || !block.endsWith("\n")) {
    throw new FormatError("note has no signature lines (or the last one lacks a newline)");
  }
  const lines = block.slice(0, -1).split("\n");
  if (lines.length > MAX_SIGNATURES) {
    throw new FormatError(`note has ${lines.length} signatures, more than ${MAX_SIGNATURES}`);
  }
  const sigs = lines.map((line, i) => {
    if (!line.startsWith(SIG_PREFIX)) {
      throw new FormatError(`note signature line ${i + 1} does not start with '\u2014 '`);
    }
    const rest = line.slice(SIG_PREFIX.length);
    const space = rest.indexOf(" ");
    const name = space < 0 ? rest : rest.slice(0, space);
    const b64 = space < 0 ? "" : rest.slice(space + 1);
    checkName(name);
    const raw = b64decode(b64, `note signature line ${i + 1}`);
    if (raw.length < 5) {
      throw new FormatError(`note signature line ${i + 1} is too short (${raw.length} bytes)`);
    }
    return {
      name,
      keyId: new DataView(raw.buffer, raw.byteOffset).getUint32(0),
      signature: raw.subarray(4),
    };
  });
  return [text, sigs];
}

/** Go's note.Open: a known key's bad signature rejects; at least one must verify. */
export async function openNote(bytes, verifiers) {
  const [text, sigs] = parseNote(bytes);
  const known = new Map();
  const ambiguous = new Set();
  for (const v of verifiers) {
    const k = `${v.name}/${v.keyId}`;
    if (known.has(k)) ambiguous.add(k);
    known.set(k, v);
  }
  const message = utf8(text);
  const verified = [];
  const seen = new Set();
  for (const sig of sigs) {
    const k = `${sig.name}/${sig.keyId}`;
    const v = known.get(k);
    if (v === undefined) continue;
    if (ambiguous.has(k)) throw new SignatureError(`ambiguous key ${sig.name}+${hex8(sig.keyId)}: listed twice`);
    if (seen.has(k)) continue;
    seen.add(k);
    if (!(await v.verify(message, sig.signature))) {
      throw new SignatureError(`note signature by ${sig.name} (key ${hex8(sig.keyId)}) does not verify`);
    }
    verified.push(sig);
  }
  if (verified.length === 0) {
    const names = sigs.map((s) => `${s.name}+${hex8(s.keyId)}`).join(", ") || "none";
    const wanted = [...known.values()].map((v) => `${v.name}+${hex8(v.keyId)}`).join(", ") || "none";
    throw new SignatureError(
      `note has no signature by a trusted key (signed by: ${names}; trusted: ${wanted})`,
    );
  }
  return { text, signatures: verified };
}

// -- checkpoints ----------------------------------------------------------------------------

function decimal(text, what) {
  if (!DECIMAL.test(text)) {
    throw new FormatError(`${what} must be a decimal number without leading zeros, found '${text}'`);
  }
  const value = BigInt(text);
  if (value >= 2n ** 63n) throw new FormatError(`${what} ${text} is out of range`);
  return Number(value);
}

function b64Hash(text, what) {
  const raw = b64decode(text, what);
  if (raw.length !== 32 || b64encode(raw) !== text) {
    throw new FormatError(`${what} must be the base64 of 32 bytes, found ${raw.length} bytes`);
  }
  return raw;
}

export function parseCheckpoint(text) {
  if (!text.endsWith("\n")) throw new FormatError("checkpoint text must end with a newline");
  const lines = text.slice(0, -1).split("\n");
  if (lines.length < 3) {
    throw new FormatError(`checkpoint needs origin, size and root lines, found ${lines.length} line(s)`);
  }
  const [origin, size, root, ...ext] = lines;
  if (!origin) throw new FormatError("checkpoint origin line is empty");
  if (ext.some((l) => !l)) throw new FormatError("checkpoint extension lines must not be empty");
  return { origin, size: decimal(size, "checkpoint size"), rootHash: b64Hash(root, "root") };
}

export async function openCheckpoint(raw, verifiers) {
  const [text] = parseNote(raw);
  const cp = parseCheckpoint(text);
  const forOrigin = verifiers.filter((v) => v.name === cp.origin);
  if (forOrigin.length === 0) throw new SignatureError(`no trusted key for log origin '${cp.origin}'`);
  const note = await openNote(raw, forOrigin);
  return { checkpoint: cp, note, raw };
}

export function checkpointSize(raw) {
  try {
    const [text] = parseNote(raw);
    return parseCheckpoint(text).size;
  } catch (e) {
    if (e instanceof FormatError) return 0;
    throw e;
  }
}

// -- tlog-proof -----------------------------------------------------------------------------

export function parseProof(data) {
  let split = -1;
  for (let i = 0; i + 1 < data.length; i++) {
    if (data[i] === 10 && data[i + 1] === 10) {
      split = i;
      break;
    }
  }
  if (split < 0) throw new FormatError("tlog-proof has no blank line before its checkpoint");
  const head = data.subarray(0, split);
  if (head.some((b) => b > 127)) throw new FormatError("tlog-proof header is not ASCII");
  const lines = String.fromCharCode(...head).split("\n");
  if (lines[0] !== "c2sp.org/tlog-proof@v1") {
    throw new FormatError(`tlog-proof must start with 'c2sp.org/tlog-proof@v1', found '${lines[0].slice(0, 40)}'`);
  }
  let pos = 1;
  if (pos < lines.length && lines[pos].startsWith("extra ")) {
    b64decode(lines[pos].slice(6), "tlog-proof extra line");
    pos += 1;
  }
  if (pos >= lines.length || !lines[pos].startsWith("index ")) {
    throw new FormatError("tlog-proof has no 'index N' line");
  }
  const index = decimal(lines[pos].slice(6), "tlog-proof index");
  const hashes = lines.slice(pos + 1).map((h, i) => b64Hash(h, `tlog-proof hash ${i}`));
  if (hashes.length > MAX_PROOF_HASHES) {
    throw new FormatError(`tlog-proof has ${hashes.length} hashes, more than ${MAX_PROOF_HASHES}`);
  }
  const checkpoint = data.subarray(split + 2);
  if (checkpoint.length === 0) throw new FormatError("tlog-proof has no checkpoint after the blank line");
  return { index, hashes, checkpoint };
}

export async function verifyProof(proof, entry, verifiers) {
  const signed = await openCheckpoint(proof.checkpoint, verifiers);
  const cp = signed.checkpoint;
  try {
    await verifyInclusion(proof.index, cp.size, await leafHash(entry), proof.hashes, cp.rootHash);
  } catch (e) {
    if (e instanceof ProofError) {
      throw new ProofError(`entry is not leaf ${proof.index} of ${cp.origin} at size ${cp.size}: ${e.message}`);
    }
    throw e;
  }
  return signed;
}

// -- RFC 6962 -------------------------------------------------------------------------------

export const leafHash = (data) => sha256(concat(new Uint8Array([0]), data));
const nodeHash = (l, r) => sha256(concat(new Uint8Array([1]), l, r));

function bitLength(n) {
  return n === 0 ? 0 : n.toString(2).length;
}

async function verifyInclusion(index, size, leaf, proof, root) {
  if (!(index >= 0 && index < size)) {
    throw new ProofError(`inclusion proof: index ${index} is outside a tree of size ${size}`);
  }
  // Indices stay below 2**53 (a proof has at most 128 hashes), so BigInt is only needed
  // for the bit arithmetic to be exact beyond 2**31.
  const inner = bitLength(Number(BigInt(index) ^ BigInt(size - 1)));
  const border = [...(BigInt(index) >> BigInt(inner)).toString(2)].filter((c) => c === "1").length;
  if (proof.length !== inner + border) {
    throw new ProofError(
      `inclusion proof for index ${index} in size ${size}: expected ${inner + border} hashes, found ${proof.length}`,
    );
  }
  let seed = leaf;
  for (let i = 0; i < inner; i++) {
    seed = (BigInt(index) >> BigInt(i)) & 1n ? await nodeHash(proof[i], seed) : await nodeHash(seed, proof[i]);
  }
  for (const h of proof.slice(inner)) seed = await nodeHash(h, seed);
  if (!equal(seed, root)) {
    throw new ProofError(
      `inclusion proof for index ${index} in size ${size} leads to root ${hex(seed).slice(0, 16)}…, expected ${hex(root).slice(0, 16)}…`,
    );
  }
}

// -- witness cosignatures -------------------------------------------------------------------

/** Valid cosignatures by trusted witnesses; a trusted witness's bad one raises. */
export async function cosignatures(raw, witnesses) {
  const [text, sigs] = parseNote(raw);
  const known = new Map(witnesses.map((w) => [`${w.name}/${w.keyId}`, w]));
  const out = new Map();
  for (const sig of sigs) {
    const k = `${sig.name}/${sig.keyId}`;
    const w = known.get(k);
    if (w === undefined || out.has(k)) continue;
    if (!(await w.verify(utf8(text), sig.signature))) {
      throw new SignatureError(
        `the cosignature by witness ${sig.name} (key ${hex8(sig.keyId)}) does not verify`,
      );
    }
    const time = Number(new DataView(sig.signature.buffer, sig.signature.byteOffset).getBigUint64(0));
    out.set(k, { name: w.name, vkey: w.vkey, time });
  }
  return [...out.values()];
}
