// Owns the network client: the one client (client.ts) over the WebSocket transport, with the
// connection's API (`av.connection`) added, for `createAuroraView({ url })`. The browser
// global (ws-global.ts) builds the same, plus the bridge's `__bridge` and `InvokeError`.

import { createClient, extendClient, type AuroraViewClient, type ClientOptions } from "./client.js";
import { websocketTransport, type Connection, type WebSocketTransportOptions } from "./transports/websocket.js";

/** `createAuroraView({ url, token, WebSocket, ... })`: the transport's options and the client's. */
export interface NetworkOptions extends WebSocketTransportOptions, ClientOptions {}

/** A client over the network: calls, events and namespaces as in a window, plus the connection. */
export type NetworkAuroraView = AuroraViewClient & {
  /** State, `connected`/`disconnected`/`error` events, `close()`. Listeners registered with
   * `on` live in the client and survive reconnections. */
  readonly connection: Connection;
};

/** A client connected (and reconnecting) to the server at `options.url`. */
export function connectAuroraView(options: NetworkOptions): NetworkAuroraView {
  const transport = websocketTransport(options);
  const client = createClient(transport, { onEvent: options.onEvent });
  return extendClient(client, { connection: transport.connection });
}
