// Reading a bundle zip without trusting it, as verifier/_zip.py does: names, sizes,
// ratios and members are checked on the headers before a byte is inflated, and every
// read is capped while it happens. The central directory is parsed as Python's zipfile
// parses it (the CLI's reader), so both see the same members with the same names.
//
// The video is never read whole: a stored member is a Blob slice of the picked file.

import { FormatError, decodeUtf8 } from "./bytes.js";

export const MAX_MEMBERS = 32;
export const MAX_RATIO = 100;
export const RATIO_FLOOR = 1 << 20;
export const MAX_TOTAL = 16 * 2 ** 30 + (64 << 20);

export class BundleError extends Error {
  constructor(message, hint) {
    super(message);
    this.hint = hint;
  }
}

export class MemberError extends Error {
  constructor(problem) {
    super(problem.message);
    this.problem = problem;
  }
}

export const problem = (message, expected = null, found = null) => ({ message, expected, found });

// cp437's upper half: what zipfile decodes a name with when the UTF-8 flag is not set.
const CP437 =
  "ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■ ";

function decodeName(bytes, utf8Flag) {
  if (utf8Flag) {
    const text = decodeUtf8(bytes);
    if (text === null) throw new BundleError("a member name is not UTF-8");
    return text;
  }
  let out = "";
  for (const b of bytes) out += b < 128 ? String.fromCharCode(b) : CP437[b - 128];
  return out;
}

function encodeNameLike(name, utf8Flag) {
  if (utf8Flag) return new TextEncoder().encode(name);
  const out = [];
  for (const ch of name) {
    const code = ch.codePointAt(0);
    if (code < 128) out.push(code);
    else {
      const at = CP437.indexOf(ch);
      out.push(at >= 0 ? at + 128 : 0x3f); // Python's "replace" error handler writes '?'
    }
  }
  return new Uint8Array(out);
}

let CRC_TABLE = null;
function crc32(crc, data) {
  if (CRC_TABLE === null) {
    CRC_TABLE = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      CRC_TABLE[n] = c >>> 0;
    }
  }
  let c = ~crc >>> 0;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

export function nameProblem(name) {
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f]/.test(name)) return "contains a control character";
  if (name.includes("\\")) return "contains a backslash (a path separator on Windows)";
  if (name.startsWith("/")) return "is an absolute path";
  if (/^[A-Za-z]:/.test(name)) return "starts with a drive letter";
  const parts = name.replace(/\/+$/, "").split("/");
  if (parts.includes("..")) return "climbs out of the bundle with '..' (path traversal)";
  if (parts.some((p) => p === "" || p === ".")) return "is not a normalized relative path";
  return null;
}

const pyRepr = (s) => (s.includes("'") && !s.includes('"') ? `"${s}"` : `'${s}'`);
export { pyRepr };

async function bytesAt(blob, start, length) {
  return new Uint8Array(await blob.slice(start, start + length).arrayBuffer());
}

export class BundleZip {
  static async open(file) {
    const z = new BundleZip(file);
    await z.parse();
    return z;
  }

  constructor(file) {
    this.file = file;
    this.infos = [];
    this.startDir = 0;
  }

  get names() {
    return this.infos.map((i) => i.filename);
  }

  find(name) {
    return this.infos.find((i) => i.filename === name) ?? null;
  }

  async parse() {
    const size = this.file.size;
    const bad = (why) =>
      new BundleError(
        `${this.file.name} is not a readable zip file: ${why}`,
        "a bundle is the .zip that `packseal export` writes; was the download cut?",
      );
    if (size < 22) throw bad("File is not a zip file");
    const tailLength = Math.min(size, 22 + 65535);
    const tail = await bytesAt(this.file, size - tailLength, tailLength);
    let eocd = -1;
    for (let i = tail.length - 22; i >= 0; i--) {
      if (tail[i] === 0x50 && tail[i + 1] === 0x4b && tail[i + 2] === 5 && tail[i + 3] === 6) {
        eocd = i;
        break;
      }
    }
    if (eocd < 0) throw bad("File is not a zip file");
    const dv = new DataView(tail.buffer, tail.byteOffset);
    const location = size - tailLength + eocd;
    let count = dv.getUint16(eocd + 10, true);
    let sizeCd = dv.getUint32(eocd + 12, true);
    let offsetCd = dv.getUint32(eocd + 16, true);
    let concat = location - sizeCd - offsetCd;
    if (eocd >= 20) {
      const loc = new DataView(tail.buffer, tail.byteOffset + eocd - 20, 20);
      if (loc.getUint32(0, true) === 0x07064b50) {
        const at = Number(loc.getBigUint64(8, true));
        const rec = await bytesAt(this.file, at, 56);
        const r = new DataView(rec.buffer);
        if (rec.length < 56 || r.getUint32(0, true) !== 0x06064b50) {
          throw bad("Corrupt zip64 end of central directory locator");
        }
        count = Number(r.getBigUint64(32, true));
        sizeCd = Number(r.getBigUint64(40, true));
        offsetCd = Number(r.getBigUint64(48, true));
        concat = location - sizeCd - offsetCd - 56 - 20;
      }
    }
    this.startDir = offsetCd + concat;
    if (this.startDir < 0) throw bad("Bad offset for central directory");
    if (sizeCd > 64 << 20) throw bad("the central directory is larger than 64 MB");
    const cd = await bytesAt(this.file, this.startDir, sizeCd);
    const c = new DataView(cd.buffer);
    let pos = 0;
    while (pos < sizeCd) {
      if (pos + 46 > cd.length || c.getUint32(pos, true) !== 0x02014b50) {
        throw bad("Bad magic number for central directory");
      }
      const flags = c.getUint16(pos + 8, true);
      const nameLen = c.getUint16(pos + 28, true);
      const extraLen = c.getUint16(pos + 30, true);
      const commentLen = c.getUint16(pos + 32, true);
      const rawName = cd.subarray(pos + 46, pos + 46 + nameLen);
      const origName = decodeName(rawName, flags & 0x800);
      const nul = origName.indexOf("\x00");
      const info = {
        origFilename: origName,
        filename: nul >= 0 ? origName.slice(0, nul) : origName,
        createSystem: c.getUint8(pos + 5),
        flagBits: flags,
        compressType: c.getUint16(pos + 10, true),
        crc: c.getUint32(pos + 16, true),
        compressSize: c.getUint32(pos + 20, true),
        fileSize: c.getUint32(pos + 24, true),
        externalAttr: c.getUint32(pos + 38, true),
        headerOffset: c.getUint32(pos + 42, true),
      };
      parseZip64Extra(info, cd.subarray(pos + 46 + nameLen, pos + 46 + nameLen + extraLen));
      info.headerOffset += concat;
      this.infos.push(info);
      pos += 46 + nameLen + extraLen + commentLen;
    }
    void count;
  }

  // -- the structural scan (headers only) ----------------------------------------------

  async scan(caps, defaultCap) {
    const problems = [];
    if (this.infos.length > MAX_MEMBERS) {
      problems.push(
        problem(
          `the zip has ${this.infos.length} members, more than ${MAX_MEMBERS}`,
          `at most ${MAX_MEMBERS} members`,
          `${this.infos.length} members`,
        ),
      );
      return problems;
    }
    const seen = new Map();
    let total = 0;
    for (const info of this.infos) {
      const name = info.origFilename;
      const why = nameProblem(name);
      if (why !== null) {
        problems.push(
          problem(`member name ${pyRepr(name)} ${why}`, "a plain relative name", pyRepr(name)),
        );
      }
      const folded = info.filename.toLowerCase();
      if (seen.has(folded)) {
        problems.push(
          problem(
            `member ${pyRepr(info.filename)} appears twice (as ${pyRepr(seen.get(folded))} ` +
              "before): tools disagree on which copy they read",
            "each member once",
            `${pyRepr(info.filename)} twice`,
          ),
        );
      }
      seen.set(folded, info.filename);
      if (info.createSystem === 3 && ((info.externalAttr >>> 16) & 0o170000) === 0o120000) {
        problems.push(
          problem(`member ${pyRepr(info.filename)} is a symbolic link`, "regular files", "a symlink"),
        );
      }
      if (info.flagBits & 0x1) {
        problems.push(
          problem(`member ${pyRepr(info.filename)} is encrypted`, "plain members", "encrypted"),
        );
      }
      if (info.compressType !== 0 && info.compressType !== 8) {
        problems.push(
          problem(
            `member ${pyRepr(info.filename)} uses compression method ${info.compressType}`,
            "stored (0) or deflate (8)",
            `method ${info.compressType}`,
          ),
        );
      }
      const cap = caps[info.filename] ?? defaultCap;
      if (info.fileSize > cap) {
        problems.push(
          problem(
            `member ${pyRepr(info.filename)} declares ${info.fileSize} bytes, more than the ` +
              `${cap} a bundle member of its kind may hold`,
            `at most ${cap} bytes`,
            `${info.fileSize} bytes`,
          ),
        );
      }
      const ratio = info.fileSize / Math.max(info.compressSize, 1);
      if (info.fileSize > RATIO_FLOOR && ratio > MAX_RATIO) {
        problems.push(
          problem(
            `member ${pyRepr(info.filename)} expands ${Math.round(ratio)}x (${info.compressSize} ` +
              `to ${info.fileSize} bytes): a zip bomb`,
            `a compression ratio of at most ${MAX_RATIO}`,
            `${Math.round(ratio)}`,
          ),
        );
      }
      total += info.fileSize;
    }
    if (total > MAX_TOTAL) {
      problems.push(
        problem(
          `the members declare ${total} bytes in all, more than ${MAX_TOTAL}`,
          `at most ${MAX_TOTAL} bytes`,
          `${total} bytes`,
        ),
      );
    }
    if (problems.length === 0) problems.push(...(await this.layoutProblems()));
    return problems;
  }

  async layoutProblems() {
    const spans = [];
    for (const info of this.infos) {
      let start;
      try {
        start = await this.dataOffset(info);
      } catch (e) {
        if (e instanceof MemberError) return [e.problem];
        throw e;
      }
      const end = start + info.compressSize;
      if (end > this.startDir) {
        return [
          problem(
            `member ${pyRepr(info.filename)} runs past the end of the archive's data`,
            `its bytes to end by offset ${this.startDir}`,
            `they end at ${end}`,
          ),
        ];
      }
      spans.push([info.headerOffset, end, info.filename]);
    }
    spans.sort((a, b) => a[0] - b[0] || a[1] - b[1] || (a[2] < b[2] ? -1 : 1));
    for (let i = 1; i < spans.length; i++) {
      const [, endA, a] = spans[i - 1];
      const [startB, , b] = spans[i];
      if (startB < endA) {
        return [
          problem(
            `members ${pyRepr(a)} and ${pyRepr(b)} share bytes (overlapping members: a zip ` +
              "bomb or a disguised member)",
            "members stored one after the other",
            `${pyRepr(b)} starts at ${startB}, inside ${pyRepr(a)}`,
          ),
        ];
      }
    }
    return [];
  }

  async dataOffset(info) {
    if (info._dataOffset !== undefined) return info._dataOffset;
    const size = this.file.size;
    if (!(info.headerOffset >= 0 && info.headerOffset < size)) {
      throw new MemberError(
        problem(
          `member ${pyRepr(info.filename)}: its local header offset ${info.headerOffset} is ` +
            "outside the file",
          `an offset below ${size}`,
          String(info.headerOffset),
        ),
      );
    }
    const head = await bytesAt(this.file, info.headerOffset, 30);
    if (head.length !== 30) {
      throw new MemberError(problem(`member ${pyRepr(info.filename)}: its local header is cut off`));
    }
    const h = new DataView(head.buffer);
    const signature = h.getUint32(0, true);
    const method = h.getUint16(8, true);
    const nameLen = h.getUint16(26, true);
    const extraLen = h.getUint16(28, true);
    const rawName = await bytesAt(this.file, info.headerOffset + 30, nameLen);
    if (signature !== 0x04034b50 || method !== info.compressType) {
      throw new MemberError(
        problem(
          `member ${pyRepr(info.filename)}: the local header does not match the central directory`,
          "a local file header with the same compression method",
          `signature ${signature.toString(16)}, method ${method}`,
        ),
      );
    }
    const expected = encodeNameLike(info.origFilename, info.flagBits & 0x800);
    if (!sameBytes(rawName, expected)) {
      const shown = new TextDecoder("latin1").decode(rawName.subarray(0, 80));
      throw new MemberError(
        problem(
          `member ${pyRepr(info.filename)} is named b${pyRepr(shown)} in its local header: ` +
            "tools that read local headers would see another file",
          pyRepr(info.origFilename),
          `b${pyRepr(shown)}`,
        ),
      );
    }
    info._dataOffset = info.headerOffset + 30 + nameLen + extraLen;
    return info._dataOffset;
  }

  // -- reading members ---------------------------------------------------------------

  /** A member's bytes, inflated under ``cap`` and checked against its CRC. */
  async read(info, cap) {
    const start = await this.dataOffset(info);
    const raw = this.file.slice(start, start + info.compressSize);
    let out;
    try {
      out = await inflateCapped(raw, info, cap);
    } catch (e) {
      if (e instanceof MemberError) throw e;
      throw new MemberError(problem(`member ${pyRepr(info.filename)} cannot be read: ${e.message}`));
    }
    if (out.length !== info.fileSize) {
      throw new MemberError(
        problem(
          `member ${pyRepr(info.filename)} declares ${info.fileSize} bytes but holds ${out.length}`,
          `${info.fileSize} bytes`,
          `${out.length} bytes`,
        ),
      );
    }
    if (crc32(0, out) !== info.crc) {
      throw new MemberError(
        problem(`member ${pyRepr(info.filename)} cannot be read: Bad CRC-32 for file ${pyRepr(info.filename)}`),
      );
    }
    return out;
  }

  /** The video member as a Blob: a slice of the file in place if stored, else inflated. */
  async openVideo(info, cap) {
    const start = await this.dataOffset(info);
    if (info.compressType === 0) return this.file.slice(start, start + info.compressSize);
    try {
      return new Blob([await inflateCapped(this.file.slice(start, start + info.compressSize), info, cap, "inflates past")]);
    } catch (e) {
      if (e instanceof MemberError) throw e;
      throw new MemberError(problem(`member ${pyRepr(info.filename)} cannot be inflated: ${e.message}`));
    }
  }
}

function sameBytes(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function parseZip64Extra(info, extra) {
  const dv = new DataView(extra.buffer, extra.byteOffset, extra.length);
  let pos = 0;
  while (pos + 4 <= extra.length) {
    const id = dv.getUint16(pos, true);
    const len = dv.getUint16(pos + 2, true);
    if (id === 0x0001) {
      let at = pos + 4;
      const next = () => {
        if (at + 8 > pos + 4 + len) throw new FormatError("Corrupt extra field 0001");
        const v = Number(dv.getBigUint64(at, true));
        at += 8;
        return v;
      };
      if (info.fileSize === 0xffffffff) info.fileSize = next();
      if (info.compressSize === 0xffffffff) info.compressSize = next();
      if (info.headerOffset === 0xffffffff) info.headerOffset = next();
    }
    pos += 4 + len;
  }
}

async function inflateCapped(blob, info, cap, verb = "holds more than") {
  const tooMuch = () =>
    new MemberError(
      problem(
        verb === "holds more than"
          ? `member ${pyRepr(info.filename)} holds more than ${cap} bytes`
          : `member ${pyRepr(info.filename)} inflates past ${cap} bytes`,
        `at most ${cap} bytes`,
        "more",
      ),
    );
  if (info.compressType === 0) {
    if (blob.size > cap) throw tooMuch();
    return new Uint8Array(await blob.arrayBuffer());
  }
  const reader = blob.stream().pipeThrough(new DecompressionStream("deflate-raw")).getReader();
  const chunks = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > cap) {
      await reader.cancel();
      throw tooMuch();
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
