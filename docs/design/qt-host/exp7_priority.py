"""Latency of cross-thread wakes onto the default context while Qt's loop is busy. argv: load (idle|timer0|posted)"""
import sys, time, threading
from common import Display
LOAD = sys.argv[1]
with Display() as disp:
    from PySide6.QtWidgets import QApplication, QLabel
    from PySide6.QtCore import QTimer, QObject, QEvent, QCoreApplication
    app = QApplication(sys.argv)
    import gi; from gi.repository import GLib
    ctx = GLib.MainContext.default()
    lbl = QLabel("x"); lbl.show()
    def busy(): 
        time.sleep(0.0005)  # 0.5 ms of host work, GIL released
    if LOAD == "timer0":
        t = QTimer(); t.setInterval(0); t.timeout.connect(busy); t.start()
    elif LOAD == "posted":
        from PySide6.QtCore import Signal, Qt
        class P(QObject):
            again = Signal()
            def __init__(self):
                super().__init__(); self.again.connect(self.work, Qt.QueuedConnection)
            def work(self): busy(); self.again.emit()
        p = P(); p.again.emit()
    res = {}
    def worker():
        time.sleep(0.5)
        for name, post in [("idle_add DEFAULT_IDLE", lambda f: GLib.idle_add(f)),
                           ("idle_add DEFAULT", lambda f: GLib.idle_add(f, priority=GLib.PRIORITY_DEFAULT)),
                           ("invoke_full DEFAULT", lambda f: ctx.invoke_full(GLib.PRIORITY_DEFAULT, f))]:
            lat = []
            for i in range(20):
                ev = threading.Event(); sent = time.perf_counter()
                def cb(sent=sent, ev=ev): lat.append(time.perf_counter() - sent); ev.set(); return False
                post(cb)
                if not ev.wait(0.5): lat.append(float("inf")); 
                time.sleep(0.001)
            lat.sort(); res[name] = (lat[10]*1e3, lat[19]*1e3, sum(1 for x in lat if x == float('inf'))); print(name, res[name], flush=True)
        QTimer.singleShot(0, app.quit); GLib.idle_add(lambda: (app.quit(), False)[1], priority=GLib.PRIORITY_HIGH)
    threading.Thread(target=worker, daemon=True).start()
    QTimer.singleShot(60000, app.quit)
    app.exec()
    for k, (med, p99, lost) in res.items():
        print(f"load={LOAD:7s} {k:24s} median {med:8.3f} ms  p99 {p99:8.3f} ms  timed out (0.5 s) {lost}/20")
