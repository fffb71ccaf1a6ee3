// Bundle src/bridge.ts and what it imports into src/webview/bridge.gen.js, the one classic
// script the Rust crate embeds and injects before any page script.
// `--check` changes nothing and fails when the checked-in file is stale.
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const target = join(root, "../src/webview/bridge.gen.js");

const result = await build({
  absWorkingDir: root, // module paths in the bundle's comments are relative to sdk-ts/
  entryPoints: ["src/bridge.ts"],
  tsconfig: "tsconfig.bridge.json", // strict: esbuild starts the bundle with "use strict"
  bundle: true,
  format: "iife", // a classic script: no import/export, nothing leaks into the page's scope
  target: "es2020",
  platform: "browser",
  minify: false, // the embedded file stays readable
  charset: "utf8",
  legalComments: "none",
  write: false,
  logLevel: "warning",
});
const bundle = result.outputFiles[0].text;

if (/^\s*(import|export)\b/m.test(bundle) || !bundle.startsWith('"use strict";\n(() => {')) {
  console.error("the bridge bundle must be one strict classic script (an IIFE, no import or export)");
  process.exit(1);
}

const text =
  "// @generated from sdk-ts/src/bridge.ts (and the modules it imports) by `npm run build:bridge` (in sdk-ts/) — DO NOT EDIT.\n" +
  bundle.replace(/\r\n/g, "\n").trimEnd() +
  "\n";

if (process.argv.includes("--check")) {
  let current = "";
  try {
    current = readFileSync(target, "utf8");
  } catch {
    // missing counts as stale
  }
  if (current !== text) {
    console.error(`${target} is stale: run \`npm run build:bridge\` in sdk-ts/ and commit it`);
    process.exit(1);
  }
  console.log("bridge.gen.js is fresh");
} else {
  writeFileSync(target, text);
  console.log(`wrote ${target}`);
}
