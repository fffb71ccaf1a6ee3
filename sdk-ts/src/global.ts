// Owns the global typing of the injected bridge: importing anything from @auroraview/sdk
// types `window.auroraview` (present in every page of an auroraview window).

import type { AuroraViewClient } from "./client.js";
import type { InvokeError } from "./errors.js";
import type { Connection } from "./transports/websocket.js";

/** `window.auroraview` as the window's injected bridge defines it (frozen). */
export type AuroraViewBridge = AuroraViewClient & {
  /** Marks the injected bridge (a second injection into one document does nothing). */
  readonly __bridge: 1;
  /** The same class `@auroraview/sdk` exports: `instanceof` works across the two bundles. */
  readonly InvokeError: typeof InvokeError;
  /** Only in a page an auroraview server served to a browser (`/__auroraview/client.js`):
   * the WebSocket's state, `connected`/`disconnected` events and `close()`. */
  readonly connection?: Connection;
};

declare global {
  interface Window {
    /** The bridge auroraview injects before any page script runs. Outside an auroraview
     * window it is undefined: prefer `getAuroraView()`, which says so clearly. */
    readonly auroraview: AuroraViewBridge;
  }
}
