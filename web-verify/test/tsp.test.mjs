// The page's RFC 3161 check (src/tsp.js) against hostile tokens: every single-bit flip
// of the request and of the response, every truncation, and seeded random garbling. Each
// must be refused with TimestampError or FormatError (never another exception: that
// would be a crash of the page instead of a failed check), or, when accepted (a flip in
// a field the check does not rely on, e.g. a digestAlgorithms entry), state exactly what
// the honest token states: the same genTime, TSA and serial. The bit flips it accepted are
// printed, and the pytest caller checks that `packseal verify` accepts them too.
//
//   node test/tsp.test.mjs DIR   (DIR: checkpoint.txt, checkpoint.tsq, checkpoint.tsr, tsa-root.pem)
import { webcrypto } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";

// Node 18 (Debian 12's) has WebCrypto as node:crypto's webcrypto only, not as the global
// the page's code and pkijs use; pkijs looks for it when it is first imported, so the
// modules under test are imported after this.
globalThis.crypto ??= webcrypto;
const { FormatError } = await import("../src/bytes.js");
const { TimestampError, checkResponse, loadRoots } = await import("../src/tsp.js");

const dir = process.argv[2];
const text = readFileSync(join(dir, "checkpoint.txt"), "utf8");
const tsq = new Uint8Array(readFileSync(join(dir, "checkpoint.tsq")));
const tsr = new Uint8Array(readFileSync(join(dir, "checkpoint.tsr")));
const roots = loadRoots([readFileSync(join(dir, "tsa-root.pem"), "utf8")]);
const honest = await checkResponse(text, tsq, tsr, roots);
const same = (r) => r.genMs === honest.genMs && r.tsa === honest.tsa && r.serial === honest.serial;

let x = 0x9e3779b9;
const rnd = (n) => {
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  return (x >>> 0) % n;
};
const cases = [];
for (const [name, bytes] of [["request", tsq], ["response", tsr]]) {
  const put = (label, changed) => cases.push(name === "request" ? [`${name} ${label}`, changed, tsr] : [`${name} ${label}`, tsq, changed]);
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes.slice();
    c[i] ^= 1 << (i % 8);
    put(`bit flip at ${i}`, c);
  }
  for (let n = 0; n < bytes.length; n += 7) put(`cut at ${n}`, bytes.slice(0, n));
  for (let k = 0; k < 100; k++) {
    const c = bytes.slice();
    for (let j = 0; j < 1 + rnd(8); j++) c[rnd(c.length)] = rnd(256);
    put(`garbled ${k}`, c);
  }
}
const problems = [];
let refused = 0;
let accepted = 0;
const flips = { request: [], response: [] }; // bit flips accepted: the caller asks the CLI
for (const [label, request, response] of cases) {
  try {
    const r = await checkResponse(text, request, response, roots);
    accepted += 1;
    const flip = /^(request|response) bit flip at (\d+)$/.exec(label);
    if (flip) flips[flip[1]].push(Number(flip[2]));
    if (!same(r)) problems.push(`${label}: accepted, and states ${JSON.stringify({ ...r, serial: String(r.serial) })}`);
  } catch (e) {
    refused += 1;
    if (!(e instanceof TimestampError || e instanceof FormatError)) problems.push(`${label}: ${e.constructor.name}: ${e.message}`);
  }
}
if (problems.length) {
  console.error(problems.slice(0, 20).join("\n"));
  process.exit(1);
}
console.log(`${cases.length} hostile tokens: ${refused} refused, ${accepted} accepted as the honest one`);
console.log(`accepted bit flips ${JSON.stringify(flips)}`);
