// The page's words in English or Simplified Chinese, chosen by the browser's languages
// as the portal chooses by Accept-Language (packseal/i18n.py negotiate): zh, zh-CN,
// zh-Hans and zh-SG take zh-CN; zh-TW and zh-HK (Traditional) do not. The English text
// is the message id; zh-CN.json holds the translations, and
// tests/packseal/web/test_verify_page_build.py fails when an id used here (t calls in
// src/*.js, data-t in page.html) has none, or its placeholders differ.
//
// Check messages stay in English, as the CLI's library messages do in zh-CN: they name
// members, hashes and offsets a reviewer compares with `packseal verify`'s output.

import ZH_CN from "./zh-CN.json";

const TABLES = { en: {}, "zh-CN": ZH_CN };
const SIMPLIFIED = new Set(["zh", "zh-cn", "zh-hans", "zh-sg", "zh-hans-cn"]);
let table = TABLES.en;
export let language = "en";

/** The first of the browser's preferred languages the page speaks, else English. */
export function pick(languages) {
  for (const tag of languages ?? []) {
    const lower = String(tag).toLowerCase();
    if (SIMPLIFIED.has(lower)) return "zh-CN";
    if (lower === "en" || lower.startsWith("en-")) return "en";
  }
  return "en";
}

export function setLanguage(lang) {
  language = lang in TABLES ? lang : "en";
  table = TABLES[language];
}

/** `text` in the page's language, with {name} placeholders filled from `values`. */
export function t(text, values = {}) {
  const found = Object.hasOwn(table, text) ? table[text] : text;
  return found.replace(/\{(\w+)\}/g, (whole, key) => (Object.hasOwn(values, key) ? String(values[key]) : whole));
}

/** Translate the static page: elements marked data-t (their text is the id) and
 * data-t-placeholder (their placeholder). */
export function translatePage(doc) {
  doc.documentElement.lang = language;
  for (const node of doc.querySelectorAll("[data-t]")) node.textContent = t(node.textContent.replace(/\s+/g, " ").trim());
  for (const node of doc.querySelectorAll("[data-t-placeholder]")) node.placeholder = t(node.placeholder);
}
