// Bundle the two page-side classic scripts the Rust crate embeds:
// - src/bridge.ts → src/webview/bridge.gen.js, injected into a window before any page script;
// - src/ws-global.ts → src/net/client.gen.js, served at /__auroraview/client.js to pages an
//   auroraview server serves to browsers (window.auroraview over a WebSocket).
// `--check` changes nothing and fails when a checked-in file is stale.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const check = process.argv.includes("--check");

const BUNDLES = [
  { entry: "src/bridge.ts", target: "../src/webview/bridge.gen.js" },
  { entry: "src/ws-global.ts", target: "../src/net/client.gen.js" },
];

let stale = false;
for (const { entry, target: relative } of BUNDLES) {
  const target = join(root, relative);
  const result = await build({
    absWorkingDir: root, // module paths in the bundle's comments are relative to sdk-ts/
    entryPoints: [entry],
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
    console.error(`the ${entry} bundle must be one strict classic script (an IIFE, no import or export)`);
    process.exit(1);
  }

  const text =
    `// @generated from sdk-ts/${entry} (and the modules it imports) by \`npm run build:bridge\` (in sdk-ts/) — DO NOT EDIT.\n` +
    bundle.replace(/\r\n/g, "\n").trimEnd() +
    "\n";

  if (check) {
    let current = "";
    try {
      current = readFileSync(target, "utf8");
    } catch {
      // missing counts as stale
    }
    if (current !== text) {
      console.error(`${target} is stale: run \`npm run build:bridge\` in sdk-ts/ and commit it`);
      stale = true;
    } else {
      console.log(`${relative.split("/").pop()} is fresh`);
    }
  } else {
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, text);
    console.log(`wrote ${target}`);
  }
}
if (stale) process.exit(1);
