// Streams and channels (docs/streams.md) from a page served by `auroraview serve`
// (tests/net/app.py), over the page's WebSocket client (/__auroraview/client.js): the
// scenarios tests/net/streams.test.mjs runs with `page.evaluate(...)`, each resolving to what
// it saw. tests/e2e/test_streams_window.py is the same from a native window's page.
(() => {
  "use strict";
  const av = window.auroraview;
  const scenarios = {
    /** `n` items of api.count with `for await`: how many, and the first out of order. */
    async order(n) {
      let expected = 0;
      let bad = null;
      for await (const x of av.stream("api.count", { n })) {
        if (x !== expected && bad === null) bad = { at: expected, got: x };
        expected++;
      }
      return { count: expected, bad, stats: av.stats() };
    },
    /** Break out of api.forever at item `at`. */
    async broken(at) {
      const got = [];
      for await (const x of av.stream("api.forever")) {
        got.push(x);
        if (x === at) break;
      }
      return { got, stats: av.stats() };
    },
    /** Abort api.forever at item `at`: what the loop threw. */
    async aborted(at) {
      const ctl = new AbortController();
      const got = [];
      try {
        for await (const x of av.stream("api.forever", undefined, { signal: ctl.signal })) {
          got.push(x);
          if (x === at) ctl.abort();
        }
        return { got, thrown: null };
      } catch (e) {
        return { got, thrown: { name: e.name, code: e.code, isInvokeError: e instanceof av.InvokeError } };
      }
    },
    /** api.fails_after: the items, then the structured error. */
    async failing(n) {
      const got = [];
      try {
        for await (const x of av.stream("api.fails_after", { n })) got.push(x);
        return { got, thrown: null };
      } catch (e) {
        return { got, thrown: { name: e.name, code: e.code, message: e.message, data: e.data } };
      }
    },
    /** api.export with `total` items through its channel: the log of items, then the result. */
    async channel(total) {
      const log = [];
      let settled = false;
      const result = await av
        .call("api.export", { path: "/tmp/page", total }, { onItem: (p) => log.push(settled ? "after the result" : p.done) })
        .then((r) => ((settled = true), r));
      log.push(result);
      return log;
    },
    /** Read api.forever up to item `at` and keep its iterator open (the test then reloads
     * the page: the socket goes, and with it the stream). */
    async held(at) {
      const it = av.stream("api.forever")[Symbol.asyncIterator]();
      window.__streams.held = it;
      for (;;) {
        const { value } = await it.next();
        if (value === at) return av.stats();
      }
    },
  };
  window.__streams = { scenarios, ready: false };
  addEventListener("auroraviewready", () => {
    window.__streams.ready = true;
    document.getElementById("status").textContent = "connected";
  });
})();
