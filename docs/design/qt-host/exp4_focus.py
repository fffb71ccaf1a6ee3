"""Keyboard focus for a GTK/WebKit toplevel embedded in a Qt dock. argv: focus-mode (none|gdk|xlib) wm (none|openbox)"""
import sys, time, subprocess, os, ctypes
from common import Display, xvfb
FOCUS = sys.argv[1] if len(sys.argv) > 1 else "none"
WM = sys.argv[2] if len(sys.argv) > 2 else "none"
with Display() as disp:
    wm = None
    if WM == "openbox":
        wm = subprocess.Popen(["openbox", "--sm-disable"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); time.sleep(0.8)
    try:
        from PySide6.QtWidgets import QApplication, QMainWindow, QDockWidget, QLineEdit, QWidget
        from PySide6.QtGui import QWindow
        from PySide6.QtCore import QTimer, Qt, QPoint
        app = QApplication(sys.argv)
        import gi
        gi.require_version("Gtk", "3.0"); gi.require_version("WebKit2", "4.1"); gi.require_version("GdkX11", "3.0")
        from gi.repository import GLib, Gtk, Gdk, GdkX11, WebKit2
        t0 = time.monotonic()
        results = {}
        def mark(s): print(f"{(time.monotonic()-t0)*1000:8.1f} ms  {s}", flush=True)
        x11 = ctypes.CDLL("libX11.so.6"); x11.XOpenDisplay.restype = ctypes.c_void_p
        xdpy = x11.XOpenDisplay(None)
        def x_focus(xid):
            x11.XSetInputFocus(ctypes.c_void_p(xdpy), ctypes.c_ulong(xid), 2, 0)  # RevertToParent, CurrentTime
            x11.XFlush(ctypes.c_void_p(xdpy))

        mw = QMainWindow(); mw.resize(900, 600); mw.move(0, 0); mw.setWindowTitle("host")
        edit = QLineEdit(); edit.setStyleSheet("font-size:20px"); mw.setCentralWidget(edit)
        dock = QDockWidget("panel", mw); mw.addDockWidget(Qt.RightDockWidgetArea, dock)
        ucm = WebKit2.UserContentManager(); ucm.register_script_message_handler("ipc")
        ucm.connect("script-message-received::ipc", lambda m, r: mark("page: " + r.get_js_value().to_string()))
        gwin = Gtk.Window(); gwin.set_default_size(300, 400)
        wv = WebKit2.WebView.new_with_user_content_manager(ucm); gwin.add(wv)
        wv.load_html("""<body style="background:#c33"><input id=i style="font-size:20px;width:90%"><script>
          const post = (s) => window.webkit.messageHandlers.ipc.postMessage(s);
          addEventListener('focus', () => post('focus')); addEventListener('blur', () => post('blur'));</script></body>""", "http://localhost/")
        def on_press(w, ev):
            if FOCUS == "gdk":
                gwin.get_window().focus(ev.time); mark("gdk_window_focus on press")
            elif FOCUS == "xlib":
                x_focus(xid); mark("XSetInputFocus(gtk xid) on press")
            return False
        wv.connect("button-press-event", on_press)
        from PySide6.QtCore import QObject, QEvent
        class Back(QObject):
            def eventFilter(self, obj, ev):
                if FOCUS == "xlib" and ev.type() == QEvent.MouseButtonPress and isinstance(obj, QWidget) and obj.window() is mw:
                    x_focus(int(mw.winId())); mark("Qt filter: XSetInputFocus(Qt toplevel)")
                return False
        back = Back(); app.installEventFilter(back)
        gwin.realize(); gwin.show_all()
        xid = gwin.get_window().get_xid()
        qwin = QWindow.fromWinId(xid)
        container = QWidget.createWindowContainer(qwin, dock); container.setFocusPolicy(Qt.StrongFocus)
        container.setMinimumSize(300, 300)
        dock.setWidget(container); mw.show()

        def xdo(*a): return subprocess.run(["xdotool", *a], capture_output=True, text=True).stdout.strip()
        def focus_name():
            f = xdo("getwindowfocus", "-f")
            return {str(xid): "GTK", str(int(mw.winId())): "Qt-main"}.get(f, f or "?")
        def js(code, key):
            def done(v, r):
                try: results[key] = v.evaluate_javascript_finish(r).to_string()
                except Exception as e: results[key] = f"ERR {e}"
                mark(f"{key}: {results[key]!r}")
            wv.evaluate_javascript(code, -1, None, None, None, done)
        def click_web():
            p = container.mapToGlobal(QPoint(60, 25)); xdo("mousemove", str(p.x()), str(p.y())); xdo("click", "1")
        def click_qt():
            p = edit.mapToGlobal(QPoint(50, 20)); xdo("mousemove", str(p.x()), str(p.y())); xdo("click", "1")
        seq = [
            (1500, lambda: (click_web(), mark("clicked page input"))),
            (400, lambda: (mark(f"X focus: {focus_name()}"), xdo("type", "--delay", "20", "abc"))),
            (500, lambda: js("document.getElementById('i').value", "page after 1st typing (want abc)")),
            (200, lambda: (click_qt(), mark("clicked Qt line edit"))),
            (400, lambda: (mark(f"X focus: {focus_name()}"), xdo("type", "--delay", "20", "xy"))),
            (500, lambda: (mark(f"QLineEdit text (want xy): {edit.text()!r}"), js("document.getElementById('i').value", "page after Qt typing (want abc)"))),
            (200, lambda: (click_web(), mark("clicked page input again"))),
            (400, lambda: (mark(f"X focus: {focus_name()}"), xdo("type", "--delay", "20", "de"))),
            (500, lambda: (js("document.getElementById('i').value", "page after 2nd typing (want abcde)"), mark(f"QLineEdit (want xy): {edit.text()!r}"))),
            (200, lambda: (click_qt(),)),
            (300, lambda: (container.setFocus(Qt.TabFocusReason), mark(f"Qt container.setFocus(); X focus now {focus_name()}"))),
            (300, lambda: (mark(f"X focus: {focus_name()}"), xdo("type", "--delay", "20", "z"))),
            (500, lambda: (js("document.getElementById('i').value", "page after container.setFocus typing (want abcdez)"), mark(f"QLineEdit (want xy): {edit.text()!r}"))),
            (200, lambda: (click_web(), mark("clicked page input; now moving the pointer over Qt without clicking"))),
            (300, lambda: (xdo("mousemove", "100", "300"),)),
            (300, lambda: (mark(f"X focus: {focus_name()}"), xdo("type", "--delay", "20", "q"))),
            (500, lambda: (js("document.getElementById('i').value", "page after typing with pointer outside (want +q)"), mark(f"QLineEdit (want xy, no q): {edit.text()!r}"))),
            (500, app.quit),
        ]
        def run(i=0):
            if i < len(seq):
                d, f = seq[i]; QTimer.singleShot(d, lambda: (f(), run(i + 1)))
        run(); QTimer.singleShot(30000, app.quit)
        app.exec()
    finally:
        if wm: wm.terminate(); wm.wait(5)
