import js from "@eslint/js";
import globals from "globals";

export default [
  js.configs.recommended,
  {
    files: ["src/**/*.js"],
    languageOptions: { ecmaVersion: 2023, sourceType: "module", globals: globals.browser },
    rules: { "no-unused-vars": ["error", { varsIgnorePattern: "^_" }], eqeqeq: ["error", "smart"] },
  },
  {
    files: ["build.mjs", "eslint.config.js", "test/**/*.mjs"],
    languageOptions: { ecmaVersion: 2023, sourceType: "module", globals: globals.node },
  },
];
