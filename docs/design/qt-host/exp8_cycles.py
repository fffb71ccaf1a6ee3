"""Create/embed/destroy cycles on the Qt main thread: main-thread cost of each step, Qt loop stalls, leftovers."""
import sys, time, subprocess, os, threading
from common import Display, xvfb
N = int(sys.argv[1]) if len(sys.argv) > 1 else 20
with Display() as disp:
    from PySide6.QtWidgets import QApplication, QMainWindow, QDockWidget, QLabel, QWidget
    from PySide6.QtGui import QWindow
    from PySide6.QtCore import QTimer, Qt
    app = QApplication(sys.argv)
    import gi
    gi.require_version("Gtk", "3.0"); gi.require_version("WebKit2", "4.1")
    from gi.repository import GLib, Gtk, WebKit2
    mw = QMainWindow(); mw.resize(900, 600); mw.setCentralWidget(QLabel("host")); mw.show()
    dock = QDockWidget("panel", mw); mw.addDockWidget(Qt.RightDockWidgetArea, dock)
    ctxw = WebKit2.WebContext.get_default()
    last = [time.perf_counter()]; gaps = []
    def tick():
        now = time.perf_counter(); gaps.append(now - last[0]);
        if now - last[0] > 0.05: print(f'  Qt stall {(now-last[0])*1e3:.0f} ms during cycle {state.get("i", "-")}', flush=True)
        last[0] = now
    t = QTimer(); t.timeout.connect(tick); t.start(5)
    def nproc(name): return int(subprocess.run(f"pgrep -c -P {os.getpid()} {name} || true", shell=True, capture_output=True, text=True).stdout.strip() or 0)
    def nthreads(): return len(os.listdir(f"/proc/{os.getpid()}/task"))
    def nxwin(): return subprocess.run(["xwininfo", "-root", "-tree"], capture_output=True, text=True).stdout.count("\n")
    costs = {"create": [], "embed": [], "ready": [], "destroy": []}
    state = {}
    def cycle(i):
        if i == N:
            QTimer.singleShot(1500, finish); return
        state['i'] = i
        t0 = time.perf_counter()
        ucm = WebKit2.UserContentManager(); ucm.register_script_message_handler("ipc")
        gwin = Gtk.Window(); wv = WebKit2.WebView(user_content_manager=ucm, web_context=ctxw); gwin.add(wv)
        def on_msg(m, r, t0=t0):
            costs["ready"].append(time.perf_counter() - t0)
            QTimer.singleShot(50, lambda: teardown(i))
        ucm.connect("script-message-received::ipc", on_msg)
        wv.load_html("<body style='background:#4a4'><script>window.webkit.messageHandlers.ipc.postMessage('ready')</script></body>", "http://localhost/")
        gwin.realize(); gwin.show_all()
        t1 = time.perf_counter(); costs["create"].append(t1 - t0)
        qwin = QWindow.fromWinId(gwin.get_window().get_xid())
        c = QWidget.createWindowContainer(qwin, dock); dock.setWidget(c)
        costs["embed"].append(time.perf_counter() - t1)
        state.update(gwin=gwin, wv=wv, c=c, ucm=ucm)
    def teardown(i):
        t0 = time.perf_counter()
        c = state["c"]; dock.setWidget(QLabel("empty")); c.deleteLater()
        state["gwin"].destroy(); state.clear()
        costs["destroy"].append(time.perf_counter() - t0)
        if i in (0, 4, N - 1):
            print(f"after cycle {i+1}: WebKitWebProcess {nproc('WebKitWebProces')}, WebKitNetworkProcess {nproc('WebKitNetworkPr')}, threads {nthreads()}, X windows (lines of xwininfo -tree) {nxwin()}", flush=True)
        QTimer.singleShot(50, lambda: cycle(i + 1))
    def finish():
        print(f"1.5 s after the last cycle: WebKitWebProcess {nproc('WebKitWebProces')}, threads {nthreads()}, X windows {nxwin()}")
        app.quit()
    QTimer.singleShot(500, lambda: cycle(0))
    QTimer.singleShot(120000, app.quit)
    app.exec()
    for k, v in costs.items():
        v = sorted(v); print(f"{k:8s} n={len(v)} median {v[len(v)//2]*1e3:7.1f} ms  max {v[-1]*1e3:7.1f} ms" + ("   (wall time to page 'ready', main thread free meanwhile)" if k == "ready" else "   (main thread blocked)"))
    g = sorted(gaps); print(f"Qt 5 ms timer: max gap {g[-1]*1e3:.1f} ms, p99 {g[int(len(g)*.99)]*1e3:.1f} ms, gaps > 100 ms: {sum(1 for x in g if x > 0.1)}")
