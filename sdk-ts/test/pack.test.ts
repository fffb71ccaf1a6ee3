// The published package: `npm pack` builds it, and a new project installs the tarball and
// uses it from TypeScript (--strict, bundler and node16 resolution) and from Node, the React
// subpath (`@auroraview/sdk/react`) included.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
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

// The React subpath, for a project that has react (an optional peer dependency).
const USE_REACT = `import { commandWithParams } from "@auroraview/sdk";
import { useCommand, useConnection, type CommandState } from "@auroraview/sdk/react";
const add = commandWithParams<{ a: number; b: number }, number>("add");
export function useSum(): CommandState<number> {
  void useConnection().ready;
  return useCommand(add, { a: 1, b: 2 });
}
// @ts-expect-error b is a number
export const wrong = () => useCommand(add, { a: 1, b: "2" });
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
    assert.ok(listing.includes("package/dist/react/index.js") && listing.includes("package/dist/react/index.d.ts"), listing.join(" "));
    assert.ok(!listing.some((f) => f.startsWith("package/src/") || f.startsWith("package/test/")), "sources stay out");

    const app = join(work, "app");
    execFileSync("mkdir", ["-p", app]);
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
    execFileSync("npm", ["install", "--silent", "--no-audit", "--no-fund", join(work, tarball)], { cwd: app, stdio: "pipe" });
    // react and its types as the project would have them (the SDK's own copies: nothing is fetched).
    for (const dep of ["react", "@types/react"]) {
      mkdirSync(dirname(join(app, "node_modules", dep)), { recursive: true });
      symlinkSync(join(sdk, "node_modules", dep), join(app, "node_modules", dep), "dir");
    }
    writeFileSync(join(app, "use.ts"), USE);
    writeFileSync(join(app, "use-react.ts"), USE_REACT);
    const options = { strict: true, noEmit: true, target: "es2020", lib: ["es2020", "dom"], types: [], skipLibCheck: false };
    writeFileSync(join(app, "tsconfig.json"), JSON.stringify({ compilerOptions: options, files: ["use.ts", "use-react.ts"] }));
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
    // The subpath loads in Node and shares the package's active backend (one module instance).
    const hooks = execFileSync(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        `import * as react from "@auroraview/sdk/react";
         import { getAuroraView } from "@auroraview/sdk";
         console.log(JSON.stringify({ hooks: Object.keys(react).sort(), shared: typeof getAuroraView }));`,
      ],
      { cwd: app, encoding: "utf8" },
    );
    assert.deepEqual(JSON.parse(hooks), {
      hooks: ["useCommand", "useConnection", "useEvent", "useLastEvent", "useLazyCommand", "useStream", "useTopic"],
      shared: "function",
    });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
