// The injected bridge's entry: the client over the WebKit transport, as `window.auroraview`.
//
// Bundled (scripts/build-bridge.mjs) into one classic script, src/webview/bridge.gen.js,
// which the window injects before any page script runs.

import { createClient, extendClient } from "./client.js";
import { InvokeError } from "./errors.js";
import { webkitTransport } from "./transports/webkit.js";

const installed = (window as unknown as { auroraview?: { __bridge?: unknown } }).auroraview;
// Injected twice into one document (the guard runs before the transport says `hello`).
if (!(installed && installed.__bridge === 1)) {
  // Pages written for the seeds listen with `window.addEventListener("update_data", e => e.detail)`.
  // Only event types something listens to on `window` become DOM events: building and
  // dispatching a CustomEvent for every host event halved the events/s `make bench` measures.
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
  const client = createClient(webkitTransport(), {
    onEvent: (event, payload) => {
      if (domTypes.has(event)) window.dispatchEvent(new CustomEvent(event, { detail: payload }));
    },
  });
  const auroraview = extendClient(client, { __bridge: 1 as const, InvokeError });
  Object.defineProperty(window, "auroraview", { value: auroraview, writable: false, configurable: false });
  // `auroraviewready` fires once the page's own scripts could register for it.
  void client.ready.then(() => window.dispatchEvent(new CustomEvent("auroraviewready", { detail: auroraview })));
}
