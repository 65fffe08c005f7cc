import { hex, sha256Blob } from "./bytes.js";
import { createSHA256 } from "hash-wasm";
import { Sha256 } from "./sha256.js";
import { restoreSealed } from "./timeline.js";

// Split a clip into its init section and its fragments, reading box headers only, with
// the rules of verifier/fmp4.py: ftyp, one moov (and free/skip/uuid) up to the first
// fragment; then [styp] moof mdat per fragment; anything else, trailing bytes or a
// truncated box is an error, never skipped.

export class MediaFormatError extends Error {
  constructor(message, offset = null) {
    super(message);
    this.offset = offset;
  }
}

const INIT_EXTRA = new Set(["free", "skip", "uuid"]);

// The file is read front to back once, in large slices: box headers are parsed and
// each range is hashed from the same buffer (one read per 8 MB, not one per box; a
// one-hour clip has ~5,400 boxes). Bytes behind the last finished range are dropped.
const CHUNK = 16 << 20;
const WHOLE_LIMIT = 64 << 20;
// As verifier/_media.py's MAX_INIT_BYTES: the boxes of a part that are restored whole.
const MAX_HEAD = 1 << 20;

class Sequential {
  // One reusable buffer filled through a BYOB reader: reading a one-hour clip allocates
  // nothing per chunk, so the page's memory does not grow with the clip (measured:
  // bench/README.md, verify_page). Bytes [start, end) of the file sit at buf[off, off+len).
  constructor(blob, bytes = CHUNK) {
    this.blob = blob;
    this.start = 0;
    this.off = 0;
    this.len = 0;
    this.buf = new Uint8Array(bytes);
    this.reader = null;
    this.readerPos = 0;
    // Digests still reading views of buf: Chromium's WebCrypto may read its input after
    // digest() returns (measured: hashes went wrong when the buffer was refilled under
    // them), so nothing is written into buf until they are done.
    this.readers = [];
    // The whole file's SHA-256 (the zip check compares it with SHA256SUMS), fed with every
    // byte as it is read, in order; null once the reading skipped bytes. Set by
    // splitAndHash (wholeHasher: WebAssembly when the page may compile it).
    this.whole = new Sha256();
    this.wholeAt = 0;
  }

  feed(bytes, at) {
    if (this.whole === null) return;
    if (at !== this.wholeAt) {
      this.whole = null;
      return;
    }
    this.whole.update(bytes);
    this.wholeAt += bytes.length;
  }

  wholeHash() {
    return this.whole !== null && this.wholeAt === this.blob.size ? hex(this.whole.digest("binary")) : null;
  }

  get end() {
    return this.start + this.len;
  }

  async ensure(end) {
    end = Math.min(end, this.blob.size);
    if (end <= this.end) return;
    const need = end - this.start;
    await Promise.all(this.readers);
    this.readers = [];
    if (this.off + need > this.buf.length) {
      if (need > this.buf.length) {
        const bigger = new Uint8Array(Math.max(need, 2 * this.buf.length));
        bigger.set(this.buf.subarray(this.off, this.off + this.len));
        this.buf = bigger;
      } else {
        this.buf.copyWithin(0, this.off, this.off + this.len);
      }
      this.off = 0;
    }
    if (this.reader === null || this.readerPos !== this.end) {
      if (this.reader !== null) this.reader.cancel();
      const stream = this.blob.slice(this.end).stream();
      try {
        // A byte stream reads into buf itself: no allocation per chunk (Chromium's Blob).
        this.reader = stream.getReader({ mode: "byob" });
        this.byob = true;
      } catch {
        this.reader = stream.getReader();
        this.byob = false;
      }
      this.spare = null;
      this.readerPos = this.end;
    }
    while (this.end < end && this.byob) {
      const at = this.off + this.len;
      const { done, value } = await this.reader.read(
        new Uint8Array(this.buf.buffer, at, this.buf.length - at),
      );
      if (done) throw new MediaFormatError(`the file ended at offset ${this.end}, before ${end}`, this.end);
      this.buf = new Uint8Array(value.buffer); // the read transferred the buffer to us
      if (value.byteOffset !== at) throw new Error("a byte stream wrote elsewhere than asked");
      this.feed(value, this.end);
      this.len += value.length;
      this.readerPos += value.length;
    }
    while (this.end < end) {
      let chunk = this.spare;
      this.spare = null;
      if (chunk === null) {
        const { done, value } = await this.reader.read();
        if (done) throw new MediaFormatError(`the file ended at offset ${this.end}, before ${end}`, this.end);
        chunk = value;
      }
      const at = this.off + this.len;
      const room = this.buf.length - at;
      if (chunk.length > room) {
        this.spare = chunk.subarray(room);
        chunk = chunk.subarray(0, room);
      }
      this.buf.set(chunk, at);
      this.feed(chunk, this.end);
      this.len += chunk.length;
      this.readerPos += chunk.length;
      if (this.spare !== null && this.end < end) {
        throw new Error("the clip reader's buffer is too small");
      }
    }
  }

  view(start, end) {
    return this.buf.subarray(this.off + start - this.start, this.off + end - this.start);
  }

  drop(before) {
    if (before >= this.end) {
      this.start = before;
      this.off = 0;
      this.len = 0;
    } else if (before > this.start) {
      this.off += before - this.start;
      this.len -= before - this.start;
      this.start = before;
    }
  }

  async at(pos, n) {
    if (pos < this.start) throw new Error("the clip reader went backwards");
    // Bytes between what is buffered and pos belong to a range not hashed yet: read them,
    // unless that range is too large to buffer (then it is streamed: startHash).
    if (pos - this.start > WHOLE_LIMIT) this.drop(pos);
    await this.ensure(pos + n);
    return this.view(pos, Math.min(pos + n, this.end));
  }

  close() {
    if (this.reader !== null) this.reader.cancel();
    this.reader = null;
  }
}

/** Start hashing [start, end) of the reader's file: from its buffer, or streamed for a
 * range too large to buffer (only a hostile file has one). Reading is sequential (this
 * is awaited before the next header is read); the digests run concurrently. */
async function startHash(reader, start, end, headEnd, timeline) {
  if (timeline !== null && headEnd - start > MAX_HEAD) {
    throw new MediaFormatError(
      `the part at offset ${start} has ${headEnd - start} bytes of boxes before its media, more than ${MAX_HEAD}`,
      start,
    );
  }
  if (end - start > WHOLE_LIMIT && timeline !== null) {
    // Only a hostile file has such a fragment: restore its head, stream the rest.
    const head = new Uint8Array(await reader.blob.slice(start, headEnd).arrayBuffer());
    restoreSealed(head, timeline);
    const h = new Sha256();
    h.update(head);
    for (let at = headEnd; at < end; at += 8 << 20) {
      h.update(new Uint8Array(await reader.blob.slice(at, Math.min(end, at + (8 << 20))).arrayBuffer()));
    }
    reader.drop(end);
    return [Promise.resolve(hex(h.digest()))];
  }
  if (end - start > WHOLE_LIMIT) {
    const digest = await sha256Blob(reader.blob, start, end);
    reader.drop(end);
    return [Promise.resolve(digest)];
  }
  await reader.ensure(end);
  // In place: the whole file's hash was fed these bytes as they were read.
  if (timeline !== null) restoreSealed(reader.view(start, headEnd), timeline);
  const digest = crypto.subtle.digest("SHA-256", reader.view(start, end));
  reader.readers.push(digest);
  reader.drop(end);
  // In an array: an async function returning a promise would wait for it.
  return [digest.then((d) => hex(new Uint8Array(d)))];
}

async function* iterBoxes(reader) {
  const end = reader.blob.size;
  let pos = 0;
  while (pos < end) {
    const left = end - pos;
    const head = await reader.at(pos, Math.min(left, 16));
    if (head.length < 8) {
      throw new MediaFormatError(
        `offset ${pos}: ${left} byte(s) left, a box header needs 8 (truncated file or trailing bytes)`,
        pos,
      );
    }
    const dv = new DataView(head.buffer, head.byteOffset, head.length);
    let size = dv.getUint32(0);
    const rawType = head.subarray(4, 8);
    if (!rawType.every((b) => b >= 0x20 && b <= 0x7e)) {
      const hexType = [...rawType].map((b) => b.toString(16).padStart(2, "0")).join("");
      throw new MediaFormatError(
        `offset ${pos}: expected a box, found type bytes ${hexType} (not printable ASCII; ` +
          "trailing garbage or a wrong size in the box before)",
        pos,
      );
    }
    const type = String.fromCharCode(...rawType);
    let header = 8;
    if (size === 1) {
      if (head.length < 16) {
        throw new MediaFormatError(
          `offset ${pos}: box '${type}' has a 64-bit size but only ${left} byte(s) are left`,
          pos,
        );
      }
      size = Number(dv.getBigUint64(8));
      header = 16;
    } else if (size === 0) {
      size = left;
    }
    if (type === "uuid") header += 16;
    if (size < header) {
      throw new MediaFormatError(
        `offset ${pos}: box '${type}' declares ${size} bytes, less than its ${header}-byte header`,
        pos,
      );
    }
    if (size > left) {
      throw new MediaFormatError(
        `offset ${pos}: box '${type}' declares ${size} bytes but only ${left} are left (truncated file)`,
        pos,
      );
    }
    yield { type, offset: pos, size, end: pos + size };
    pos += size;
  }
}

const unexpected = (box, expected) =>
  new MediaFormatError(
    `offset ${box.offset}: expected ${expected}, found box '${box.type}' of ${box.size} bytes`,
    box.offset,
  );

const truncatedFragment = (start, expected) =>
  new MediaFormatError(
    `the fragment starting at offset ${start} ends at the end of the file: expected ${expected}`,
    start,
  );

/** An incremental SHA-256 for the whole clip. WebCrypto has none (digest takes one
 * buffer), and the JavaScript one (sha256.js) was the page's bottleneck: hash-wasm's
 * WebAssembly SHA-256 ran 2.4x faster in the same V8 (bench/README.md, verify_page). It
 * needs 'wasm-unsafe-eval' in the CSP; where WebAssembly is unavailable or refused, the
 * JavaScript one does the same job, slower. */
export async function wholeHasher() {
  try {
    return await createSHA256();
  } catch {
    return new Sha256();
  }
}

/** Split a whole clip and hash its parts in the same pass: {init, fragments} (ranges
 * {start, end}) and hashes [init, fragment 1, ...] (hex). A format error raises
 * MediaFormatError, as verifier/fmp4.py does before any hashing. With the manifest's
 * ``timeline``, each part is hashed with its sealed decode times put back (timeline.js). */
export async function splitAndHash(blob, progress = () => {}, bufferBytes = CHUNK, timeline = null) {
  const reader = new Sequential(blob, bufferBytes);
  reader.whole = await wholeHasher();
  const pending = [];
  const hashed = async (start, end, headEnd) => {
    pending.push((await startHash(reader, start, end, headEnd, timeline))[0]);
  };
  try {
    const layout = await split(reader, hashed, progress);
    const hasher = reader.whole instanceof Sha256 ? "javascript" : "webassembly";
    return { layout, hashes: await Promise.all(pending), whole: reader.wholeHash(), hasher };
  } finally {
    reader.close();
  }
}

async function split(reader, hashed, progress) {
  const boxes = iterBoxes(reader);
  const next = async () => {
    const r = await boxes.next();
    return r.done ? null : r.value;
  };
  const first = await next();
  if (first === null) {
    throw new MediaFormatError("the file is empty: expected an ftyp box at offset 0", 0);
  }
  if (first.type !== "ftyp") throw unexpected(first, "'ftyp' (the start of an init section)");
  let moov = null;
  let initEnd = first.end;
  let box = await next();
  while (box !== null) {
    if (box.type === "styp" || box.type === "moof") break;
    if (box.type === "moov") {
      if (moov !== null) throw unexpected(box, `one 'moov' (the first is at offset ${moov.offset})`);
      moov = box;
    } else if (!INIT_EXTRA.has(box.type)) {
      throw unexpected(box, "'moov' or the first fragment ('styp' or 'moof')");
    }
    initEnd = box.end;
    box = await next();
  }
  if (moov === null) {
    throw new MediaFormatError(
      `the init section (offsets 0-${initEnd}) has no 'moov' box: not a fragmented MP4 clip`,
      0,
    );
  }
  if (box === null) {
    throw new MediaFormatError(
      `offset ${initEnd}: expected the first fragment ('styp' or 'moof'), found the end of the ` +
        "file (an init section alone is not a clip)",
      initEnd,
    );
  }
  // The init section ends where the first fragment starts: hash it before reading on.
  await hashed(0, initEnd, initEnd);
  const fragments = [];
  while (box !== null) {
    const start = box.offset;
    if (box.type === "styp") {
      box = await next();
      if (box === null) throw truncatedFragment(start, "'moof'");
    }
    if (box.type !== "moof") {
      if (box.offset !== start) throw unexpected(box, `'moof' (after the 'styp' at offset ${start})`);
      throw unexpected(box, "the next fragment ('styp' or 'moof') or the end of the file");
    }
    box = await next();
    if (box === null) throw truncatedFragment(start, "'mdat'");
    if (box.type !== "mdat") {
      throw unexpected(box, `'mdat' (the media of the fragment at offset ${start})`);
    }
    fragments.push({ start, end: box.end });
    await hashed(start, box.end, box.offset);
    if (fragments.length % 50 === 0) progress(fragments.length);
    box = await next();
  }
  return { init: { start: 0, end: initEnd }, fragments };
}
