// Test harness: Python emits {"name"} on "run"; the page runs that scenario and reports
// the outcome through the `report` command. Python makes every assertion.
const av = window.auroraview;
const log = (line) => { document.getElementById("log").textContent += line + "\n"; };
const errorShape = (e) => ({ isError: e instanceof Error, name: e.name, code: e.code, message: e.message, data: e.data });
async function settle(promise) {
  try { return { ok: true, value: await promise }; } catch (e) { return { ok: false, error: errorShape(e) }; }
}

const scenarios = {
  async early() { return await window.earlyCall; },

  async calls() {
    return {
      asyncAdd: await av.call("add", { a: 2, b: 3 }),
      syncMul: await av.call("mul", [6, 7]),
      model: await av.call("move", { v: { x: 1, y: 2 } }),
      noParams: await av.call("nothing"),
    };
  },

  async errors() {
    const ac = new AbortController();
    const aborted = av.call("hang", { tag: "abort" }, { signal: ac.signal });
    setTimeout(() => ac.abort(), 50);
    return {
      invalidParams: await settle(av.call("add", { a: "x", b: 1 })),
      notFound: await settle(av.call("no_such_method")),
      handler: await settle(av.call("fail", { kind: "invoke" })),
      internal: await settle(av.call("fail", { kind: "other" })),
      serverTimeout: await settle(av.call("too_slow")),
      clientTimeout: await settle(av.call("hang", { tag: "client-timeout" }, { timeout: 100 })),
      aborted: await settle(aborted),
    };
  },

  async chain({ count }) {
    // One call at a time, as a UI does: quick async and sync calls, with slow ones mixed in.
    const wrong = [];
    for (let i = 0; i < count; i++) {
      if (i % 50 === 25) {
        if (await av.call("nap", { ms: 5 }) !== 5) wrong.push(i);
      } else if (i % 2) {
        if (await av.call("mul", [i, 2]) !== 2 * i) wrong.push(i);
      } else if (await av.call("add", { a: i, b: 1 }) !== i + 1) {
        wrong.push(i);
      }
    }
    return { wrong, pending: av.stats().pending };
  },

  async events_in({ count }) {
    const seen = [];
    let thrown = 0;
    const offBad = av.on("tick", () => { thrown += 1; throw new Error("listener exploded"); });
    const done = new Promise((resolve) => {
      const off = av.on("tick", (p) => { seen.push(p.seq); if (seen.length === count) { off(); offBad(); resolve(); } });
    });
    await av.call("start_ticks", { count });
    await done;
    let inOrder = true;
    for (let i = 0; i < seen.length; i++) if (seen[i] !== i) { inOrder = false; break; }
    return { received: seen.length, inOrder, thrown };
  },

  async events_out({ count }) {
    for (let i = 0; i < count; i++) av.send_event("from_page", { seq: i });
    return await av.call("count_page_events", { expected: count });
  },

  async api() {
    return { data: await av.api.get_data(), saved: await av.api.save({ path: "/tmp/x" }) };
  },

  async tools_namespace() {
    // bind_api(obj, namespace="tools") → auroraview.tools.<method>(params)
    return { shout: await av.tools.shout({ text: "hi" }), missing: await settle(av.tools.nope()) };
  },

  async dom_event() {
    // AuroraView pages listen on window: the payload is in `detail`.
    const viaDom = new Promise((resolve) => window.addEventListener("update_data", (e) => resolve(e.detail), { once: true }));
    const viaOn = new Promise((resolve) => av.once("update_data", resolve));
    await av.call("emit_update", { value: 7 });
    return { dom: await viaDom, on: await viaOn };
  },

  async tricky({ value }) {
    window.__canary = undefined;
    const echoed = await av.call("echo", { value });
    const got = await new Promise((resolve) => av.once("tricky \"</script>", resolve) && av.call("emit_tricky", { value }));
    return { echoed, got, canary: typeof window.__canary };
  },

  async assets() {
    const data = await fetch("sub/data.json");
    const out = { dataStatus: data.status, dataType: data.headers.get("content-type"), csp: data.headers.get("content-security-policy"), body: await data.json() };
    for (const [key, path] of [["dotdot", "../../../../etc/passwd"], ["encoded", "%2e%2e/%2e%2e/etc/passwd"], ["double", "%252e%252e/etc/passwd"], ["missing", "nope.txt"]]) {
      try { const r = await fetch(path); out[key] = r.status; out[key + "Body"] = (await r.text()).slice(0, 40); } catch (e) { out[key] = "error"; }
    }
    return out;
  },

  async hang_many({ count }) {
    for (let i = 0; i < count; i++) av.call("hang", { tag: "many-" + i }).catch(() => {});
    return count;
  },

  async stats() { return av.stats(); },
};

av.on("run", async ({ name, args }) => {
  log("run " + name);
  try {
    const data = await scenarios[name](args || {});
    await av.call("report", { name, ok: true, data });
  } catch (e) {
    await av.call("report", { name, ok: false, data: errorShape(e) });
  }
});

window.addEventListener("auroraviewready", () => {
  document.getElementById("status").textContent = "ready";
  av.call("page_ready", { url: location.href });
});
