// Build the verify page: bundle src/main.js with esbuild, inline it and the stylesheet
// into src/page.html, and pin both with CSP hashes. The output is deterministic for a
// given source and esbuild version, so a fresh build can be compared with the
// committed file (`node build.mjs --check`).
//
//   node build.mjs [--out PATH] [--check]
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const outAt = args.indexOf("--out");
const out = outAt >= 0 ? args[outAt + 1] : join(here, "..", "packseal", "web", "verify.html");

// Third-party code (pkijs + asn1js, for the RFC 3161 check) is bundled on its own,
// minified (~390 kB; pkijs does not tree-shake), as an IIFE that sets one global, and the
// page's own modules import it through a shim: the page's code stays readable in the
// built file, and the vendor bundle's licences are collected from the packages it used.
const VENDOR = {
  pkijs: ["Certificate", "IssuerAndSerialNumber", "SignedData", "TSTInfo", "TimeStampReq", "TimeStampResp"],
  asn1js: ["fromBER"],
  "hash-wasm": ["createSHA256"],
};
const vendor = await esbuild.build({
  stdin: {
    contents: Object.entries(VENDOR).map(([pkg, names]) => `export { ${names.join(", ")} } from "${pkg}";`).join("\n"),
    resolveDir: here,
  },
  bundle: true,
  format: "iife",
  globalName: "packsealVendor",
  target: ["chrome120", "firefox128", "safari17"],
  minify: true,
  legalComments: "inline",
  charset: "utf8",
  write: false,
  metafile: true,
});
const shim = {
  name: "vendor-shim",
  setup(b) {
    b.onResolve({ filter: new RegExp(`^(${Object.keys(VENDOR).join("|")})$`) }, (a) => ({ path: a.path, namespace: "vendor" }));
    b.onLoad({ filter: /.*/, namespace: "vendor" }, (a) => ({
      contents: `export const { ${VENDOR[a.path].join(", ")} } = globalThis.packsealVendor;`,
      loader: "js",
    }));
  },
};
const result = await esbuild.build({
  entryPoints: [join(here, "src", "main.js")],
  bundle: true,
  format: "iife",
  target: ["chrome120", "firefox128", "safari17"],
  minify: false,
  legalComments: "inline",
  charset: "utf8",
  write: false,
  plugins: [shim],
});
// Every package the vendor bundle took code from, with its licence text (BSD-3-Clause and
// MIT ask for the notice to travel with the code).
const packages = new Map();
for (const input of Object.keys(Object.values(vendor.metafile.outputs)[0].inputs)) {
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
  if (m && !packages.has(m[1])) packages.set(m[1], join(here, "node_modules", m[1]));
}
const esc = (t) => t.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const licenses = [...packages.entries()]
  .sort(([a], [b]) => a.localeCompare(b))
  .map(([name, dir]) => {
    const meta = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
    const file = ["LICENSE", "LICENSE.txt", "LICENSE.md"].find((f) => existsSync(join(dir, f)));
    if (!file) throw new Error(`${name} has no licence file: check its licence before bundling it`);
    const text = readFileSync(join(dir, file), "utf8").trim();
    return `<h4>${esc(name)} ${esc(meta.version)} (${esc(meta.license)})</h4>\n<pre>${esc(text)}</pre>`;
  })
  .join("\n");
// "</script" inside the script would end the element early; esbuild escapes it in
// strings, and this check makes sure nothing else does.
const script = `${vendor.outputFiles[0].text}${result.outputFiles[0].text}`;
if (/<\/script/i.test(script)) throw new Error("the bundled script contains </script");
const style = readFileSync(join(here, "src", "page.css"), "utf8");
const pkg = JSON.parse(readFileSync(join(here, "package.json"), "utf8"));
const digest = (text) => `'sha256-${createHash("sha256").update(text, "utf8").digest("base64")}'`;
const csp = [
  "default-src 'none'",
  // 'wasm-unsafe-eval' lets the page compile WebAssembly (hash-wasm's SHA-256 for the
  // whole clip), nothing else: eval and new Function stay refused.
  `script-src ${digest(script)} 'wasm-unsafe-eval'`,
  `style-src ${digest(style)}`,
  "media-src blob:",
  "img-src blob: data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
].join("; ");
const page = readFileSync(join(here, "src", "page.html"), "utf8")
  .replace("%CSP%", () => csp)
  .replace("%VERSION%", () => pkg.version)
  .replace("%STYLE%", () => style)
  .replace("%LICENSES%", () => licenses)
  .replace("%SCRIPT%", () => script);

if (args.includes("--check")) {
  const committed = readFileSync(out, "utf8");
  if (committed !== page) {
    console.error(`${out} differs from a fresh build: run \`npm run build\` in web-verify and commit it`);
    process.exit(1);
  }
  console.log(`${out} matches a fresh build`);
} else {
  writeFileSync(out, page);
  console.log(`wrote ${out} (${page.length} bytes)`);
}
