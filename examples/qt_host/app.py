"""A stand-in for a DCC host: a Qt main window with an auroraview panel in a dock.

The page calls `set_status`, a main-thread command that changes a Qt widget (host APIs may
be called only from the host's main thread), and listens to `host_text`, an event the host
emits whenever its line edit changes. Run it (PySide6; under Xvfb when there is no display):

    python examples/qt_host/app.py
"""

from __future__ import annotations

import sys
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QDockWidget, QLabel, QLineEdit, QMainWindow, QVBoxLayout, QWidget

from auroraview import Commands, QtExecutor, WebView
from auroraview.qt import WebViewWidget

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>panel</title>
<style>
  body { margin: 0; font: 14px sans-serif; background: #1d3557; color: #f1faee; }
  main { padding: 12px; }
  input, button { font: inherit; }
</style></head>
<body><main>
  <h3>auroraview panel</h3>
  <input id="text" value="baking"> <button id="send">Set host status</button>
  <p>host says: <span id="host">(nothing yet)</span></p>
  <p id="reply"></p>
</main>
<script>
  // Registered while the page loads: events the host emitted before are held for it.
  auroraview.on("host_text", (text) => { document.getElementById("host").textContent = text; });
  document.getElementById("send").addEventListener("click", async () => {
    const text = document.getElementById("text").value;
    const shown = await auroraview.call("set_status", { text });
    document.getElementById("reply").textContent = "host shows: " + shown;
  });
</script>
</body></html>"""


class HostWindow(QMainWindow):
    """The host: a status label and a line edit in the middle, the panel docked right."""

    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle("host")
        self.resize(1000, 640)
        self.status = QLabel("idle")
        self.entry = QLineEdit()
        self.entry.setPlaceholderText("type here: the panel hears it")
        middle = QWidget()
        layout = QVBoxLayout(middle)
        layout.addWidget(self.status)
        layout.addWidget(self.entry)
        layout.addStretch()
        self.setCentralWidget(middle)

        commands = Commands()

        @commands.command(thread="main")  # runs on the Qt main thread, between Qt's events
        def set_status(text: str) -> str:
            self.status.setText(text)
            return self.status.text()

        self.view = WebView("panel", html=PAGE, commands=commands, main_thread=QtExecutor())
        self.panel = WebViewWidget(self.view)
        self.dock = QDockWidget("auroraview panel", self)
        self.dock.setObjectName("panel")
        self.dock.setWidget(self.panel)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
        self.entry.textChanged.connect(self.on_text)
        self.panel.setMinimumWidth(420)

    def on_text(self, text: str) -> None:
        self.view.emit("host_text", text)  # the host's events reach the page


def main(argv: list[str] | None = None) -> Any:
    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv)
    window = HostWindow()
    window.show()
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
