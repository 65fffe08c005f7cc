// The page's clip reader against the Python verifier's split and hashes, under hostile
// read patterns: a file whose stream hands out chunks of random sizes (1 byte up), and
// reader buffers from 4 kB to 16 MB, so chunk and buffer edges fall between every pair
// of boxes. A regression here once hashed one fragment in ~900 wrong in a one-hour clip.
//
//   node test/fmp4.test.mjs CLIP.mp4 HASHES.json     (HASHES: [init, fragment 1, ...])
import { createHash, webcrypto } from "node:crypto";
import { readFileSync } from "node:fs";
import { splitAndHash } from "../src/fmp4.js";

// Node 18 (Debian 12's) has WebCrypto as node:crypto's webcrypto only, not as a global;
// the reader hashes fragments with crypto.subtle when it runs.
globalThis.crypto ??= webcrypto;

const [clipPath, hashesPath] = process.argv.slice(2);
const bytes = new Uint8Array(readFileSync(clipPath));
const want = JSON.parse(readFileSync(hashesPath, "utf8"));
const wantWhole = createHash("sha256").update(bytes).digest("hex");

function rng(seed) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

// A Blob whose stream() yields chunks of random sizes.
function choppy(data, seed, largest) {
  return {
    size: data.length,
    slice: (a = 0, b = data.length) => choppy(data.subarray(a, Math.min(b, data.length)), seed + 1, largest),
    arrayBuffer: async () => data.slice().buffer,
    stream() {
      const next = rng(seed);
      let at = 0;
      return new ReadableStream({
        pull(controller) {
          if (at >= data.length) {
            controller.close();
            return;
          }
          const n = 1 + Math.floor(next() * largest);
          controller.enqueue(data.slice(at, at + n));
          at += n;
        },
      });
    },
  };
}

let failures = 0;
let cases = 0;
for (const buffer of [4096, 65536, 1 << 20, 16 << 20]) {
  for (const [seed, largest] of [[1, 64], [2, 5000], [3, 300_000], [4, 4 << 20]]) {
    const { hashes, whole } = await splitAndHash(choppy(bytes, seed, largest), () => {}, buffer);
    cases++;
    const bad = hashes.map((h, i) => (h === want[i] ? -1 : i)).filter((i) => i >= 0);
    if (whole !== wantWhole) bad.push("the whole file");
    if (hashes.length !== want.length || bad.length) {
      failures++;
      console.error(`buffer ${buffer}, chunks <= ${largest}: ${hashes.length} parts, wrong: ${bad.slice(0, 8)}`);
    }
  }
}
console.log(`${cases - failures} of ${cases} read patterns gave the verifier's ${want.length} hashes and the file's`);
process.exit(failures ? 1 : 0);
