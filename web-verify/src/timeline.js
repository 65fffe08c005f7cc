import { MediaFormatError } from "./fmp4.js";

// A clip's own timeline, as verifier/timeline.py: the bundle's clip.mp4 carries every
// fragment's tfdt less its track's offset and the init's leading empty edit set to 0, so
// players show it from 0 to its length; restoreSealed puts the recorded values back (in
// place) before the part is hashed against the signed entry. Anything else that differs
// still changes a hash; a shipped empty edit that is not 0 is refused.

function boxesIn(bytes, start, end, lenient = false) {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const out = [];
  let pos = start;
  while (pos + 8 <= end) {
    let size = dv.getUint32(pos);
    const type = String.fromCharCode(...bytes.subarray(pos + 4, pos + 8));
    let header = 8;
    if (lenient && size === 0) break; // as verifier/timeline.py's _top
    if (size === 1) {
      if (pos + 16 > end) break;
      size = Number(dv.getBigUint64(pos + 8));
      header = 16;
    } else if (size === 0) {
      size = end - pos;
    }
    if (type === "uuid") header += 16;
    if (size < header || pos + size > end) {
      if (lenient) break;
      throw new MediaFormatError(`offset ${pos}: box '${type}' of ${size} bytes does not fit its parent`, pos);
    }
    out.push({ type, offset: pos, size, header, end: pos + size });
    pos += size;
  }
  if (!lenient && pos !== end) throw new MediaFormatError(`offset ${pos}: trailing bytes inside a box`, pos);
  return out;
}

const children = (bytes, parent, type) =>
  boxesIn(bytes, parent.offset + parent.header, parent.end).filter((b) => b.type === type);

function fullBox(bytes, box, need) {
  const body = box.offset + box.header;
  if (box.end - body < 4 + need) {
    throw new MediaFormatError(`offset ${box.offset}: '${box.type}' box of ${box.size} bytes is too short`, box.offset);
  }
  return [bytes[body], body + 4];
}

const readUint = (bytes, at, width) => {
  let v = 0n;
  for (let i = 0; i < width; i++) v = (v << 8n) | BigInt(bytes[at + i]);
  return v;
};

function writeUint(bytes, field, value) {
  if (value < 0n || value >= 1n << BigInt(8 * field.width)) {
    throw new MediaFormatError(`offset ${field.at}: track ${field.track}'s value ${value} does not fit its ${field.width}-byte field`, field.at);
  }
  for (let i = field.width - 1; i >= 0; i--) {
    bytes[field.at + i] = Number(value & 0xffn);
    value >>= 8n;
  }
}

/** Every tfdt of a fragment's head (styp + moof, maybe more): {track, at, width, value}. */
export function decodeTimes(head) {
  const moofs = boxesIn(head, 0, head.length, true).filter((b) => b.type === "moof");
  if (moofs.length !== 1) {
    throw new MediaFormatError(`a fragment starts with one whole 'moof', found ${moofs.length} in its first ${head.length} bytes`, null);
  }
  const fields = [];
  for (const traf of children(head, moofs[0], "traf")) {
    const tfhd = children(head, traf, "tfhd");
    const tfdt = children(head, traf, "tfdt");
    if (tfhd.length !== 1 || tfdt.length > 1) {
      throw new MediaFormatError(`offset ${traf.offset}: a 'traf' needs one 'tfhd' and at most one 'tfdt', found ${tfhd.length} and ${tfdt.length}`, traf.offset);
    }
    const [, tAt] = fullBox(head, tfhd[0], 4);
    const track = Number(readUint(head, tAt, 4));
    if (tfdt.length === 0) continue;
    const [version, at] = fullBox(head, tfdt[0], 4);
    const width = version === 1 ? 8 : 4;
    fullBox(head, tfdt[0], width);
    fields.push({ track, at, width, value: readUint(head, at, width) });
  }
  return fields;
}

/** Each track's leading empty edit (first elst entry, media_time -1): its duration field. */
export function emptyEdits(init) {
  const fields = [];
  for (const moov of boxesIn(init, 0, init.length).filter((b) => b.type === "moov")) {
    for (const trak of children(init, moov, "trak")) {
      const tkhd = children(init, trak, "tkhd");
      if (tkhd.length !== 1) {
        throw new MediaFormatError(`offset ${trak.offset}: a 'trak' needs one 'tkhd', found ${tkhd.length}`, trak.offset);
      }
      const [tv, tAt] = fullBox(init, tkhd[0], 24);
      const track = Number(readUint(init, tAt + (tv === 1 ? 16 : 8), 4));
      for (const edts of children(init, trak, "edts")) {
        for (const elst of children(init, edts, "elst")) {
          const [version, at] = fullBox(init, elst, 4);
          const width = version === 1 ? 8 : 4;
          if (readUint(init, at, 4) === 0n) continue;
          fullBox(init, elst, 4 + 2 * width + 4);
          const mediaTime = BigInt.asIntN(8 * width, readUint(init, at + 4 + width, width));
          if (mediaTime === -1n) fields.push({ track, at: at + 4, width, value: readUint(init, at + 4, width) });
        }
      }
    }
  }
  return fields;
}

/** Put the sealed bytes of one part back, in place: ``part`` is the init section (it
 * starts with ftyp) or a fragment's head; ``timeline`` the manifest's, as parsed by
 * trust.js ([{track, decode, emptyEdit}] with BigInt numbers). */
export function restoreSealed(part, timeline) {
  const shift = (track) => timeline.find((t) => t.track === track);
  if (String.fromCharCode(...part.subarray(4, 8)) === "ftyp") {
    const edits = new Map(emptyEdits(part).map((f) => [f.track, f]));
    for (const t of timeline) {
      if (t.emptyEdit === 0n) continue;
      const f = edits.get(t.track);
      if (f === undefined) {
        throw new MediaFormatError(`the timeline restores an empty edit of ${t.emptyEdit} on track ${t.track}, but the init section has none there`, null);
      }
      if (f.value !== 0n) {
        throw new MediaFormatError(`offset ${f.at}: track ${t.track}'s leading empty edit lasts ${f.value}; a rebased clip carries 0 (anything else delays the picture)`, f.at);
      }
      writeUint(part, f, t.emptyEdit);
    }
    return;
  }
  for (const f of decodeTimes(part)) {
    const t = shift(f.track);
    if (t !== undefined) writeUint(part, f, f.value + t.decode);
  }
}
