"""A plain X11 parent (another client's window, no Qt): reparent the GTK toplevel into it, resize, destroy the parent."""
import sys, time, ctypes, subprocess
from common import Display, xvfb
with Display() as disp:
    import gi
    gi.require_version("Gtk", "3.0"); gi.require_version("WebKit2", "4.1"); gi.require_version("GdkX11", "3.0")
    from gi.repository import GLib, Gtk, Gdk, GdkX11, WebKit2
    t0 = time.monotonic()
    def mark(s): print(f"{(time.monotonic()-t0)*1000:8.1f} ms  {s}", flush=True)
    x11 = ctypes.CDLL("libX11.so.6"); x11.XOpenDisplay.restype = ctypes.c_void_p
    x11.XCreateSimpleWindow.restype = ctypes.c_ulong; x11.XDefaultRootWindow.restype = ctypes.c_ulong
    host = ctypes.c_void_p(x11.XOpenDisplay(None))   # "the host application": another X client
    root = x11.XDefaultRootWindow(host)
    parent = x11.XCreateSimpleWindow(host, ctypes.c_ulong(root), 0, 0, 600, 400, 0, 0, 0x808080)
    x11.XMapWindow(host, ctypes.c_ulong(parent)); x11.XFlush(host)
    mark(f"host parent window {parent:#x}")
    ucm = WebKit2.UserContentManager(); ucm.register_script_message_handler("ipc")
    ucm.connect("script-message-received::ipc", lambda m, r: mark("page: " + r.get_js_value().to_string()))
    gwin = Gtk.Window(); gwin.set_default_size(300, 200)
    wv = WebKit2.WebView.new_with_user_content_manager(ucm); gwin.add(wv)
    wv.load_html("<body style='background:#36c'><h1>child</h1><script>window.webkit.messageHandlers.ipc.postMessage('ready '+innerWidth+'x'+innerHeight); addEventListener('resize',()=>window.webkit.messageHandlers.ipc.postMessage('resize '+innerWidth+'x'+innerHeight))</script></body>", "http://localhost/")
    gwin.connect("destroy", lambda *_: mark("GTK: toplevel 'destroy' signal"))
    wv.connect("destroy", lambda *_: mark("GTK: webview 'destroy' signal"))
    gwin.realize()
    gdkwin = gwin.get_window(); xid = gdkwin.get_xid()
    # Reparent with GDK (what our Rust side would call: gdk_window_reparent into a foreign GdkWindow)
    fparent = GdkX11.X11Window.foreign_new_for_display(gdkwin.get_display(), parent)
    gdkwin.reparent(fparent, 0, 0)
    gwin.show_all()
    gwin.resize(600, 400)
    def js(code, label):
        def done(v, r):
            try: mark(f"{label}: {v.evaluate_javascript_finish(r).to_string()!r}")
            except Exception as e: mark(f"{label}: error {e}")
        try: wv.evaluate_javascript(code, -1, None, None, None, done)
        except Exception as e: mark(f"{label}: raised {e}")
    def tree():
        out = subprocess.run(["xwininfo", "-id", str(xid)], capture_output=True, text=True)
        return (out.stdout + out.stderr).strip().splitlines()[-1 if out.returncode else 0][:120] + " | " + " ".join(l.strip() for l in out.stdout.splitlines() if "Width" in l or "Height" in l or "Map State" in l)
    seq = [
        (1200, lambda: (mark(f"after reparent: {tree()}"), xvfb.screenshot("/tmp/qt-research/exp5-1-child.png"))),
        (100, lambda: (x11.XResizeWindow(host, ctypes.c_ulong(parent), 800, 500), x11.XFlush(host), mark("host resized its window to 800x500"))),
        (700, lambda: mark(f"GTK alloc after parent resize: {wv.get_allocated_width()}x{wv.get_allocated_height()} (does not follow by itself)")),
        (100, lambda: (x11.XDestroyWindow(host, ctypes.c_ulong(parent)), x11.XFlush(host), mark("host DESTROYED its window (parent)"))),
        (800, lambda: (mark(f"after parent destroy: xwininfo: {tree()}; gdk window destroyed? {gdkwin.is_destroyed()}"), js("'page still alive'", "eval after parent destroyed"))),
        (800, lambda: mark("still running")),
        (100, Gtk.main_quit),
    ]
    def run(i=0):
        if i < len(seq):
            d, f = seq[i]; GLib.timeout_add(d, lambda: (f(), run(i + 1), False)[-1])
    run()
    GLib.timeout_add(20000, Gtk.main_quit)
    Gtk.main()
    mark("exited main loop normally")
