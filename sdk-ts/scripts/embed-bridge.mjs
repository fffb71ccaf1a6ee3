// Wrap the compiled bridge into src/webview/bridge.gen.js, the file the Rust crate embeds.
// `--check` changes nothing and fails when the checked-in file is stale.
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

const here = dirname(fileURLToPath(import.meta.url));
const compiled = readFileSync(join(here, "../build/bridge/bridge.js"), "utf8");
const target = join(here, "../../src/webview/bridge.gen.js");
const text =
  "// @generated from sdk-ts/src/bridge.ts by `npm run build:bridge` (in sdk-ts/) — DO NOT EDIT.\n" +
  compiled.replace(/\r\n/g, "\n").trimEnd() +
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
