"""While the Qt main thread is blocked for 2 s: do the page's script messages stall? Do its HTTP requests (network path) continue?"""
import sys, time, threading, http.server, socketserver
from common import Display
with Display() as disp:
    hits = []
    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(time.monotonic()); self.send_response(200)
            self.send_header("Access-Control-Allow-Origin", "*"); self.send_header("Content-Length", "2"); self.end_headers(); self.wfile.write(b"ok")
        def log_message(self, *a): pass
    srv = socketserver.ThreadingTCPServer(("127.0.0.1", 0), H); port = srv.server_address[1]
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    from PySide6.QtWidgets import QApplication, QLabel
    from PySide6.QtCore import QTimer
    app = QApplication(sys.argv)
    import gi; gi.require_version("Gtk", "3.0"); gi.require_version("WebKit2", "4.1")
    from gi.repository import Gtk, WebKit2
    msgs = []
    ucm = WebKit2.UserContentManager(); ucm.register_script_message_handler("ipc")
    ucm.connect("script-message-received::ipc", lambda m, r: msgs.append((time.monotonic(), r.get_js_value().to_string())))
    win = Gtk.Window(); wv = WebKit2.WebView.new_with_user_content_manager(ucm); win.add(wv); win.show_all()
    wv.load_html(f"""<script>
      let n = 0;
      setInterval(() => {{ n++; window.webkit.messageHandlers.ipc.postMessage('tick ' + n);
                           fetch('http://127.0.0.1:{port}/ping?' + n).catch(e => 0); }}, 100);
    </script>""", "http://localhost/")
    lbl = QLabel("host"); lbl.show()
    block = {}
    def block_main():
        block["start"] = time.monotonic(); time.sleep(2.0); block["end"] = time.monotonic()
    QTimer.singleShot(2000, block_main)
    QTimer.singleShot(5500, app.quit)
    app.exec()
    s, e = block["start"], block["end"]
    in_block_http = [h for h in hits if s <= h < e]
    in_block_msgs = [m for m in msgs if s <= m[0] < e]
    after = [m for m in msgs if e <= m[0] < e + 0.05]
    print(f"main thread blocked {e-s:.2f} s")
    print(f"HTTP requests received by the server during the block: {len(in_block_http)} (of {len(hits)} total)")
    print(f"script messages dispatched during the block: {len(in_block_msgs)}; dispatched within 50 ms after it: {len(after)} (queued burst)")
    srv.shutdown()
