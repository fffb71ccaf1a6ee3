"""`WebViewWidget`: a `WebView` inside a Qt widget, for panels docked in a Qt host (Maya,
Houdini, Nuke, any PySide6/PyQt6 program).

The view's own native window (on Linux its X11 window) is embedded with Qt's
`QWindow.fromWinId` and `QWidget.createWindowContainer`, so Qt moves it with its layout:
it resizes with its parent, follows show, hide, floating and re-docking (Qt keeps the
native window alive across the re-parenting a dock does), and takes keyboard focus like any
widget. Its lifecycle follows the host's: when the widget (or a parent) is destroyed the
view closes, and a closed view refuses `emit` (False) and `eval_js` (`WindowClosed`).

Import it in a process that runs Qt through PySide6 or PyQt6 (the binding already imported,
else the first that imports), and make the widget on the Qt application's thread.
"""

from __future__ import annotations

import contextlib
import importlib
import weakref
from typing import TYPE_CHECKING, Any

from . import _core
from .errors import GuiUnavailable
from .mainthread import _qt_core

if TYPE_CHECKING:
    from .webview import WebView

__all__ = ["WebViewWidget"]

_BINDING, _QtCore = _qt_core()
_QtGui: Any = importlib.import_module(f"{_BINDING}.QtGui")
_QtWidgets: Any = importlib.import_module(f"{_BINDING}.QtWidgets")
_Signal: Any = _QtCore.Signal if _BINDING == "PySide6" else _QtCore.pyqtSignal


class WebViewWidget(_QtWidgets.QWidget):  # type: ignore[misc]  # the binding is chosen at import
    """A Qt widget showing ``view``: usable in layouts, splitters and dock widgets.

    Opens the view (`WebView.show` with ``block=False``; on the Qt main thread that runs the
    event loop while the window is made, ~0.2 s) hidden, embeds its native window, and lets
    Qt show it with the widget. ``closed`` is emitted on the Qt thread once the view has
    closed while the widget lives (`close_view`, the view closed from Python, its page
    crashing with ``on_crash="close"``); when Qt destroys the widget the view closes too,
    and there is no widget left to emit it.

    Raises `GuiUnavailable` when the view has no native window Qt can embed (a display
    server other than X11: under Wayland run Qt and GTK through XWayland, ``QT_QPA_PLATFORM=xcb``
    and ``GDK_BACKEND=x11``).
    """

    closed = _Signal()

    def __init__(self, view: WebView, parent: Any = None) -> None:
        super().__init__(parent)  # pyright: ignore[reportUnknownMemberType]  # the binding is untyped here
        self._view = view
        self._shown_once = False
        view.visible = False  # Qt shows it once it is inside the widget: never as a window of its own
        view._embedded = True  # a click in the page takes the keyboard focus
        self.closed.connect(self._on_closed)  # queued from the app's loop thread
        view.on_close(lambda: _emit_closed(self))  # before show: a view closing while it opens counts too
        view.show(block=False)
        native = view.native_id
        if native is None:
            view.close()
            raise GuiUnavailable(
                "this view has no X11 window to embed in Qt (is the display Wayland? run Qt and GTK "
                "through XWayland: QT_QPA_PLATFORM=xcb GDK_BACKEND=x11)"
            )
        self._window = _QtGui.QWindow.fromWinId(native)
        self._container = _QtWidgets.QWidget.createWindowContainer(self._window, self)
        self._container.setFocusPolicy(_QtCore.Qt.FocusPolicy.StrongFocus)
        self._container.setMinimumSize(1, 1)
        self._container_alive = True
        layout = _QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._container)
        self.setFocusProxy(self._container)
        self._container.installEventFilter(self)
        _FocusKeeper.install(self)
        # Qt destroyed the container (this widget or one of its parents went): its native
        # window, re-parented by Qt to the root window unmapped, is closed. A closure, not a
        # method: this wrapper may be half-destroyed by then.
        self._container.destroyed.connect(lambda *_: _container_gone(view))  # pyright: ignore[reportUnknownLambdaType]

    @property
    def view(self) -> WebView:
        """The embedded view: `emit`, `eval_js`, `wait_ready`, its `commands`."""
        return self._view

    @property
    def is_alive(self) -> bool:
        """The view is open and still inside this widget."""
        return self._container_alive and self._view.is_open

    def close_view(self) -> None:
        """Close the view and take it out of the widget (the widget stays, empty). Idempotent."""
        self._drop_container()
        self._view.close()

    def eventFilter(self, watched: Any, event: Any) -> bool:  # Qt's name
        kind = event.type()
        if watched is self._container and kind == _QtCore.QEvent.Type.Show and not self._shown_once:
            # The container is being shown, its native window made and ours re-parented
            # into it: GTK shows the view now (handled after this event), inside it.
            self._shown_once = True
            if self._view.is_open:
                self._view.set_visible(True)
        elif watched is self._container and kind == _QtCore.QEvent.Type.FocusIn and self._view.is_open:
            # Tab (or setFocus) reached the panel: the page takes the keyboard (Qt's own
            # request to activate an embedded foreign window does nothing on X11).
            self._view.focus()
        return False

    def _on_closed(self) -> None:
        self._drop_container()

    def _drop_container(self) -> None:
        if not self._container_alive:
            return
        self._container_alive = False
        self._container.removeEventFilter(self)
        self._container.hide()
        layout = self.layout()
        if layout is not None:
            layout.removeWidget(self._container)
        self._container.deleteLater()  # still owned by Qt (no setParent(None): PyQt6 would take it)


class _FocusKeeper(_QtCore.QObject):  # type: ignore[misc]
    """Once per application: a click in a Qt widget while an embedded page holds the X
    keyboard focus gives it back to that widget's window (Qt still believes its window has
    it, and would never ask for it again)."""

    _instance: _FocusKeeper | None = None
    _widgets: weakref.WeakSet[WebViewWidget]

    @classmethod
    def install(cls, widget: WebViewWidget) -> None:
        if cls._instance is None:
            keeper = cls()
            keeper._widgets = weakref.WeakSet()
            _QtWidgets.QApplication.instance().installEventFilter(keeper)
            cls._instance = keeper
        cls._instance._widgets.add(widget)

    def eventFilter(self, watched: Any, event: Any) -> bool:  # Qt's name
        if event.type() != _QtCore.QEvent.Type.MouseButtonPress or not isinstance(watched, _QtWidgets.QWidget):
            return False
        for widget in list(self._widgets):
            if widget.view.has_focus and watched is not widget._container:
                _core.release_focus(int(watched.window().winId()))
                break
        return False


def _container_gone(view: WebView) -> None:
    view.close()


def _emit_closed(widget: WebViewWidget) -> None:
    # RuntimeError: the widget itself was destroyed first (it closed the view).
    with contextlib.suppress(RuntimeError):
        widget.closed.emit()
