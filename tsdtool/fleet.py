"""Run one job on every attached terminal at once: a USB hub of terminals, a farm of emulators.

Terminals not in `device` state are listed with their fix and never block the rest.
Parallelism is bounded (``jobs``): several terminals share one USB 2.0 bus and one adb server.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from tsdtool import errors
from tsdtool.errors import ExitCode
from tsdtool.transport.adb import Adb, Device, state_fix

DEFAULT_JOBS = 4


@dataclass
class FleetResult:
    serial: str
    state: str
    exit_code: int  # 0 ok, 3 partial, 4 unavailable, …
    value: Any = None
    error: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"serial": self.serial, "state": self.state, "exit_code": int(self.exit_code),
                "error": self.error or None, "result": self.value}


def run_each(adb: Adb, work: Callable[[Device], tuple[int, Any]], jobs: int = DEFAULT_JOBS) -> list[FleetResult]:
    """Call ``work(device)`` (returning ``(exit_code, value)``) on every usable terminal."""
    entries = adb.devices()
    results = {e.serial: FleetResult(e.serial, e.state, ExitCode.DEVICE_UNAVAILABLE,
                                     error=f"{e.state}: {state_fix(e.state)}")
               for e in entries if e.state != "device"}

    def guarded(entry) -> FleetResult:
        try:
            code, value = work(adb.device(entry))
            return FleetResult(entry.serial, entry.state, code, value)
        except errors.TsdError as exc:
            return FleetResult(entry.serial, entry.state, exc.exit_code, error=exc.one_line())

    usable = [e for e in entries if e.state == "device"]
    with ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="tsd-fleet") as pool:
        for result in pool.map(guarded, usable):
            results[result.serial] = result
    return [results[e.serial] for e in entries]


def overall(results: list[FleetResult]) -> int:
    """0 when every terminal succeeded; 3 when any was partial or skipped; 4 when none was usable."""
    if not results or all(r.exit_code == ExitCode.DEVICE_UNAVAILABLE for r in results):
        return ExitCode.DEVICE_UNAVAILABLE
    return ExitCode.OK if all(r.exit_code == 0 for r in results) else ExitCode.PARTIAL


# -- one process per terminal ------------------------------------------------------------------
# Threads share one interpreter lock, and much of a collect is Python work on the host (regex
# over logs, zip and manifest building), so for several terminals each job runs in its own
# process and every core is used. On Linux they are forks of the parent, made before it starts
# any thread of its own (the relay, the live display); elsewhere, or when a thread already runs,
# they come from a fork server where there is one, else they are spawned (Windows).

_progress_queue = None  # set in each worker process by _init_worker


def _init_worker(queue) -> None:
    import signal

    global _progress_queue
    _progress_queue = queue
    # Ctrl-C reaches every process of the terminal's group: a worker waiting for a job lets it
    # pass (it died with a traceback and broke the pool); one running a job stops and packs
    # what arrived (:func:`_guarded`)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class _QueueProgress:
    """A worker's Progress: sends its row to the parent at most four times a second."""

    def __init__(self, serial: str):
        self.serial, self.label, self.total, self.done, self._sent = serial, "", None, 0, 0.0

    def _send(self, force: bool = False) -> None:
        import time

        now = time.monotonic()
        if _progress_queue is not None and (force or now - self._sent > 0.25):
            self._sent = now
            _progress_queue.put((self.serial, self.label, self.done, self.total))

    def start(self, label: str, total: int | None = None) -> None:
        self.label, self.total, self.done = label, total, 0
        self._send(force=True)

    def advance(self, n: int) -> None:
        self.done += n
        self._send()

    def finish(self) -> None:
        self.label = "packing"
        self._send(force=True)


def run_each_process(adb: Adb, job: Callable[..., tuple[int, Any]], args: tuple, jobs: int,
                     view: Any = None) -> list[FleetResult]:
    """Like :func:`run_each`, with ``job(host, port, timeout, serial, progress, *args)`` run in a
    process of its own per terminal (``jobs`` at a time). ``view`` (a FleetView, not yet
    entered) is entered once the workers exist, and gets the rows."""
    import threading
    from concurrent.futures import ProcessPoolExecutor
    from contextlib import nullcontext

    entries = adb.devices()
    results = {e.serial: FleetResult(e.serial, e.state, ExitCode.DEVICE_UNAVAILABLE,
                                     error=f"{e.state}: {state_fix(e.state)}")
               for e in entries if e.state != "device"}
    usable = [e for e in entries if e.state == "device"]
    context = _worker_context(job)
    queue = context.Queue()

    def relay() -> None:  # worker rows → the live view, until the None sentinel
        while (message := queue.get()) is not None:
            if view is not None:
                serial, label, done, total = message
                row = view.row(serial)
                row.label, row.done, row.total = label, done, total

    relay_thread = threading.Thread(target=relay, name="tsd-fleet-relay", daemon=True)
    address = (adb.address.host, adb.address.port, adb.timeout)
    try:
        with ProcessPoolExecutor(max_workers=max(1, min(jobs, len(usable) or 1)), mp_context=context,
                                 initializer=_init_worker, initargs=(queue,)) as pool:
            # the first submit makes every worker (forked: before the pool's thread and ours)
            futures = {e.serial: pool.submit(_guarded, job, *address, e.serial, args) for e in usable}
            relay_thread.start()
            with view if view is not None else nullcontext():
                for entry in usable:
                    code, value, error = _outcome(futures[entry.serial], futures)
                    results[entry.serial] = FleetResult(entry.serial, entry.state, code, value, error)
                    if view is not None:
                        view.done(entry.serial, error or _done_text(value or {}))
    finally:
        queue.put(None)
        if relay_thread.ident is not None:
            relay_thread.join(5)
        queue.close()
        queue.join_thread()
        _stop_fork_server(context)
    return [results[e.serial] for e in entries]


def _stop_fork_server(context: Any) -> None:
    """End the fork server and wait for it, so no process outlives tsdtool (it would otherwise
    linger until it notices its parent gone) and the workers' CPU time is accounted to tsdtool."""
    if context.get_start_method() != "forkserver":
        return
    from multiprocessing import forkserver

    stop = getattr(getattr(forkserver, "_forkserver", None), "_stop", None)
    if stop is not None:
        stop()


def _worker_context(job: Callable[..., Any]) -> Any:
    """Where workers come from. A spawned worker starts a new interpreter and imports the
    program again (the CLI, Typer, Rich: 0.3–0.45 CPU-s per terminal). On Linux, while no other
    thread runs, the parent imports the job's modules once (``job.preload``) and prepares its data
    (``job.prepare``), and every worker is a fork of it: no second interpreter importing them
    all again (a fork server's ~0.35 CPU-s per collect --all) and no resource tracker process
    (a fork's semaphores need none). A fork copies only the thread that calls it, with any lock
    another thread held: with a thread running, and on macOS (whose system libraries are not
    fork-safe: CPython spawns there by default), one clean process made by a fork server imports
    them and forks the workers. Windows has only spawn."""
    import importlib
    import multiprocessing
    import sys
    import threading

    methods = multiprocessing.get_all_start_methods()
    if sys.platform.startswith("linux") and "fork" in methods and threading.active_count() == 1:
        for name in (job.__module__, *getattr(job, "preload", ()), *getattr(job, "prepare", ())):
            importlib.import_module(name)
        return multiprocessing.get_context("fork")
    if "forkserver" not in methods:
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    # "__main__" too: a worker otherwise re-runs the program's script (the console script
    # imports tsdtool.quick) before the job; preloaded, the fork already has it. A job may name
    # the modules its work imports (``job.preload``): imported once here, not once per terminal;
    # and modules that prepare its data (``job.prepare``, imported here only).
    context.set_forkserver_preload(["__main__", job.__module__, *getattr(job, "preload", ()),
                                    *getattr(job, "prepare", ())])
    return context


def _done_text(value: dict[str, Any]) -> str:
    """A finished row of the live view: the bundle's status and, for collect, the ticket's."""
    ticket = value.get("ticket") if isinstance(value.get("ticket"), dict) else None
    text = str(value.get("status", "done"))
    if ticket is not None:
        text += ", ticket ready" if ticket.get("ready") else ", ticket not ready: missing " + ", ".join(
            ticket.get("missing") or ["?"])
    return text


def _guarded(job, host, port, timeout, serial, args) -> tuple[int, Any, str]:
    import signal

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        code, value = job(host, port, timeout, serial, _QueueProgress(serial), *args)
        return int(code), value, ""
    except errors.TsdError as exc:
        return int(exc.exit_code), None, exc.one_line()
    except KeyboardInterrupt:
        return 130, None, "interrupted (Ctrl-C)"
    finally:
        signal.signal(signal.SIGINT, previous)


def _outcome(future: Any, futures: dict[str, Any]) -> tuple[int, Any, str]:
    """A worker's ``(code, value, error)``. Ctrl-C here (the workers got it too) cancels the
    jobs not started and waits for the running ones, which pack what arrived."""
    from concurrent.futures import CancelledError

    while True:
        try:
            return future.result()
        except CancelledError:
            return 130, None, "interrupted (Ctrl-C) before it started"
        except KeyboardInterrupt:
            for other in futures.values():
                other.cancel()
