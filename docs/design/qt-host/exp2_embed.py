"""Embed a GTK toplevel (WebKit2 WebView) into a Qt dock via QWindow.fromWinId + createWindowContainer."""
import sys, time, subprocess, os, threading
from common import Display, xvfb
MODE = sys.argv[1] if len(sys.argv) > 1 else "show-first"
with Display() as disp:
    from PySide6.QtWidgets import QApplication, QMainWindow, QDockWidget, QLabel, QWidget
    from PySide6.QtGui import QWindow
    from PySide6.QtCore import QTimer, Qt, QPoint
    app = QApplication(sys.argv)
    import gi
    gi.require_version("Gtk", "3.0"); gi.require_version("WebKit2", "4.1"); gi.require_version("GdkX11", "3.0")
    from gi.repository import GLib, Gtk, Gdk, GdkX11, WebKit2
    t0 = time.monotonic()
    def mark(s): print(f"{(time.monotonic()-t0)*1000:8.1f} ms  {s}", flush=True)

    mw = QMainWindow(); mw.setWindowTitle("host"); mw.resize(900, 600); mw.move(0, 0)
    central = QLabel("Qt central widget"); central.setStyleSheet("background:#ffd700; font-size:24px"); mw.setCentralWidget(central)
    dock = QDockWidget("auroraview panel", mw); mw.addDockWidget(Qt.RightDockWidgetArea, dock)

    ucm = WebKit2.UserContentManager(); ucm.register_script_message_handler("ipc")
    msgs = []
    ucm.connect("script-message-received::ipc", lambda m, r: (msgs.append(r.get_js_value().to_string()), mark("ipc: " + msgs[-1])))
    gwin = Gtk.Window(title="gtk-panel")
    gwin.set_default_size(400, 500)
    wv = WebKit2.WebView.new_with_user_content_manager(ucm)
    gwin.add(wv)
    gwin.connect("destroy", lambda *_: mark("GTK: window 'destroy' signal"))
    wv.connect("destroy", lambda *_: mark("GTK: webview 'destroy' signal"))
    gwin.connect("delete-event", lambda *_: (mark("GTK: delete-event"), False)[1])
    gwin.connect("unrealize", lambda *_: mark("GTK: window unrealize"))
    wv.connect("size-allocate", lambda w, a: None)
    wv.load_html("""<html><body style="background:#d02020;color:white;font:20px sans-serif">
      <h2>auroraview page</h2><input id=i style="font-size:20px"><p id=p></p>
      <script>
      const post = (s) => window.webkit.messageHandlers.ipc.postMessage(s);
      post('ready ' + innerWidth + 'x' + innerHeight);
      addEventListener('resize', () => post('resize ' + innerWidth + 'x' + innerHeight));
      addEventListener('keydown', (e) => post('key ' + e.key));
      addEventListener('focus', () => post('window focus'));
      addEventListener('blur', () => post('window blur'));
      </script></body></html>""", "http://localhost/")

    def xinfo(xid):
        out = subprocess.run(["xwininfo", "-id", str(xid)], capture_output=True, text=True).stdout
        keep = [l.strip() for l in out.splitlines() if any(k in l for k in ("Absolute upper-left X", "Absolute upper-left Y", "Width", "Height", "Map State"))]
        return "; ".join(keep)
    def tree(xid):
        out = subprocess.run(["xwininfo", "-children", "-id", str(xid)], capture_output=True, text=True).stdout
        return [l.strip() for l in out.splitlines() if "Parent window id" in l or "Root window id" in l]
    def js(code):
        def done(v, r):
            try: mark(f"js {code!r} -> {v.evaluate_javascript_finish(r).to_string()}")
            except Exception as e: mark(f"js {code!r} FAILED: {e}")
        try:
            wv.evaluate_javascript(code, -1, None, None, None, done)
        except Exception as e:
            mark(f"js call raised {e}")
    def geo():
        c = container
        p = c.mapToGlobal(QPoint(0, 0))
        a = wv.get_allocation()
        mark(f"Qt container at {p.x()},{p.y()} size {c.width()}x{c.height()} | GTK webview alloc {a.width}x{a.height} | X: {xinfo(xid)}")
    def shot(name):
        path = f"/tmp/qt-research/exp2-{MODE}-{name}.png"; xvfb.screenshot(path); mark(f"screenshot {path}")
    def xdo(*args):
        r = subprocess.run(["xdotool", *args], capture_output=True, text=True); return r.stdout.strip()

    gwin.realize()
    if MODE == "show-first":
        gwin.show_all()
    xid = gwin.get_window().get_xid()
    mark(f"GTK toplevel xid {xid:#x}")
    qwin = QWindow.fromWinId(xid)
    qwin.setFlags(Qt.FramelessWindowHint)
    container = QWidget.createWindowContainer(qwin, dock)
    container.setFocusPolicy(Qt.StrongFocus)
    container.setMinimumSize(200, 200)
    container.destroyed.connect(lambda *_: mark("Qt: container destroyed"))
    dock.setWidget(container)
    mw.show()
    if MODE == "realize-only":
        QTimer.singleShot(50, lambda: (gwin.show_all(), mark("gwin.show_all() after embedding")))

    steps = []
    def step(delay):
        def deco(f): steps.append((delay, f)); return f
        return deco
    @step(1200)
    def s1():
        geo(); mark(f"X tree of gtk window: {tree(xid)}"); shot("1-docked")
    @step(100)
    def s2():
        mw.resize(1200, 750); mark("resized host to 1200x750")
    @step(700)
    def s3():
        geo(); shot("2-resized")
    @step(100)
    def s4():
        p = container.mapToGlobal(QPoint(container.width() // 2, 90))
        mark(f"xdotool click at {p.x()},{p.y()} then type 'abc'")
        xdo("mousemove", str(p.x()), str(p.y())); xdo("click", "1")
    @step(300)
    def s4b():
        mark(f"X input focus: {xdo('getwindowfocus')} (gtk xid {xid}, qt container winId {int(container.winId())}, mw {int(mw.winId())})")
        xdo("type", "--delay", "30", "abc")
    @step(600)
    def s5():
        js("document.getElementById('i').value + ' | active=' + document.activeElement.tagName + ' hasFocus=' + document.hasFocus()")
        mark(f"Qt focusWidget: {app.focusWidget()} ; qwin isActive {qwin.isActive()}")
    @step(300)
    def s5b():
        # click back into Qt's central widget, type: keys must go to Qt now
        xdo("mousemove", "100", "300"); xdo("click", "1"); xdo("type", "xy")
    @step(400)
    def s5c():
        mark(f"after clicking Qt central: X focus {xdo('getwindowfocus')}, Qt focusWidget {app.focusWidget()}")
        js("document.getElementById('i').value + ' hasFocus=' + document.hasFocus()")
    @step(300)
    def s6():
        dock.setFloating(True); mark("dock floating (undocked)")
    @step(800)
    def s7():
        geo(); mark(f"X tree: {tree(xid)}"); js("document.body.style.background='#2040d0'; 'blue'")
    @step(500)
    def s8():
        shot("3-floating-blue")
        dock.setFloating(False); mark("dock re-docked")
    @step(800)
    def s9():
        geo(); mark(f"X tree: {tree(xid)}"); js("document.body.style.background='#20a040'; 'green'")
    @step(500)
    def s10():
        shot("4-redocked-green")
        dock.hide(); mark("dock hidden")
    @step(500)
    def s11():
        mark(f"after hide: X {xinfo(xid)}; gtk visible={gwin.get_visible()} mapped={gwin.get_mapped()}")
        dock.show(); mark("dock shown")
    @step(700)
    def s12():
        geo(); shot("5-reshown")
        # detach the webview from Qt: move the dock to the other area (re-layout, parent changes)
        mw.addDockWidget(Qt.LeftDockWidgetArea, dock); mark("dock moved to left area")
    @step(800)
    def s13():
        geo(); shot("6-left")
        mark("deleting the Qt container (host destroys the panel)")
        dock.setWidget(QLabel("replaced"))
        container.deleteLater()
    @step(800)
    def s14():
        try:
            w = gwin.get_window()
            mark(f"after container deletion: gdk window {w}, destroyed? {w.is_destroyed() if w else None}; X: {xinfo(xid) or 'no such X window'}")
        except Exception as e:
            mark(f"probe raised {e}")
        js("'alive: ' + document.body.style.background")
        shot("7-after-delete")
    @step(800)
    def s15():
        mark(f"messages total {len(msgs)}"); app.quit()
    def run_steps(i=0):
        if i < len(steps):
            d, f = steps[i]
            QTimer.singleShot(d, lambda: (f(), run_steps(i + 1)))
    run_steps()
    QTimer.singleShot(30000, app.quit)
    app.exec()
    mark("Qt exec returned")
