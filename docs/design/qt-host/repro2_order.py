"""auroraview window first (GUI thread owns the default GLib context), QApplication afterwards."""
import sys, time, threading
from auroraview._xvfb import VirtualDisplay
with VirtualDisplay() as d:
    import auroraview
    v = auroraview.WebView(html="<p>hi</p>")
    v.show(block=False)
    print("auroraview window open", flush=True)
    from PySide6.QtWidgets import QApplication, QLabel
    from PySide6.QtCore import QTimer
    app = QApplication(sys.argv)
    print("QApplication created", flush=True)
    lbl = QLabel("x"); lbl.show()
    ticks = [0]
    t = QTimer(); t.timeout.connect(lambda: ticks.__setitem__(0, ticks[0] + 1)); t.start(10)
    QTimer.singleShot(1000, app.quit)
    def watchdog():
        time.sleep(5); print("WATCHDOG: Qt exec() did not return in 5 s; ticks =", ticks[0], flush=True); import os; os._exit(3)
    threading.Thread(target=watchdog, daemon=True).start()
    app.exec()
    print("Qt exec returned; timer ticks in 1 s:", ticks[0], flush=True)
    v.close()
