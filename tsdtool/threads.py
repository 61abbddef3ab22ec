"""Threads that leave Ctrl-C to the main thread.

A signal sent to the process goes to any one of its threads that does not block it. Python
runs its handler in the main thread, but only once that thread runs again: when the kernel
hands SIGINT to a worker while the main thread waits in a read (a question at the prompt),
the read goes on and Ctrl-C seems lost (seen as a hung pty test). Worker threads therefore
block SIGINT, and so do the threads they start (a thread inherits its creator's mask).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable

TYPE_CHECKING = False  # typing is not imported on the way to a pull's first byte (transport/wire.py)
if TYPE_CHECKING:
    from typing import Any


def start(target: Callable[..., Any], *args: Any, name: str) -> threading.Thread:
    """A daemon thread running ``target(*args)`` with SIGINT blocked (where POSIX masks exist).
    The mask is set around the thread's creation, so the thread has it from its first
    instruction (blocking it inside the thread left a window in which a Ctrl-C could land there)."""
    thread = threading.Thread(target=target, args=args, name=name, daemon=True)
    if not hasattr(signal, "pthread_sigmask"):
        thread.start()
        return thread
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        thread.start()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)  # a Ctrl-C held meanwhile arrives now
    return thread


def wait(event: threading.Event) -> None:
    """``event.wait()`` that Ctrl-C can interrupt on every platform: on Windows an untimed wait
    on a lock lets no KeyboardInterrupt through until it returns, so the main thread waits in
    short slices (each a chance for the signal handler to run)."""
    while not event.wait(0.2):
        continue


def beside(target: Callable[..., Any], *args: Any, name: str) -> Callable[[], Any]:
    """Run ``target(*args)`` on such a thread, started now; the callable returned waits for it
    and returns what it returned, or raises what it raised."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = target(*args)
        except BaseException as exc:  # noqa: BLE001 - handed to whoever waits
            box["error"] = exc

    thread = start(run, name=name)

    def result() -> Any:
        thread.join()
        if "error" in box:
            raise box["error"]
        return box["value"]

    return result
