// The network page's entry: `window.auroraview` over a WebSocket to the server that served
// the page, as the injected bridge (bridge.ts) defines it in a window.
//
// Bundled (scripts/build-bridge.mjs) into one classic script, src/net/client.gen.js, which
// the server serves at /__auroraview/client.js and references from every HTML page it
// serves. No token: the page was opened through the printed `/?token=…` URL, so the
// browser holds the server's HttpOnly cookie and the upgrade is authenticated by it
// (docs/network.md, "Authentication"); the token never reaches page scripts.

import { createClient, extendClient } from "./client.js";
import { InvokeError } from "./errors.js";
import { websocketTransport, WEBSOCKET_PATH } from "./transports/websocket.js";

const installed = (window as unknown as { auroraview?: unknown }).auroraview;
// Loaded twice, or into an auroraview window whose bridge is there already: change nothing.
if (installed === undefined) {
  // As in bridge.ts: seed pages listen with `window.addEventListener("update_data", ...)`;
  // only event types something listens to on `window` become DOM events.
  const domTypes = new Set<string>();
  const addEventListener = window.addEventListener;
  Object.defineProperty(window, "addEventListener", {
    value: function (this: unknown, ...args: Parameters<typeof window.addEventListener>): void {
      domTypes.add(String(args[0]));
      addEventListener.apply(this ?? window, args);
    },
    writable: true,
    configurable: true,
  });
  const transport = websocketTransport({ url: WEBSOCKET_PATH }); // against location: same origin
  const client = createClient(transport, {
    onEvent: (event, payload) => {
      if (domTypes.has(event)) window.dispatchEvent(new CustomEvent(event, { detail: payload }));
    },
  });
  const auroraview = extendClient(client, { __bridge: 1 as const, InvokeError, connection: transport.connection });
  Object.defineProperty(window, "auroraview", { value: auroraview, writable: false, configurable: false });
  // `auroraviewready` fires once, when the first welcome came and the page's own scripts
  // could register for it (DOMContentLoaded), as in a window.
  const parsed = new Promise<void>((resolve) => {
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", () => resolve(), { once: true });
    else resolve();
  });
  void Promise.all([client.ready, parsed]).then(
    () => window.dispatchEvent(new CustomEvent("auroraviewready", { detail: auroraview })),
    () => {}, // closed before it ever opened (4001: no cookie): `connection` says why
  );
}
