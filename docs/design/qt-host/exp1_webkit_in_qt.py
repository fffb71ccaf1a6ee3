"""GTK3 + WebKit2GTK objects on the main thread; only Qt's exec() loop runs (no gtk_main)."""
import sys, time, threading, json
from common import xvfb
from common import Display
with Display() as disp:
    from PySide6.QtWidgets import QApplication, QLabel
    from PySide6.QtCore import QTimer, QAbstractEventDispatcher
    app = QApplication(sys.argv)
    print("qt dispatcher:", QAbstractEventDispatcher.instance().metaObject().className())
    import gi
    gi.require_version("Gtk", "3.0"); gi.require_version("WebKit2", "4.1")
    from gi.repository import GLib, Gtk, WebKit2
    ctx = GLib.MainContext.default()
    print("default ctx owned by main thread (Qt pushed it):", ctx.is_owner())
    print("Gtk.init_check:", Gtk.init_check(sys.argv))
    print("WebKit", WebKit2.get_major_version(), WebKit2.get_minor_version(), WebKit2.get_micro_version())
    label = QLabel("qt label"); label.resize(300, 100); label.show()

    t0 = time.monotonic()
    log = []
    def mark(what): log.append((round((time.monotonic()-t0)*1000, 1), what)); print(f"{log[-1][0]:8.1f} ms  {what}", flush=True)

    ucm = WebKit2.UserContentManager()
    ucm.register_script_message_handler("ipc")
    msgs = []
    def on_msg(_m, res):
        v = res.get_js_value().to_string(); msgs.append(v); mark(f"ipc message: {v[:60]}")
        if v.startswith("pong"): pong_times.append(time.monotonic())
    ucm.connect("script-message-received::ipc", on_msg)
    win = Gtk.Window(title="gtk-webkit"); win.set_default_size(500, 300); win.move(350, 0)
    wv = WebKit2.WebView.new_with_user_content_manager(ucm)
    win.add(wv)
    wv.connect("load-changed", lambda v, e: mark(f"load-changed {e.value_nick}"))
    win.connect("destroy", lambda *_: mark("gtk window destroy"))
    wv.load_html("""<html><body style="background:#22aa44"><h1>hello from webkit</h1>
      <script>window.webkit.messageHandlers.ipc.postMessage('script ran, 6*7=' + (6*7));
      window.ping = (n) => window.webkit.messageHandlers.ipc.postMessage('pong ' + n);</script></body></html>""", "http://localhost/")
    win.show_all()
    mark("gtk objects built; entering Qt exec()")

    # Qt-loop stall monitor
    last = [time.monotonic()]; maxgap = [0.0]
    def tick():
        now = time.monotonic(); maxgap[0] = max(maxgap[0], now - last[0]); last[0] = now
    qt_timer = QTimer(); qt_timer.timeout.connect(tick); qt_timer.start(5)

    # Cross-thread handoff: a non-main thread posts work onto the default main context.
    lat = []; pong_times = []; eval_results = []
    def worker():
        while not any(m.startswith("script ran") for m in msgs):
            time.sleep(0.01)
        for i in range(200):
            sent = time.monotonic(); done = threading.Event()
            def run(sent=sent, done=done, i=i):
                assert threading.current_thread() is threading.main_thread()
                lat.append(time.monotonic() - sent)
                if i % 50 == 0:
                    wv.evaluate_javascript(f"ping({i}); document.title = 'n{i}'; {i}*2", -1, None, None, None,
                        lambda v, r: eval_results.append(v.evaluate_javascript_finish(r).to_string()), )
                done.set(); return False
            if i % 2: GLib.idle_add(run)
            else: ctx.invoke_full(GLib.PRIORITY_DEFAULT, run)
            done.wait(5)
            time.sleep(0.002)
        time.sleep(0.5)
        GLib.idle_add(finish)
    def finish():
        xvfb.screenshot("/tmp/qt-research/exp1.png")
        mark("screenshot taken")
        win.destroy()
        app.quit(); return False
    threading.Thread(target=worker, daemon=True).start()
    QTimer.singleShot(20000, app.quit)  # safety
    app.exec()
    lat.sort()
    print("handoffs:", len(lat), "median ms %.3f p99 ms %.3f max ms %.3f" % (lat[len(lat)//2]*1e3, lat[int(len(lat)*.99)]*1e3, lat[-1]*1e3) if lat else "none")
    print("eval results:", eval_results)
    print("messages:", len(msgs), msgs[:3])
    print("max Qt loop gap ms: %.1f" % (maxgap[0]*1e3))
    print("blank screenshot?", xvfb.png_is_blank("/tmp/qt-research/exp1.png"))
