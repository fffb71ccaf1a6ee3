//! The floor for the window benchmarks: raw wry, no Python, no router, no bridge.
//!
//! A page posts messages with `window.ipc.postMessage`; the GUI thread answers each with one
//! `evaluate_script`. Every figure auroraview's window benchmark reports is measured the same
//! way here, in the same run, so `bench/run.py` can print it as a ratio to this floor.
//!
//!     cargo run --release --example wry_floor -- ROUNDS IN_FLIGHT EVENTS
//!
//! The binary echo floor is a custom-protocol `POST` echoed by a handler registered on
//! WebKit's context, read and answered the way auroraview's call endpoint does
//! (src/webview/endpoint.rs), minus everything else.
//!
//! Prints one JSON object. Timing is taken on the host side (`Instant`), since WebKit's
//! `performance.now()` has 1 ms resolution.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use gtk::prelude::{ContainerExt, GtkWindowExt, WidgetExt};
use webkit2gtk::gio::prelude::{InputStreamExtManual, MemoryInputStreamExt};
use webkit2gtk::{
    gio, glib, SecurityManagerExt, URISchemeRequest, URISchemeRequestExt, URISchemeResponse, URISchemeResponseExt,
    WebContextExt, WebViewExt,
};
use wry::{WebViewBuilder, WebViewBuilderExtUnix, WebViewExtUnix};

/// Echo a `POST` body: read it whole (its announced size at once), answer it as the body.
fn echo(request: &URISchemeRequest) {
    let headers = request.http_headers();
    let announced =
        headers.as_ref().and_then(|h| h.one("Content-Length")).and_then(|n| n.parse::<usize>().ok()).unwrap_or(0);
    let mut body = vec![0u8; announced];
    let mut filled = 0;
    if let Some(stream) = request.http_body() {
        loop {
            if filled == body.len() {
                body.resize(body.len() + (1 << 20), 0);
            }
            match stream.read_all(&mut body[filled..], gio::Cancellable::NONE) {
                Ok((0, None)) => break,
                Ok((n, None)) => filled += n,
                _ => break,
            }
        }
    }
    body.truncate(filled);
    let stream = gio::MemoryInputStream::new();
    stream.add_bytes(&glib::Bytes::from_owned(body));
    let response = URISchemeResponse::new(&stream, filled as i64);
    response.set_status(200, None);
    response.set_content_type("application/octet-stream");
    let out = soup::MessageHeaders::new(soup::MessageHeadersType::Response);
    out.append("Access-Control-Allow-Origin", "*");
    response.set_http_headers(out);
    request.finish_with_response(&response);
}

const PAGE: &str = r#"<!doctype html><html><body><script>
let n = 0, target = 0, payload = "";
const post = (m) => window.ipc.postMessage(m);
window.__floor = {
  latency(count) { n = 0; target = count; post("l"); },
  replyLatency() { if (++n < target) post("l"); else post("done"); },
  burst(count) { n = 0; target = count; for (let i = 0; i < count; i++) post("b"); },
  replyBurst() { if (++n === target) post("done"); },
  echo(count, size) { n = 0; target = count; payload = "x".repeat(size); post("e" + payload); },
  replyEcho(text) { if (text.length !== payload.length) throw new Error("bad echo"); if (++n < target) post("e" + payload); else post("done"); },
  events(count) { n = 0; target = count; },
  records(count) {
    n = 0; target = count;
    const items = [];
    for (let i = 0, size = 0; size < 1048576; i++) {
      const item = {id: i, name: `object_${i}`, visible: i % 2 === 0, pos: [i * 0.5, 1.25, -3.0]};
      items.push(item); size += JSON.stringify(item).length + 1;
    }
    payload = items;
    post("r" + JSON.stringify({items}));
  },
  replyRecords(text) {
    const got = JSON.parse(text);
    if (got.items.length !== payload.length) throw new Error("bad records echo");
    if (++n < target) post("r" + JSON.stringify({items: payload})); else post("done");
  },
  async binary(mib, rounds) {
    const data = new Uint8Array(mib * 1048576);
    for (let i = 0; i < data.length; i += 4096) data[i] = i & 255;
    post("bs");
    for (let r = 0; r < rounds; r++) {
      const res = await fetch("floor://localhost/echo", { method: "POST", body: data });
      const got = new Uint8Array(await res.arrayBuffer());
      if (got.length !== data.length || got[4096] !== data[4096]) throw new Error("bad binary echo");
    }
    post("done");
  },
  receive(batch) { for (const f of JSON.parse(batch)) { if (f.payload.seq !== n) throw new Error("order"); n++; } if (n === target) post("done"); },
};
window.addEventListener("load", () => post("ready"));
</script></body></html>"#;

/// CPU time used so far by every thread of this process, in ns (Linux: per-thread schedstat).
fn cpu_ns() -> u64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return 0 };
    tasks
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

/// Round trips of the binary echoes (10 MiB and 100 MiB).
const BIN_SMALL_ROUNDS: usize = 5;
const BIN_LARGE_ROUNDS: usize = 2;

/// What the loop does with each message of the page.
type Handler = Box<dyn Fn(String)>;

#[derive(Default)]
struct State {
    phase: usize,
    started: Option<Instant>,
    cpu_at_start: u64,
    last: Option<Instant>,
    intervals: Vec<Duration>,
    results: Vec<(String, f64)>,
    record_bytes: usize,
}

fn main() {
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let rounds = args.first().copied().unwrap_or(2000);
    let in_flight = args.get(1).copied().unwrap_or(2000);
    let events = args.get(2).copied().unwrap_or(10_000);
    let echo_rounds = 10usize;
    let mib = 1024 * 1024;

    // GTK on this thread, run by a GLib main loop (as auroraview's standalone GUI thread is).
    gtk::init().expect("gtk");
    let main_loop = glib::MainLoop::new(None, false);
    let window = gtk::Window::new(gtk::WindowType::Toplevel);
    window.set_title("wry floor");
    window.set_default_size(800, 600);
    let vbox = gtk::Box::new(gtk::Orientation::Vertical, 0);
    window.add(&vbox);
    window.show_all();
    let state = Rc::new(RefCell::new(State::default()));
    // Each message is handled at the loop's next iteration (as a user event of an event loop).
    let handler: Rc<RefCell<Option<Handler>>> = Rc::new(RefCell::new(None));
    let to_handler = handler.clone();
    let webview = WebViewBuilder::new()
        .with_html(PAGE)
        .with_ipc_handler(move |req| {
            let (handler, msg) = (to_handler.clone(), req.into_body());
            glib::idle_add_local_full(glib::Priority::DEFAULT, move || {
                if let Some(handle) = handler.borrow().as_ref() {
                    handle(msg.clone());
                }
                glib::ControlFlow::Break
            });
        })
        .build_gtk(&vbox)
        .expect("webview");
    let context = webview.webview().context().expect("context");
    if let Some(security) = context.security_manager() {
        security.register_uri_scheme_as_secure("floor");
        security.register_uri_scheme_as_cors_enabled("floor");
    }
    context.register_uri_scheme("floor", echo);
    let (bin_small, bin_large) = (10usize, 100usize);

    let st = state.clone();
    let quit = main_loop.clone();
    *handler.borrow_mut() = Some(Box::new(move |msg: String| {
        let mut s = st.borrow_mut();
        let now = Instant::now();
        let eval = |js: &str| webview.evaluate_script(js).expect("evaluate_script");
        // Phases: 0 ready → 1 latency → 2 burst → 3 echo → 4 events → 5, 6 binary echoes →
        // 7 1 MiB record echo → done.
        match (s.phase, msg.as_str()) {
            (0, "ready") => {
                s.phase = 1;
                s.last = None;
                s.cpu_at_start = cpu_ns();
                eval(&format!("__floor.latency({rounds})"));
            }
            (1, "l") => {
                if let Some(last) = s.last {
                    s.intervals.push(now - last);
                }
                s.last = Some(now);
                eval("__floor.replyLatency()");
            }
            (1, "done") => {
                let mut v = std::mem::take(&mut s.intervals);
                v.sort();
                let us = |d: Duration| d.as_secs_f64() * 1e6;
                let median = us(v[v.len() / 2]);
                let p99 = us(v[(v.len() * 99 / 100).min(v.len() - 1)]);
                s.results.push(("latency_median_us".into(), median));
                s.results.push(("latency_p99_us".into(), p99));
                let cpu_us = (cpu_ns() - s.cpu_at_start) as f64 / 1e3;
                s.results.push(("latency_cpu_us_per_call".into(), cpu_us / rounds as f64));
                s.phase = 2;
                s.started = Some(now);
                eval(&format!("__floor.burst({in_flight})"));
            }
            (2, "b") => eval("__floor.replyBurst()"),
            (2, "done") => {
                let secs = (now - s.started.unwrap_or(now)).as_secs_f64();
                s.results.push(("burst_per_s".into(), in_flight as f64 / secs));
                s.phase = 3;
                s.started = Some(now);
                eval(&format!("__floor.echo({echo_rounds}, {})", mib));
            }
            (3, m) if m.starts_with('e') => {
                let literal = serde_json::to_string(&m[1..]).expect("json");
                eval(&format!("__floor.replyEcho({literal})"));
            }
            (3, "done") => {
                let secs = (now - s.started.unwrap_or(now)).as_secs_f64();
                s.results.push(("echo_mib_per_s".into(), echo_rounds as f64 / secs));
                s.phase = 4;
                s.started = Some(now);
                eval(&format!("__floor.events({events})"));
                // Pushed the way auroraview batches them: one script per batch of frames.
                for chunk in (0..events).collect::<Vec<_>>().chunks(1000) {
                    let frames: Vec<String> = chunk
                        .iter()
                        .map(|i| format!(r#"{{"type":"event","event":"tick","payload":{{"seq":{i}}}}}"#))
                        .collect();
                    let batch = serde_json::to_string(&format!("[{}]", frames.join(","))).expect("json");
                    eval(&format!("__floor.receive({batch})"));
                }
            }
            (4, "done") => {
                let secs = (now - s.started.unwrap_or(now)).as_secs_f64();
                s.results.push(("events_per_s".into(), events as f64 / secs));
                s.phase = 5;
                eval(&format!("__floor.binary({bin_small}, {BIN_SMALL_ROUNDS})"));
            }
            (5 | 6, "bs") => s.started = Some(now),
            (5, "done") => {
                let secs = (now - s.started.unwrap_or(now)).as_secs_f64();
                s.results.push(("binary_10_mib_per_s".into(), (bin_small * BIN_SMALL_ROUNDS) as f64 / secs));
                s.phase = 6;
                eval(&format!("__floor.binary({bin_large}, {BIN_LARGE_ROUNDS})"));
            }
            (6, "done") => {
                let secs = (now - s.started.unwrap_or(now)).as_secs_f64();
                s.results.push(("binary_100_mib_per_s".into(), (bin_large * BIN_LARGE_ROUNDS) as f64 / secs));
                s.phase = 7;
                s.started = Some(now);
                s.record_bytes = 0;
                eval(&format!("__floor.records({echo_rounds})"));
            }
            (7, m) if m.starts_with('r') => {
                // The plain-JSON path: the page's JSON text, posted, evaluated back as a
                // string literal and parsed (what a JSON echo costs without the custom protocol).
                s.record_bytes += m.len() - 1;
                let literal = serde_json::to_string(&m[1..]).expect("json");
                eval(&format!("__floor.replyRecords({literal})"));
            }
            (7, "done") => {
                let secs = (now - s.started.unwrap_or(now)).as_secs_f64();
                let rate = s.record_bytes as f64 / mib as f64 / secs;
                s.results.push(("records_mib_per_s".into(), rate));
                let body: Vec<String> = s.results.iter().map(|(k, v)| format!("\"{k}\":{v:.3}")).collect();
                println!("{{{}}}", body.join(","));
                quit.quit();
            }
            (phase, other) => panic!("unexpected message {other:?} in phase {phase}"),
        }
    }));
    main_loop.run();
}
