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

// Headers are read from a window of the file that moves forward: one read per
// megabyte, not one per box (a one-hour clip has ~5,400 boxes).
class HeaderReader {
  constructor(blob) {
    this.blob = blob;
    this.start = 0;
    this.bytes = new Uint8Array(0);
  }

  async at(pos, n) {
    const end = pos + n;
    if (pos < this.start || end > this.start + this.bytes.length) {
      this.start = pos;
      const want = Math.max(n, 1 << 20);
      this.bytes = new Uint8Array(await this.blob.slice(pos, pos + want).arrayBuffer());
    }
    return this.bytes.subarray(pos - this.start, Math.min(end - this.start, this.bytes.length));
  }
}

async function* iterBoxes(blob) {
  const end = blob.size;
  const reader = new HeaderReader(blob);
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

/** {init: {start, end}, fragments: [{start, end}, ...]} of a whole clip. */
export async function splitFragments(blob) {
  const boxes = iterBoxes(blob);
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
    box = await next();
  }
  return { init: { start: 0, end: initEnd }, fragments };
}
