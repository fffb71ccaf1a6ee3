// The published package: `npm pack` builds it, and a new project installs the tarball and
// uses it from TypeScript (--strict, bundler and node16 resolution) and from Node.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const sdk = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const tsc = join(sdk, "node_modules", ".bin", "tsc");

const USE = `import { createAuroraView, createClient, getAuroraView, InvokeError, mockAuroraView, type AuroraViewBridge, type NetworkAuroraView, type WebSocketConstructor } from "@auroraview/sdk";
const mock = mockAuroraView({ add: (p: { a: number; b: number }) => p.a + p.b });
export const n: Promise<unknown> = mock.call("add", { a: 1, b: 2 });
export const bridge: AuroraViewBridge = window.auroraview; // typed by the package
export const call: Promise<unknown> = window.auroraview.call("x", {}, { timeout: 10 });
// @ts-expect-error: timeout is a number
window.auroraview.call("x", {}, { timeout: "soon" });
export const isError: boolean = new InvokeError({ name: "N", code: "c", message: "m", data: null }) instanceof Error;
export const client = createClient;
export const active = getAuroraView;
// Over the network: typed without @types/ws (the WebSocket option is structural).
export const ctor: WebSocketConstructor = WebSocket;
export const net: NetworkAuroraView = createAuroraView({ url: "ws://127.0.0.1:1/__auroraview/ws", token: "t", WebSocket, heartbeatMs: 1000 });
net.connection.on("disconnected", (info) => info.willReconnect && info.code > 0);
// @ts-expect-error: no such connection event
net.connection.on("opened", () => {});
`;

test("npm pack yields a package TypeScript and Node can use", { timeout: 120_000 }, () => {
  const work = mkdtempSync(join(tmpdir(), "auroraview-sdk-pack-"));
  try {
    execFileSync("npm", ["pack", "--silent", "--pack-destination", work], { cwd: sdk, stdio: "pipe" });
    const tarball = readdirSync(work).find((f) => f.endsWith(".tgz"));
    assert.ok(tarball, "npm pack wrote a tarball");
    const listing = execFileSync("tar", ["-tzf", join(work, tarball)], { encoding: "utf8" }).split("\n").filter(Boolean);
    assert.ok(listing.includes("package/dist/index.js") && listing.includes("package/dist/index.d.ts"), listing.join(" "));
    assert.ok(listing.includes("package/README.md") && listing.includes("package/LICENSE"));
    assert.ok(listing.includes("package/dist/transports/websocket.js") && listing.includes("package/dist/network.d.ts"), listing.join(" "));
    assert.ok(!listing.some((f) => f.startsWith("package/src/") || f.startsWith("package/test/")), "sources stay out");

    const app = join(work, "app");
    execFileSync("mkdir", ["-p", app]);
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
    execFileSync("npm", ["install", "--silent", "--no-audit", "--no-fund", join(work, tarball)], { cwd: app, stdio: "pipe" });
    writeFileSync(join(app, "use.ts"), USE);
    const options = { strict: true, noEmit: true, target: "es2020", lib: ["es2020", "dom"], types: [], skipLibCheck: false };
    writeFileSync(join(app, "tsconfig.json"), JSON.stringify({ compilerOptions: options, files: ["use.ts"] }));
    for (const resolution of [
      ["--module", "esnext", "--moduleResolution", "bundler"],
      ["--module", "node16", "--moduleResolution", "node16"],
    ]) {
      try {
        execFileSync(tsc, ["-p", ".", ...resolution], { cwd: app, encoding: "utf8" });
      } catch (e) {
        assert.fail(`tsc ${resolution.join(" ")}: ${(e as { stdout?: string }).stdout ?? String(e)}`);
      }
    }
    const out = execFileSync(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        `import { mockAuroraView, InvokeError, PROTOCOL_VERSION, resolveEndpoint } from "@auroraview/sdk";
         const mock = mockAuroraView({ add: (p) => p.a + p.b });
         const sum = await mock.call("add", { a: 2, b: 3 });
         const err = await mock.call("missing").catch((e) => e);
         const ws = resolveEndpoint("http://127.0.0.1:8/?token=abc");
         console.log(JSON.stringify({ sum, notFound: err instanceof InvokeError && err.code, v: PROTOCOL_VERSION, ws }));`,
      ],
      { cwd: app, encoding: "utf8" },
    );
    assert.deepEqual(JSON.parse(out), { sum: 5, notFound: "method_not_found", v: 1, ws: { url: "ws://127.0.0.1:8/__auroraview/ws", token: "abc" } });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
