"""Main-thread handlers (docs/dcc.md): where a command or event handler declared
``thread="main"`` runs.

Host applications (Maya, Houdini, Nuke, any Qt program) own their main thread, run their own
event loop on it, and allow their APIs to be called only from there. A handler declared
``@commands.command(thread="main")`` is queued to that thread by the app's *main-thread
executor*, and the app's other handlers stay where they always run (async ones on the app's
asyncio loop, sync ones on the worker threads): a main thread busy for seconds holds up only
the main-thread handlers queued behind it.

An executor is anything with ``submit(job)``: run the zero-argument ``job`` soon on the main
thread, called from any thread, never waiting for it (`MainThreadExecutor`). Three ship:

- `QtExecutor`: queued onto the Qt event loop (PySide6 or PyQt6, whichever the process has).
- `CallableExecutor`: a host's own "run this on the main thread" function
  (``maya.utils.executeDeferred``, ``hdefereval.executeDeferred``, ``nuke.executeInMainThread``);
  ``App(main_thread=fn)`` wraps a plain callable in it.
- `PumpExecutor`, the default: jobs wait until the thread that called ``show()`` runs them.
  ``show()`` (blocking) does so while it waits for the window; after ``show(block=False)``
  that thread calls ``pump_main_thread()`` itself, and until some thread has, main-thread
  calls are answered ``unavailable`` at once (naming the fix) rather than waiting forever.

The app hands its executor one job at a time, a *drain* of its own queue (`MainLane`): jobs
run in arrival order, and one drain runs them for at most `DRAIN_BUDGET` seconds (at least one
job) before it queues itself again, so a burst of calls never holds the host's event loop for
long and the host's own events get their turn in between.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import importlib
import logging
import sys
import threading
import time
from collections.abc import Callable, Generator
from typing import Any, Final, Protocol, runtime_checkable

__all__ = [
    "DRAIN_BUDGET",
    "CallableExecutor",
    "MainThreadExecutor",
    "MainThreadUnavailable",
    "PumpExecutor",
    "QtExecutor",
]

log = logging.getLogger("auroraview")

#: How long (seconds) one drain runs queued jobs before it gives the host's event loop its
#: turn (it always runs one job, however long that job takes).
DRAIN_BUDGET: Final = 0.004


class MainThreadUnavailable(RuntimeError):
    """The app's main-thread executor cannot take a job now (no Qt application, nothing
    pumps the default executor, the host's hook raised). A call of a main-thread command is
    then answered ``unavailable`` with this message."""


@runtime_checkable
class MainThreadExecutor(Protocol):
    """Runs jobs on the host's main thread.

    ``submit(job)`` is called from any thread (the app's loop, a worker, the main thread
    itself) and must return at once: it queues ``job`` (a zero-argument callable that never
    raises) to run later on the main thread. It raises (any `Exception`, ideally
    `MainThreadUnavailable`) when the job cannot run at all; the call it was for is then
    answered ``unavailable``."""

    def submit(self, job: Callable[[], None], /) -> None: ...


class CallableExecutor:
    """A host's own "run this on the main thread later" function as an executor:
    ``CallableExecutor(maya.utils.executeDeferred)``. ``post(job)`` must queue ``job`` and
    return without waiting for it (so not ``nuke.executeInMainThreadWithResult``, which
    waits); an exception it raises answers the call ``unavailable``."""

    def __init__(self, post: Callable[[Callable[[], None]], object]) -> None:
        if not callable(post):
            raise TypeError(f"CallableExecutor takes a function that queues a job on the main thread, got {post!r}")
        self.post = post

    def submit(self, job: Callable[[], None], /) -> None:
        self.post(job)

    def __repr__(self) -> str:
        return f"CallableExecutor({getattr(self.post, '__qualname__', self.post)!r})"


# -- Qt -------------------------------------------------------------------------------

_QT_BINDINGS: Final = ("PySide6", "PyQt6")
#: Bindings of older hosts (Qt 5), recognised only to say so.
_OLD_BINDINGS: Final = ("PySide2", "PyQt5")


def _qt_core() -> tuple[str, Any]:
    """The QtCore module of the binding this process uses: one already imported first (a
    host has loaded its own), else the first of PySide6, PyQt6 that imports."""
    for name in _QT_BINDINGS:
        if f"{name}.QtCore" in sys.modules:
            return name, sys.modules[f"{name}.QtCore"]
    for name in _OLD_BINDINGS:
        if f"{name}.QtCore" in sys.modules:
            raise MainThreadUnavailable(
                f"this process runs Qt through {name}, which QtExecutor does not support (PySide6 or PyQt6): pass "
                "App(main_thread=...) the host's own main-thread function instead (docs/dcc.md)"
            )
    for name in _QT_BINDINGS:
        try:
            return name, importlib.import_module(f"{name}.QtCore")
        except ImportError:
            continue
    raise MainThreadUnavailable("QtExecutor needs PySide6 or PyQt6, and neither can be imported")


_receiver_classes: dict[str, Any] = {}


def _receiver_class(binding: str, qtcore: Any) -> Any:
    """A QObject subclass with a ``wake`` signal connected (queued) to its ``drain`` slot."""
    cls = _receiver_classes.get(binding)
    if cls is not None:
        return cls
    signal = qtcore.Signal if binding == "PySide6" else qtcore.pyqtSignal
    slot = qtcore.Slot if binding == "PySide6" else qtcore.pyqtSlot

    def __init__(self: Any, run: Callable[[], None]) -> None:
        qtcore.QObject.__init__(self)
        self._run = run

    def drain(self: Any) -> None:
        self._run()

    cls = type(
        "AuroraViewMainThread",
        (qtcore.QObject,),
        {"wake": signal(), "__init__": __init__, "drain": slot()(drain)},
    )
    _receiver_classes[binding] = cls
    return cls


class QtExecutor:
    """Jobs queued onto the Qt event loop of the process's Qt application (PySide6 or
    PyQt6), run by its main thread between its other events.

    Create it once the ``QApplication`` (or ``QCoreApplication``) exists, typically on the
    main thread as the app starts: ``App(commands, main_thread=QtExecutor())``, or pass
    ``main_thread="qt"``. It owns a QObject living in the application's thread; ``submit``
    emits that object's signal through a queued connection, which Qt turns into an event
    posted to the object's thread (thread-safe from any thread; Qt's own pattern for a
    worker thread handing work to the GUI thread). Jobs run in the order submitted, also
    inside a nested event loop (a modal dialog) the host runs. A modal dialog opened by a
    main-thread handler itself holds all other main-thread work until it closes: the app
    runs its main-thread jobs one at a time, and that handler's job has not ended."""

    def __init__(self) -> None:
        binding, qtcore = _qt_core()
        app = qtcore.QCoreApplication.instance()
        if app is None:
            raise MainThreadUnavailable(
                "QtExecutor needs the Qt application: create the QApplication (or QCoreApplication) first"
            )
        self.binding: str = binding
        self._qtcore = qtcore
        self._jobs: collections.deque[Callable[[], None]] = collections.deque()
        self._receiver: Any = _receiver_class(binding, qtcore)(self._run_one)
        # Lives in the application's thread, wherever this executor was made.
        self._receiver.moveToThread(app.thread())
        self._receiver.wake.connect(self._receiver.drain, qtcore.Qt.ConnectionType.QueuedConnection)

    def submit(self, job: Callable[[], None], /) -> None:
        if self._qtcore.QCoreApplication.instance() is None:
            raise MainThreadUnavailable("the Qt application is gone (it was deleted): no event loop runs main-thread jobs")
        self._jobs.append(job)
        self._receiver.wake.emit()

    def _run_one(self) -> None:
        try:
            job = self._jobs.popleft()
        except IndexError:
            return
        try:
            job()
        except BaseException:  # raised out of a Qt slot, it would abort the host (PyQt6)
            log.exception("a main-thread job raised in the Qt event loop")

    def __repr__(self) -> str:
        return f"QtExecutor({self.binding})"


# -- the default: the thread that called show() ---------------------------------------

#: The clock of `PumpExecutor.alive_for` (a test replaces it).
_now = time.monotonic


def _run_all(batch: list[Callable[[], None]], queue: collections.deque[Callable[[], None]], cond: threading.Condition) -> None:
    """Run a pumped batch in order. If a job raises (a KeyboardInterrupt, say), the rest of the
    batch goes back to the front of the queue, for the next pump, and the exception on."""
    for i, job in enumerate(batch):
        try:
            job()
        except BaseException:
            with cond:
                queue.extendleft(reversed(batch[i + 1 :]))
            raise


class PumpExecutor:
    """The default executor: jobs wait here until a thread runs them with `pump`.

    ``WebView.show()`` (blocking) pumps on its own thread until the window closes, when the
    registry has main-thread handlers (the app's loop then runs on a thread of its own, so a
    busy main thread never stalls the other handlers). After ``show(block=False)`` nothing
    pumps unless the program does: call ``view.pump_main_thread()`` (or
    ``app.pump_main_thread()``) regularly from the thread that should run the handlers, e.g.
    from a timer of its own loop. Until some thread has pumped (or while no blocking
    ``show()`` does), `submit` raises `MainThreadUnavailable`: the call is answered
    ``unavailable`` at once, naming this fix, instead of hanging. Once a thread has pumped,
    calls are queued for its next pump however late it comes; with ``alive_for`` they are
    refused once nothing has pumped for that many seconds."""

    def __init__(self, *, alive_for: float | None = None) -> None:
        if alive_for is not None and not alive_for > 0:
            raise ValueError(f"alive_for must be a positive number of seconds or None, got {alive_for!r}")
        #: How long (seconds) after its last `pump` a program's thread still counts as pumping:
        #: later calls are refused (``unavailable``) rather than queued for a pump that may never
        #: come. None (the default): once a thread has pumped, calls wait for its next pump.
        self.alive_for: float | None = alive_for
        self._jobs: collections.deque[Callable[[], None]] = collections.deque()
        self._cond = threading.Condition(threading.Lock())
        self._serving_count = 0  # blocking show() calls pumping (or about to)
        self._pumped = False  # some thread called pump(): it promises to go on
        self._pumped_at = 0.0  # when a pump last started or ended (`_now`)
        self._in_pump = 0  # pump() calls running now
        # A blocking show() running the app's loop on its own thread (no thread="main"
        # handler to pump for): jobs (App.run_in_main_thread's) run as that loop's callbacks.
        self._loop: asyncio.AbstractEventLoop | None = None
        #: The thread that pumped last (None: none yet).
        self.thread_ident: int | None = None

    @property
    def pumping(self) -> bool:
        """Whether submitted jobs will run: a blocking ``show()`` pumps, or a program's thread
        has called `pump`."""
        return self._pump_alive() or self._serving_count > 0 or self._loop is not None

    def _pump_alive(self) -> bool:
        """Whether a program's thread pumps: it has, and (with `alive_for`) recently."""
        if not self._pumped:
            return False
        return self.alive_for is None or self._in_pump > 0 or _now() - self._pumped_at <= self.alive_for

    def submit(self, job: Callable[[], None], /) -> None:
        with self._cond:
            if self._serving_count or self._pump_alive():
                self._jobs.append(job)
                self._cond.notify()
                return
            loop = self._loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: refused below
                loop.call_soon_threadsafe(job)
                return
        with self._cond:
            if self._pumped and not (self._serving_count or self._pump_alive()):
                raise MainThreadUnavailable(
                    f"nothing has pumped the main thread's jobs for {_now() - self._pumped_at:.1f} s (the default "
                    f"executor counts a thread as pumping for {self.alive_for} s after its last pump_main_thread(), "
                    "PumpExecutor(alive_for=...)): call pump_main_thread() regularly (docs/dcc.md)"
                )
            if not (self._pump_alive() or self._serving_count):
                raise MainThreadUnavailable(
                    "nothing runs the main thread's jobs: the default executor runs them on the thread that "
                    "called show(), while show() blocks; after show(block=False) (or with no window) that thread "
                    "must call pump_main_thread() regularly, or pass App(main_thread=...) a QtExecutor or the "
                    "host's own main-thread function (docs/dcc.md)"
                )
            self._jobs.append(job)
            self._cond.notify()

    def pump(self, timeout: float | None = 0.0) -> int:
        """Run the jobs waiting now, on this thread, in order; when none waits, wait up to
        ``timeout`` seconds (None: until one comes) for one. Returns how many ran. The first
        call marks this executor as pumped: from then on jobs are queued for the next call
        (with `alive_for`, only while the last call ended at most that long ago)."""
        with self._cond:
            self._pumped = True
            self._pumped_at = _now()
            self._in_pump += 1
            self.thread_ident = threading.get_ident()
            try:
                if not self._jobs and timeout != 0:
                    self._cond.wait(timeout)
                jobs = list(self._jobs)
                self._jobs.clear()
            finally:
                self._in_pump -= 1
                self._pumped_at = _now()
        _run_all(jobs, self._jobs, self._cond)
        return len(jobs)

    @contextlib.contextmanager
    def _serving(self) -> Generator[None, None, None]:
        """A blocking ``show()`` on this thread will pump (`_pump_until`) from here on: jobs
        are queued for it, not refused, even before it starts pumping."""
        with self._cond:
            self._serving_count += 1
            self.thread_ident = threading.get_ident()
        try:
            yield
        finally:
            with self._cond:
                self._serving_count -= 1
                jobs = list(self._jobs) if not (self._serving_count or self._pump_alive()) else []
                if jobs:
                    self._jobs.clear()
            # Nobody pumps from now on: what is still queued runs (or is refused) now rather
            # than wait for a pump that will not come; calls whose window closed were dropped.
            for job in jobs:
                job()

    @contextlib.contextmanager
    def _served_by(self, loop: asyncio.AbstractEventLoop) -> Generator[None, None, None]:
        """A blocking ``show()`` runs the app's loop on this thread (its registry has no
        main-thread handler to pump for): jobs run as that loop's callbacks, on this thread,
        rather than being refused."""
        with self._cond:
            previous, self._loop = self._loop, loop
            self.thread_ident = threading.get_ident()
        try:
            yield
        finally:
            with self._cond:
                self._loop = previous

    def _pump_until(self, done: Callable[[], bool], poll: float = 0.1) -> None:
        """Pump on this thread until ``done()`` (inside `_serving`); `_wake` ends a wait."""
        while not done():
            with self._cond:
                if not self._jobs and not done():
                    self._cond.wait(poll)
                jobs = list(self._jobs)
                self._jobs.clear()
            _run_all(jobs, self._jobs, self._cond)

    def _wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def __repr__(self) -> str:
        return f"PumpExecutor(pumping={self.pumping})"


# -- the app's queue of main-thread jobs ------------------------------------------------

_in_job = threading.local()


def in_main_thread_job() -> bool:
    """Whether the calling thread is running a main-thread job of some app now (it must not
    wait for the app's runtime to stop: that waits for this job)."""
    return bool(getattr(_in_job, "depth", 0))


class MainLane:
    """An app's main-thread jobs, in arrival order, run by drains handed to its executor.

    At most one drain is with the executor at a time: `put` hands one over when the queue
    was empty, and a drain that leaves jobs behind (its budget spent) hands itself over
    again. Each job is a callable that never raises."""

    def __init__(self, executor: MainThreadExecutor) -> None:
        self.executor = executor
        self._jobs: collections.deque[Callable[[], None]] = collections.deque()
        self._lock = threading.Lock()
        self._posted = False  # a drain is with the executor (or running)
        self.drains = 0  # drains run so far (for tests and stats)

    def put(self, job: Callable[[], None]) -> None:
        """Queue ``job``; raises what the executor raises (the job is then not queued)."""
        with self._lock:
            self._jobs.append(job)
            if self._posted:
                return
            self._posted = True
        try:
            self.executor.submit(self._drain)
        except BaseException as exc:
            # No drain comes: the caller's job is not queued (the exception tells it), and the
            # jobs other threads queued meanwhile, behind this drain, are refused.
            self._refuse_all(str(exc) or type(exc).__name__, but=job)
            raise

    def _drain(self) -> None:
        self.drains += 1
        deadline = time.perf_counter() + DRAIN_BUDGET
        lock, jobs = self._lock, self._jobs
        _in_job.depth = getattr(_in_job, "depth", 0) + 1
        idle = False
        try:
            while True:
                with lock:
                    if not jobs:
                        self._posted = False
                        idle = True
                        return
                    job = jobs.popleft()
                try:
                    job()
                except Exception:  # a job must not raise; if one does, the others still run
                    log.exception("a main-thread job raised; the next ones still run")
                del job
                if time.perf_counter() >= deadline:
                    break
        finally:
            # Also when a KeyboardInterrupt or SystemExit escapes a job (raised on after
            # this): the jobs left get the next drain, the queue never stays jammed.
            _in_job.depth -= 1
            if not idle:
                self._next_drain()

    def _next_drain(self) -> None:
        """After a drain that stopped with its budget spent (or interrupted): hand the next
        one over when jobs are left, else mark the lane idle."""
        with self._lock:
            if not self._jobs:
                self._posted = False
                return
        # Budget spent with jobs left: the host's loop gets its turn, then the next drain.
        try:
            self.executor.submit(self._drain)
        except Exception as exc:  # noqa: BLE001 - the executor went away: run nothing more from here
            self._refuse_all(f"the main-thread executor stopped taking jobs ({exc or type(exc).__name__})")

    def _refuse_all(self, why: str, but: Callable[[], None] | None = None) -> None:
        """No drain is with the executor and none will come: answer every queued job (but
        ``but``, whose caller is told by the exception it gets)."""
        with self._lock:
            self._posted = False
            left = [job for job in self._jobs if job is not but]
            self._jobs.clear()
        for job in left:
            refuse = getattr(job, "refuse", None)
            if refuse is not None:
                refuse(why)
