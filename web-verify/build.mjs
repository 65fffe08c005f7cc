// Build the verify page: bundle src/main.js with esbuild, inline it and the stylesheet
// into src/page.html, and pin both with CSP hashes. The output is deterministic for a
// given source and esbuild version, so a fresh build can be compared with the
// committed file (`node build.mjs --check`).
//
//   node build.mjs [--out PATH] [--check]
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const outAt = args.indexOf("--out");
const out = outAt >= 0 ? args[outAt + 1] : join(here, "..", "packseal", "web", "verify.html");

const result = await esbuild.build({
  entryPoints: [join(here, "src", "main.js")],
  bundle: true,
  format: "iife",
  target: ["chrome120", "firefox128", "safari17"],
  minify: false,
  legalComments: "inline",
  charset: "utf8",
  write: false,
});
// "</script" inside the script would end the element early; esbuild escapes it in
// strings, and this check makes sure nothing else does.
const script = result.outputFiles[0].text;
if (/<\/script/i.test(script)) throw new Error("the bundled script contains </script");
const style = readFileSync(join(here, "src", "page.css"), "utf8");
const pkg = JSON.parse(readFileSync(join(here, "package.json"), "utf8"));
const digest = (text) => `'sha256-${createHash("sha256").update(text, "utf8").digest("base64")}'`;
const csp = [
  "default-src 'none'",
  `script-src ${digest(script)}`,
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
