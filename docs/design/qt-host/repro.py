import sys, time, threading
from auroraview._xvfb import VirtualDisplay, screenshot
with VirtualDisplay() as d:
    print("display", d.display, flush=True)
    from PySide6.QtWidgets import QApplication
    from PySide6.QtCore import QTimer, QAbstractEventDispatcher
    app = QApplication(sys.argv)
    print("dispatcher:", type(QAbstractEventDispatcher.instance()).__name__, QAbstractEventDispatcher.instance().metaObject().className(), flush=True)
    import auroraview
    try:
        v = auroraview.WebView(html="<p>hi</p>")
        v.show(block=False)
        print("opened OK", flush=True)
        v.close()
    except Exception as e:
        print("ERROR:", type(e).__name__, e, flush=True)
