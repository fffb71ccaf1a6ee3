"""Runs an app's handlers on asyncio for its `_core.Core` (one runtime per app, on one loop).

The core queues work without the GIL and wakes this loop through a socket (`add_reader`);
one wake-up hands over every call, event and cancellation ready at that moment. Async
handlers run as tasks on the loop; sync handlers run on a bounded set of daemon worker
threads and answer from there, so a slow sync handler never blocks the loop, and one that
never returns never holds up the interpreter's exit (it is reported and abandoned).

Faults (docs/ARCHITECTURE.md, "Faults in handlers"): every accepted call gets exactly one
reply whatever its handler raises. A `BaseException` that is not an `Exception` is answered
``internal`` (named after its class); `KeyboardInterrupt` and `SystemExit` then stop the app
(`Runtime.fatal`, handed to the app's ``on_fatal``), any other is logged and the app goes on.

With `spin_us`, a runtime whose page is calling back to back keeps the loop's thread awake
between calls: after answering, it waits up to `spin_us` for the next one (spinning in the
core, without the GIL) in a callback of its own, so the loop still runs timers, I/O and other
tasks between waits. Waking a sleeping thread costs tens of microseconds on a small VM, which
is most of a call's overhead. It only spins while the calls keep coming: once a wait comes
back empty, or when the gap before a call exceeded `spin_us`, the loop sleeps as usual; and
only after a lone call (a chain of sequential calls): a batch of several means calls in bulk,
whose next batch a wait would only compete with for a core (with yielding waits, waiting after
batches too cut 2,000 calls in flight in a window from a median 27k to 18k calls/s over 9 runs
each, on 2 cores). The wait offers its core to any other thread ready to run at each look
(`src/handoff/spin.rs`), so it does not delay the page that is about to send that call. The
app turns waiting off (`may_spin`) while a transport that runs on this same loop is attached
(an in-process client): its next call could not be sent while the loop waits for it.

Main-thread handlers (``thread="main"``, docs/dcc.md) are queued to the app's `MainLane`,
whose executor runs them on the host's main thread. Each call's job starts only if its call
is still in flight: a cancel, a timeout or a disconnect that reaches the runtime first marks
it, and it never runs. Once running it cannot be stopped (like any sync handler): the router
has answered the call already, and its result is dropped as a late result.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import contextvars
import logging
import queue
import re
import threading
import time
import traceback
import weakref
from collections.abc import Callable, Coroutine, Generator, Sequence
from typing import Any, Final

from pydantic import ValidationError
from pydantic_core import PydanticSerializationError, to_json

from . import _core
from ._binary import AttachmentError
from .channel import Channel, _Credit  # pyright: ignore[reportPrivateUsage]
from .commands import Command, EventHandler, _retry_well_formed  # pyright: ignore[reportPrivateUsage]
from .context import CallContext
from .errors import ERROR_NAMES, InvokeError, InvokeException
from .mainthread import MainLane

__all__ = ["EventTap", "Runtime"]

#: Sees every client event before its handlers: ``tap(conn, child, name, detail)``, where
#: ``child`` is the sender's child id when a child process sent it (else None). Runs on the
#: loop and must return at once.
EventTap = Callable[[int, "str | None", str, bytes], None]

log = logging.getLogger("auroraview")

_CALL: Final = 0
_EVENT: Final = 1
_CANCEL: Final = 2
_ACK: Final = 3
_PUBLICATION: Final = 4
#: The prefix under which the app's own topic subscribers are looked up as event handlers
#: (`_topics.HANDLER_PREFIX`; no event name starts with a NUL).
TOPIC_HANDLERS: Final = "\0topic:"
# Work items started per loop wake-up. Each starts a task that runs in the next loop
# iteration, so this bounds how long any iteration runs. Worst loop stall with 10,000 mixed
# calls queued from another thread, 8 sync workers (tests/python/test_concurrency.py, 8
# runs each): 32 items, 14-34 ms; 64 items, 30-51 ms (over the 50 ms bound once); 1,024
# items, ~120 ms. Most of a stall is waiting for the GIL held by the other threads.
_BATCH = 32
# Event names without a handler remembered so each is logged once: a page sending made-up
# names cannot grow the set past this (later ones are logged at debug level only).
_UNHEARD_KEPT = 1024
# Absolute paths in exception messages (POSIX and Windows), hidden unless debug is on.
_ABS_PATH = re.compile(r"(?<![\w.~-])(?:/(?:[\w.~-]+/)+[\w.~-]*|[A-Za-z]:\\(?:[^\\\s'\"]+\\)*[^\\\s'\"]*)")


#: Runtimes started in this process, for the report of abandoned handlers at exit.
_started: weakref.WeakSet[Runtime] = weakref.WeakSet()
_atexit_lock = threading.Lock()
_atexit_registered = False


def _report_abandoned_at_exit() -> None:
    """At interpreter exit: name the sync handlers still running (their daemon threads are
    abandoned; Python does not wait for them)."""
    now = time.monotonic()
    for runtime in list(_started):
        for what, since in list(runtime._running.values()):
            log.warning("interpreter exit: abandoning %s, still running after %.1f s", what, now - since)


class _Workers:
    """Up to ``size`` daemon threads running jobs from one queue in arrival order, each
    started when the work needs it. Daemon threads, so that a handler that never returns
    cannot hold up the interpreter's exit (a `concurrent.futures` pool's threads are joined
    at exit, forever)."""

    def __init__(self, size: int, name: str) -> None:
        self._size = size
        self._name = name
        self._jobs: queue.SimpleQueue[tuple[Callable[..., None], tuple[Any, ...]] | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._idle = 0  # threads done with a job and not yet promised another
        self._closed = False

    def submit(self, fn: Callable[..., None], *args: Any) -> None:
        """Queue ``fn(*args)``; it must not raise (jobs answer their own errors)."""
        self._jobs.put((fn, args))
        with self._lock:
            if self._idle:
                self._idle -= 1  # that thread will take this job
            elif len(self._threads) < self._size and not self._closed:
                thread = threading.Thread(target=self._work, name=f"{self._name}-{len(self._threads)}", daemon=True)
                self._threads.append(thread)
                thread.start()

    def _work(self) -> None:
        jobs, lock = self._jobs, self._lock
        while True:
            job = jobs.get()
            if job is None:
                return
            fn, args = job
            try:
                fn(*args)
            except BaseException:  # a worker outlives any job
                log.exception("auroraview worker job failed")
            del job, fn, args
            with lock:
                self._idle += 1

    def shutdown(self, *, wait: float | None) -> list[tuple[Callable[..., None], tuple[Any, ...]]]:
        """Drop the jobs not started (returned, for their owner to answer); each thread ends
        after its current job. With ``wait`` (seconds), join them for that long at most."""
        with self._lock:
            self._closed = True
            threads = list(self._threads)
        dropped: list[tuple[Callable[..., None], tuple[Any, ...]]] = []
        while True:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                break
            if job is not None:
                dropped.append(job)
        for _ in threads:
            self._jobs.put(None)
        if wait is not None:
            deadline = time.monotonic() + wait
            for thread in threads:
                thread.join(max(0.0, deadline - time.monotonic()))
        return dropped


def _scrub(message: str) -> str:
    return _ABS_PATH.sub("<path>", message)


def _error_json(data: Any) -> bytes:
    """An error's ``data`` as JSON, lone surrogates becoming U+FFFD as in results
    (docs/ARCHITECTURE.md, "Strings JavaScript can hold")."""
    try:
        return to_json(data)
    except (PydanticSerializationError, UnicodeEncodeError) as exc:
        return _retry_well_formed(exc, data, to_json)


def _validation_data(exc: ValidationError) -> bytes:
    return b'{"errors":' + exc.json(include_url=False, include_input=False).encode() + b"}"


class _Resume:
    """Awaitable that resumes a coroutine already stepped once, yielding its first
    suspension point (the future it awaits) to the task that now drives it."""

    __slots__ = ("coro", "first")

    def __init__(self, coro: Coroutine[Any, Any, None], first: Any) -> None:
        self.coro, self.first = coro, first

    def __await__(self) -> Generator[Any, Any, None]:
        pending = self.first
        while True:
            try:
                sent = yield pending
            except GeneratorExit:
                # The driving task's coroutine is being closed (a pending task destroyed,
                # e.g. at interpreter exit): close the handler's too (`close`, not `throw`:
                # see `_destroyed`), then end as asked.
                with contextlib.suppress(RuntimeError):
                    self.coro.close()
                raise
            except BaseException as exc:  # noqa: BLE001 - cancellation thrown in by the driving task, passed on
                try:
                    pending = self.coro.throw(exc)
                except StopIteration:
                    return
            else:
                try:
                    pending = self.coro.send(sent)
                except StopIteration:
                    return


async def _continue(coro: Coroutine[Any, Any, None], first: Any) -> None:
    await _Resume(coro, first)


_QUEUED: Final = 0
_RUNNING: Final = 1
_DROPPED: Final = 2  # cancelled (or the runtime stopped) before it started: never runs


class _MainCall:
    """A main-thread command's call, queued to the app's `MainLane`. Exactly one of `run`
    (on the main thread) and `drop` (a cancel, a timeout, a disconnect, the runtime
    stopping) takes it out of the queued state; a dropped call's handler never runs."""

    __slots__ = ("args", "cmd", "key", "kwargs", "runtime", "state")

    def __init__(self, runtime: Runtime, key: int, cmd: Command, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self.runtime, self.key, self.cmd, self.args, self.kwargs = runtime, key, cmd, args, kwargs
        self.state = _QUEUED

    def __call__(self) -> None:
        runtime = self.runtime
        with runtime._main_lock:
            if self.state != _QUEUED:
                return
            self.state = _RUNNING
        try:
            runtime._run_sync(self.key, self.cmd, self.args, self.kwargs)
        finally:
            runtime._main_jobs.pop(self.key, None)

    def drop(self) -> bool:
        """Take a call that has not started out of the queue (it will never run); False
        when it is running or ran already. The caller answers it if needed."""
        runtime = self.runtime
        with runtime._main_lock:
            if self.state != _QUEUED:
                return False
            self.state = _DROPPED
        runtime._main_jobs.pop(self.key, None)
        if self.cmd.context is not None:
            runtime._contexts.pop(self.key, None)
        with runtime._sync_lock:
            runtime._sync_running -= 1
        return True

    def refuse(self, why: str) -> None:
        """The executor stopped taking jobs with this one still queued: answer it."""
        if self.drop():
            self.runtime._main_unavailable(self.key, self.cmd, why)


class _MainEvent:
    """A main-thread event handler's run, queued to the app's `MainLane`."""

    __slots__ = ("args", "handler", "runtime", "state")

    def __init__(self, runtime: Runtime, handler: EventHandler, args: tuple[Any, ...]) -> None:
        self.runtime, self.handler, self.args = runtime, handler, args
        self.state = _QUEUED

    def __call__(self) -> None:
        runtime = self.runtime
        with runtime._main_lock:
            if self.state != _QUEUED:
                return
            self.state = _RUNNING
        try:
            runtime._run_event_sync(self.handler, self.args, main=True)
        finally:
            runtime._main_jobs.pop(self, None)

    def drop(self) -> bool:
        runtime = self.runtime
        with runtime._main_lock:
            if self.state != _QUEUED:
                return False
            self.state = _DROPPED
            runtime._main_events_done += 1
        runtime._main_jobs.pop(self, None)
        return True

    def refuse(self, why: str) -> None:
        if self.drop():
            log.error("event handler %s for %r did not run: %s", self.handler.fn.__qualname__, self.handler.event, why)


def _destroyed(exc: BaseException) -> bool:
    """Whether ``exc``, caught in `Runtime._run_async`, is the GeneratorExit of its coroutine
    being closed (its task destroyed, or never run) rather than one the handler raised:
    ``close()`` closes the awaited handler first, then throws into `_run_async`'s own frame,
    so the traceback has no frame below it."""
    return isinstance(exc, GeneratorExit) and (exc.__traceback__ is None or exc.__traceback__.tb_next is None)


class Runtime:
    """Runs the handlers of one app's core on the running asyncio loop.

    ``methods`` is the app's handler table (index = the method id the core reports; the app
    appends to it before registering a name); ``handlers`` looks up event handlers by name.
    """

    def __init__(
        self,
        core: _core.Core,
        methods: Sequence[Command],
        handlers: Callable[[str], list[EventHandler]],
        *,
        debug: bool = False,
        sync_workers: int = 16,
        spin_us: int = 0,
        event_taps: Sequence[EventTap] = (),
        on_fatal: Callable[[BaseException], None] | None = None,
        builtin: Callable[[int, Command, dict[str, Any], int], None] | None = None,
        main_lane: MainLane | None = None,
    ) -> None:
        if sync_workers < 1:
            raise ValueError(f"sync_workers must be >= 1, got {sync_workers}")
        if not 0 <= spin_us <= 10_000:
            raise ValueError(f"spin_us must be between 0 and 10000, got {spin_us}")
        self.core = core
        self.debug = debug
        self._handlers = handlers
        #: Called with every client event before its handlers (the app's child manager).
        self._event_taps = event_taps
        self.sync_workers = sync_workers
        self._methods = methods
        #: Answers the reserved methods (`Command.builtin`: the app's topics).
        self._builtin = builtin
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._live: set[asyncio.Task[None]] = set()  # every handler task not done yet
        #: The `CallContext` of each call in flight whose command takes one (by call key).
        self._contexts: dict[int, CallContext] = {}
        #: The credit of each stream or channel call in flight (by call key).
        self._credits: dict[int, _Credit] = {}
        self._stopping = False  # `stop()` is under way: nothing new starts
        self._event_tasks: set[asyncio.Task[None]] = set()
        #: Event names a page sent that no handler listened for, each logged once.
        self._unheard: set[str] = set()
        self._sync_running = 0  # sync calls queued or running
        self._sync_lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread = 0  # the loop's thread (channels tell async senders from sync ones)
        self._pool: _Workers | None = None
        self._event_pool: _Workers | None = None
        self._events_queued = 0  # sync event handler runs queued so far (loop thread)
        self._events_done = 0  # ... and finished (the events thread)
        #: Sync handlers running now: id -> (what, since), for the report of abandoned ones.
        self._running: dict[object, tuple[str, float]] = {}
        #: The first `KeyboardInterrupt` or `SystemExit` a handler raised: the app stops and
        #: whoever owns its run (``show()``, ``run_async()``, a test client) re-raises it.
        self.fatal: BaseException | None = None
        self._on_fatal = on_fatal
        self._spin_us = spin_us
        self._idle_since = 0.0  # perf_counter() when the last work was done
        self._spin_scheduled = False
        self.spin_hits = 0  # waits that caught the next item
        self.spin_misses = 0  # waits that ran out
        #: Whether the loop may wait for the next call (no transport runs on this loop).
        self.may_spin = True
        #: Where main-thread handlers go (the app's executor; docs/dcc.md).
        self._main_lane = main_lane
        #: Main-thread jobs queued or running: calls by key, event runs by themselves.
        self._main_jobs: dict[object, _MainCall | _MainEvent] = {}
        self._main_lock = threading.Lock()  # a job's state; the main-thread event counters
        self._main_events_queued = 0
        self._main_events_done = 0
        self._warned_unavailable = False

    # -- lifecycle ------------------------------------------------------------------

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        """The loop this runtime serves on, while it runs."""
        return self._loop

    def start(self) -> None:
        """Start serving on the running loop."""
        if self._loop is not None:
            raise RuntimeError("runtime already started")
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._stopping = False
        self._pool = _Workers(self.sync_workers, "auroraview-sync")
        # One thread keeps sync event handlers in the order the events arrived.
        self._event_pool = _Workers(1, "auroraview-events")
        global _atexit_registered
        with _atexit_lock:
            _started.add(self)
            if not _atexit_registered:
                atexit.register(_report_abandoned_at_exit)
                _atexit_registered = True
        self._loop.add_reader(self.core.fileno(), self.drain)

    async def stop(self, grace: float = 5.0) -> None:
        """Cancel the handlers still running and wait (up to `grace` seconds) for them and
        the worker threads to finish. Sync handlers still running then are reported and
        abandoned (their threads are daemons: they cannot hold up the interpreter's exit).
        The core is left as it is: the app decides whether it shuts down (answering calls in
        flight `shutting_down`) or serves again later."""
        loop = self._loop
        if loop is None:
            return
        # Everything queued now, all of it (cancellations queued by disconnects or a shutdown
        # come in batches: the first of 100 is not enough).
        loop.remove_reader(self.core.fileno())
        while ops := self.core.take(_BATCH):
            self._run_ops(loop, ops, False)
        # From here no new work starts (a drain or a spin scheduled before would otherwise
        # start handlers nobody waits for); what is queued later is the core's, for later.
        self._stopping = True
        pending = [*self._live, *self._event_tasks]
        for task in pending:
            task.cancel()
        # Main-thread jobs not started never will: the host's thread may not pump again.
        for job in list(self._main_jobs.values()):
            if not job.drop():
                continue  # running: waited for below
            if isinstance(job, _MainCall):
                self.core.fail(job.key, ERROR_NAMES["shutting_down"], "shutting_down", "the app stopped before the handler started")
            else:
                log.warning("an event for %s was dropped: the app stopped before it ran", job.handler.fn.__qualname__)
        deadline = loop.time() + grace
        if pending:
            await asyncio.wait(pending, timeout=grace)
        while (
            self._sync_running or self._events_queued > self._events_done or self._main_events_queued > self._main_events_done
        ) and loop.time() < deadline:
            await asyncio.sleep(0.005)
        now = time.monotonic()
        for what, since in list(self._running.values()):
            log.warning(
                "%s still running after the %.1f s shutdown grace (running for %.1f s): abandoned, "
                "its daemon thread is left to finish on its own",
                what,
                grace,
                now - since,
            )
        stuck = bool(self._running)
        with _atexit_lock:
            _started.discard(self)  # reported here: not again at exit
        for pool in (self._pool, self._event_pool):
            if pool is None:
                continue
            for fn, args in pool.shutdown(wait=None if stuck else 1.0):
                # Queued behind a handler still running: never started. A call gets its one
                # reply; an event is only counted as handled.
                if fn == self._run_sync:
                    key, cmd = args[0], args[1]
                    self.core.fail(key, ERROR_NAMES["shutting_down"], "shutting_down", "the app stopped before the handler started")
                    if cmd.context is not None:
                        self._contexts.pop(key, None)
                    with self._sync_lock:
                        self._sync_running -= 1
                else:
                    log.warning("an event for %s was dropped: the app stopped before it ran", args[0].fn.__qualname__)
        self._loop = None

    # -- dispatch -------------------------------------------------------------------

    def drain(self) -> None:
        """Start the work the core has queued, a batch at a time so the loop never stalls.
        Called by the loop when the core's fd is readable."""
        loop = self._loop
        if loop is None or self._stopping:
            return
        ops = self.core.take(_BATCH)
        if not ops:
            return
        # Calls arriving soon after the previous work are a chain worth staying awake for.
        hot = self._spin_us > 0 and time.perf_counter() - self._idle_since <= self._spin_us * 1e-6
        self._run_ops(loop, ops, hot)

    def _spin(self) -> None:
        """Wait (bounded, without the GIL) for the next item of a chain of calls."""
        self._spin_scheduled = False
        loop = self._loop
        if loop is None or self._tasks or self._stopping:
            return
        ops = self.core.take(_BATCH, self._spin_us)
        if not ops:
            self.spin_misses += 1
            return
        self.spin_hits += 1
        self._run_ops(loop, ops, True)

    def _run_ops(self, loop: asyncio.AbstractEventLoop, ops: list[_core._Op], hot: bool) -> None:
        if len(ops) == _BATCH:
            loop.call_soon(self.drain)
        for op in ops:
            if op[0] == _CALL:
                _, key, method, params, conn, blobs = op
                self._start_call(loop, key, self._methods[method], params, conn, blobs)
            elif op[0] == _EVENT:
                _, conn, name, detail, child = op
                for tap in self._event_taps:
                    try:
                        tap(conn, child, name, detail)
                    except Exception:  # a tap must not stop the handlers
                        log.exception("event tap for %r failed", name)
                self._deliver_event(loop, name, detail, from_page=child is None)
            elif op[0] == _ACK:
                credit = self._credits.get(op[1])
                if credit is not None:
                    credit.ack(op[2])
            elif op[0] == _PUBLICATION:
                _, topic, _epoch, _offset, data = op
                self._deliver_event(loop, TOPIC_HANDLERS + topic, data)
            else:
                credit = self._credits.pop(op[1], None)
                if credit is not None:
                    credit.close()
                task = self._tasks.pop(op[1], None)
                if task is not None:
                    task.cancel()
                if self._main_jobs:
                    job = self._main_jobs.get(op[1])
                    if job is not None:
                        job.drop()  # not started: never will (answered by the router already)
                if self._contexts:
                    call = self._contexts.pop(op[1], None)
                    if call is not None:
                        call._cancel()  # pyright: ignore[reportPrivateUsage]
        self._idle_since = time.perf_counter()
        # Wait for the next call only once this batch is answered (a handler still running
        # needs the loop) and from a callback of its own, after the loop has polled its I/O.
        if hot and len(ops) == 1 and not self._tasks and not self._spin_scheduled and self.may_spin:
            self._spin_scheduled = True
            loop.call_soon(self._spin)

    def _start_call(
        self, loop: asyncio.AbstractEventLoop, key: int, cmd: Command, params: bytes, conn: int, blobs: list[bytes] | None
    ) -> None:
        try:
            if cmd.binary or blobs:
                if blobs is None:
                    self._no_binary_route(key, cmd)
                    return
                args, kwargs = cmd.validate_binary(params, blobs)
            else:
                args, kwargs = cmd.validator.validate_json(params)
        except AttachmentError as exc:
            where = ".".join(str(p) for p in exc.loc) or "params"
            data = to_json({"errors": [{"type": "invalid_attachment", "loc": list(exc.loc), "msg": exc.message}]})
            message = f"invalid params for {cmd.name!r}: {where}: {exc.message}"
            self.core.fail(key, ERROR_NAMES["invalid_params"], "invalid_params", message, data)
            return
        except ValidationError as exc:
            n = exc.error_count()
            first = exc.errors(include_url=False, include_input=False)[0]
            where = ".".join(str(p) for p in first["loc"]) or "params"
            message = f"invalid params for {cmd.name!r}: {where}: {first['msg']}"
            if n > 1:
                message += f" (and {n - 1} more error{'s' if n > 2 else ''})"
            self.core.fail(key, ERROR_NAMES["invalid_params"], "invalid_params", message, _validation_data(exc))
            return
        if cmd.builtin is not None:
            assert self._builtin is not None
            try:
                self._builtin(key, cmd, kwargs, conn)
            except Exception:  # answered, and the rest of the batch still starts
                log.exception("%s failed", cmd.name)
                self.core.fail(key, ERROR_NAMES["internal"], "internal", f"{cmd.name} failed on the host")
            return
        if cmd.context is not None:
            info = self.core.conn_info(conn)
            if info is None:
                return  # its connection closed already: the router has ended the call
            call = CallContext._for(cmd.name, conn, info, cmd.timeout)  # pyright: ignore[reportPrivateUsage]
            kwargs[cmd.context] = self._contexts[key] = call
        credit = None
        if cmd.stream is not None or cmd.channel is not None:
            credit = self._credits[key] = _Credit(loop)
            if cmd.channel is not None:
                kwargs[cmd.channel] = Channel(self.core, key, cmd.dump_item, credit, self._loop_thread)
        if cmd.thread == "main":
            self._submit_main(key, cmd, args, kwargs)
        elif cmd.is_async:
            # Run the handler eagerly up to its first suspension: a handler that never
            # suspends answers without a task or an extra loop iteration (3.12's eager tasks,
            # done by hand for 3.10+). One that suspends continues as a task from there.
            if cmd.stream is not None:
                assert credit is not None
                coro = self._run_stream_async(key, cmd, args, kwargs, credit)
            else:
                coro = self._run_async(key, cmd, args, kwargs)
            ctx = contextvars.copy_context()
            try:
                first = ctx.run(coro.send, None)
            except StopIteration:
                return
            except asyncio.CancelledError:
                # `_run_async` answers whatever else the handler raises. A `CancelledError`
                # the handler raised itself (no cancel can reach it before its first await)
                # is passed on unanswered: answer it here, and start the rest of the batch.
                self.core.fail(key, ERROR_NAMES["cancelled"], "cancelled", "the handler was cancelled")
                return
            # Created inside `ctx` (create_task's context= is 3.11+): the task runs in a copy
            # of it, holding whatever the first step set.
            task = self._tasks[key] = ctx.run(loop.create_task, _continue(coro, first))
            # Tracked until done, even once its call has ended (a cancelled stream closing its
            # generator): `stop` waits for these.
            self._live.add(task)
            task.add_done_callback(self._live.discard)
        else:
            assert self._pool is not None
            with self._sync_lock:
                self._sync_running += 1
            self._pool.submit(self._run_sync, key, cmd, args, kwargs)

    def _submit_main(self, key: int, cmd: Command, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        """Queue a main-thread command's call to the app's executor (docs/dcc.md)."""
        job = _MainCall(self, key, cmd, args, kwargs)
        self._main_jobs[key] = job
        with self._sync_lock:
            self._sync_running += 1  # queued or running: `stop` waits for it
        lane = self._main_lane
        try:
            if lane is None:
                raise RuntimeError("this runtime has no main-thread executor")
            lane.put(job)
        except Exception as exc:  # noqa: BLE001 - whatever the executor raises: the call is answered
            if job.drop():
                self._main_unavailable(key, cmd, str(exc) or type(exc).__name__)

    def _main_unavailable(self, key: int, cmd: Command, why: str) -> None:
        if not self._warned_unavailable:  # once: a page calling in a loop logs one line
            self._warned_unavailable = True
            log.warning("command %r (thread='main') did not run: %s", cmd.name, why)
        self.core.fail(
            key,
            ERROR_NAMES["unavailable"],
            "unavailable",
            f"command {cmd.name!r} runs on the main thread (thread='main') and cannot now: {why}",
        )

    def _no_binary_route(self, key: int, cmd: Command) -> None:
        """Answer a call of a binary command that came as a JSON message on a route that
        cannot carry raw bytes (a window page's message path): its handler never runs."""
        self.core.fail(
            key,
            ERROR_NAMES["internal"],
            "internal",
            f"command {cmd.name!r} takes or returns bytes (a binary command), and this call came as a JSON "
            "message on a route that cannot carry raw bytes: call it through the typed client (the SDK's "
            "generated bindings send it to the window's custom-protocol call endpoint, or as a binary "
            "WebSocket message) (docs/binary.md)",
        )

    def _complete_binary(self, key: int, cmd: Command, value: Any) -> None:
        payload, blobs = cmd.dump_binary(value)
        self.core.complete(key, payload, blobs)

    async def _run_async(self, key: int, cmd: Command, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        answered = False
        try:
            result = await cmd.fn(*args, **kwargs)
            if cmd.binary:
                payload, blobs = cmd.dump_binary(result)
                answered = True
                self.core.complete(key, payload, blobs)
            else:
                payload = cmd.dump(result)
                answered = True
                self.core.complete(key, payload)
        except asyncio.CancelledError:
            # Cancelled by the router (timeout, cancel, shutdown): it has answered already.
            # Cancelled by anything else: the caller still gets its one reply.
            if self._tasks.pop(key, None) is not None:
                self.core.fail(key, ERROR_NAMES["cancelled"], "cancelled", "the handler was cancelled")
            answered = True
            raise
        except BaseException as exc:  # any handler error becomes the caller's error reply
            answered = True
            if _destroyed(exc):  # not the handler's: end as asked, answered
                self.core.fail(key, ERROR_NAMES["internal"], "internal", "the handler's task was destroyed")
                raise
            # Exceptions, and the other BaseExceptions (GeneratorExit, KeyboardInterrupt,
            # SystemExit, ...): answered, then handled by `_fail`; never raised into the loop.
            self._fail(key, cmd, exc)
        finally:
            self._tasks.pop(key, None)
            if cmd.context is not None:
                self._contexts.pop(key, None)
            if cmd.channel is not None:
                self._end_credit(key)
            if not answered:
                self.core.fail(key, ERROR_NAMES["internal"], "internal", "the handler exited abnormally")

    async def _run_stream_async(
        self, key: int, cmd: Command, args: tuple[Any, ...], kwargs: dict[str, Any], credit: _Credit
    ) -> None:
        """Drive an async generator command: an item per credit, then the one reply. However
        it stops (its end, an error, a cancel, a timeout, its caller gone), the generator is
        closed, so its ``finally`` runs."""
        answered = False
        agen = cmd.fn(*args, **kwargs)
        try:
            while True:
                if credit.full() and not credit.closed:
                    await credit.wait_async()
                if credit.closed:
                    answered = True  # the router ended the call (and answered it)
                    return
                try:
                    item = await agen.__anext__()
                except StopAsyncIteration:
                    break
                if not credit.send(self.core, key, cmd.dump_item(item)):
                    answered = True  # ended meanwhile, or this item ended it: answered already
                    return
            answered = True
            self.core.complete(key, b"null")
        except asyncio.CancelledError:
            if self._tasks.pop(key, None) is not None:
                self.core.fail(key, ERROR_NAMES["cancelled"], "cancelled", "the handler was cancelled")
            answered = True
            raise
        except BaseException as exc:
            answered = True
            if _destroyed(exc):
                self.core.fail(key, ERROR_NAMES["internal"], "internal", "the handler's task was destroyed")
                raise
            self._fail(key, cmd, exc)
        finally:
            self._tasks.pop(key, None)
            if cmd.context is not None:
                self._contexts.pop(key, None)
            self._end_credit(key)
            if not answered:
                self.core.fail(key, ERROR_NAMES["internal"], "internal", "the handler exited abnormally")
            try:
                await agen.aclose()  # runs the generator's `finally` (a no-op once it ended)
            except BaseException as exc:
                if not isinstance(exc, (asyncio.CancelledError, GeneratorExit)):
                    log.error("command %r: closing its generator raised %r", cmd.name, exc, exc_info=exc)

    def _end_credit(self, key: int) -> None:
        credit = self._credits.pop(key, None)
        if credit is not None:
            credit.close()

    def _run_sync(self, key: int, cmd: Command, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        running = self._running
        running[key] = (f"command {cmd.name!r}", time.monotonic())
        try:
            if cmd.stream is not None:
                self._drive_stream_sync(key, cmd, cmd.fn(*args, **kwargs))
            elif cmd.binary:
                self._complete_binary(key, cmd, cmd.fn(*args, **kwargs))
            else:
                payload = cmd.dump(cmd.fn(*args, **kwargs))
                self.core.complete(key, payload)
        except BaseException as exc:  # noqa: BLE001 - a worker must answer whatever happens
            self._fail(key, cmd, exc)
        finally:
            del running[key]
            if cmd.context is not None:
                self._contexts.pop(key, None)
            if cmd.stream is not None or cmd.channel is not None:
                loop = self._loop
                if loop is not None:  # `_credits` belongs to the loop's thread
                    with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                        loop.call_soon_threadsafe(self._end_credit, key)
            with self._sync_lock:
                self._sync_running -= 1

    def _drive_stream_sync(self, key: int, cmd: Command, gen: Generator[Any, None, None]) -> None:
        """Drive a sync generator command on this worker thread: an item per credit, then
        the one reply; the generator is closed however it stops (here: its thread)."""
        credit = self._credits.get(key)  # set before the job was queued; gone if cancelled since
        try:
            for item in gen:
                if credit is None or not credit.send_blocking(self.core, key, cmd.dump_item(item)):
                    return  # the call ended (cancelled, timed out, caller gone): answered already
            self.core.complete(key, b"null")
        finally:
            gen.close()

    def _fail(self, key: int, cmd: Command, exc: BaseException) -> None:
        # An `InvokeError` is a reply this handler received (a call it made failed): its
        # code (`method_not_found`, `timeout`, ...) is not the handler's own to pass on.
        if isinstance(exc, InvokeException) and not isinstance(exc, InvokeError):
            try:
                data = None if exc.data is None else _error_json(exc.data)
            except Exception as ser:  # noqa: BLE001 - whatever the data's serializer raises
                log.error("command %r: InvokeException data is not serializable: %s", cmd.name, ser)
                self.core.fail(
                    key, ERROR_NAMES["internal"], "internal", f"error data could not be serialized: {type(ser).__name__}"
                )
                return
            self.core.fail(key, exc.name, exc.code, exc.message, data)
            return
        base = not isinstance(exc, Exception)
        if not (base and self._stops(exc)):
            log.error("command %r raised %s", cmd.name, type(exc).__name__, exc_info=exc)
        # A BaseException's str() is often empty or a bare exit code: say what it was.
        message = f"the handler raised {exc!r}" if base else str(exc)
        data = None
        if self.debug:
            data = _error_json({"traceback": "".join(traceback.format_exception(exc))})
        else:
            message = _scrub(message)
        self.core.fail(key, type(exc).__name__, "internal", message, data)
        if base:
            self._base_exception(f"command {cmd.name!r}", exc)

    @staticmethod
    def _stops(exc: BaseException) -> bool:
        return isinstance(exc, (KeyboardInterrupt, SystemExit))

    def _base_exception(self, what: str, exc: BaseException) -> None:
        """After a handler's `BaseException` was answered (or logged, for an event handler):
        `KeyboardInterrupt` and `SystemExit` stop the app; any other was logged, the app goes on."""
        if not self._stops(exc):
            return
        log.warning("%s raised %r: stopping the app", what, exc)
        if self.fatal is not None:
            return  # the app is stopping already
        self.fatal = exc
        if self._on_fatal is not None:
            try:
                self._on_fatal(exc)
            except Exception:  # stopping must not break the handler's thread
                log.exception("stopping the app after %r failed", exc)

    # -- events ---------------------------------------------------------------------

    def _deliver_event(self, loop: asyncio.AbstractEventLoop, name: str, detail: bytes, *, from_page: bool = False) -> None:
        handlers = self._handlers(name)
        if not handlers:
            if from_page and name not in self._unheard and len(self._unheard) < _UNHEARD_KEPT:
                # Once per name: a page sending it in a loop logs one line, not one per send.
                self._unheard.add(name)
                log.warning(
                    "the page sent event %r and no handler listens for it (a typo? register one with "
                    "@commands.on(%r)); further %r events without a handler are not logged",
                    name,
                    name,
                    name,
                )
            else:
                log.debug("event %r has no handler", name)
            return
        for h in handlers:
            try:
                args = () if h.detail is None else (h.detail.validate_json(detail),)
            except ValidationError as exc:
                log.warning("event %r: detail rejected by %s: %s", name, h.fn.__qualname__, exc)
                continue
            if h.thread == "main":
                self._submit_main_event(h, args)
            elif h.is_async:
                task = loop.create_task(self._run_event_async(h, args))
                self._event_tasks.add(task)
                task.add_done_callback(self._event_tasks.discard)
            else:
                assert self._event_pool is not None
                self._events_queued += 1
                self._event_pool.submit(self._run_event_sync, h, args)

    def _submit_main_event(self, h: EventHandler, args: tuple[Any, ...]) -> None:
        job = _MainEvent(self, h, args)
        self._main_jobs[job] = job
        with self._main_lock:
            self._main_events_queued += 1
        lane = self._main_lane
        try:
            if lane is None:
                raise RuntimeError("this runtime has no main-thread executor")
            lane.put(job)
        except Exception as exc:  # noqa: BLE001 - whatever the executor raises: logged
            job.refuse(str(exc) or type(exc).__name__)

    async def _run_event_async(self, h: EventHandler, args: tuple[Any, ...]) -> None:
        try:
            await h.fn(*args)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # noqa: BLE001 - never raised into the loop (see `_base_exception`)
            self._event_failed(h, exc)

    def _run_event_sync(self, h: EventHandler, args: tuple[Any, ...], *, main: bool = False) -> None:
        token = object()
        self._running[token] = (f"event handler {h.fn.__qualname__} for {h.event!r}", time.monotonic())
        try:
            h.fn(*args)
        except BaseException as exc:  # noqa: BLE001 - the events thread outlives any handler
            self._event_failed(h, exc)
        finally:
            del self._running[token]
            if main:
                with self._main_lock:
                    self._main_events_done += 1
            else:
                self._events_done += 1  # only this thread writes it

    def _event_failed(self, h: EventHandler, exc: BaseException) -> None:
        if not self._stops(exc):
            log.error("event handler %s for %r failed: %r", h.fn.__qualname__, h.event, exc, exc_info=exc)
        if not isinstance(exc, Exception):
            self._base_exception(f"event handler {h.fn.__qualname__} for {h.event!r}", exc)

    def _drain_all(self) -> None:
        """Start every op queued so far (the events a client just sent), batch after batch."""
        loop = self._loop
        while loop is not None:
            ops = self.core.take(_BATCH)
            if ops:
                self._run_ops(loop, ops, False)
            if len(ops) < _BATCH:
                return

    async def events_idle(self) -> None:
        """Wait until every event delivered so far has been handled."""
        await self.events_handled(None)

    def events_mark(self) -> frozenset[asyncio.Task[None]]:
        """The async event handlers running now (for `events_handled`)."""
        return frozenset(self._event_tasks)

    async def events_handled(self, mark: frozenset[asyncio.Task[None]] | None) -> None:
        """Wait until every event delivered so far has been handled, except by the async
        handlers already running at ``mark`` (one that never finishes does not hold up the
        events sent after it). Sync event handlers run one at a time, in order: waiting for
        the last one waits for those before it."""
        self._drain_all()
        while True:
            tasks = [t for t in self._event_tasks if mark is None or t not in mark]
            if tasks:
                await asyncio.wait(tasks)
            elif self._events_done < self._events_queued or self._main_events_done < self._main_events_queued:
                await asyncio.sleep(0.001)
            else:
                return
            self._drain_all()
