"""``python -m tests.fake_adb``: serve fixture folders until killed.

    python -m tests.fake_adb --port 5037 --fixture tests/fake_adb/fixtures/zebra_tc52
    python -m tests.fake_adb --device-port 15555 --fixture tests/fake_adb/fixtures/zebra_tc52

``--port`` runs the fake adb *server* (all fixtures); ``--device-port`` runs one fake *adbd*
for ``adb connect 127.0.0.1:PORT``. The first line printed is ``listening on HOST:PORT``.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading


def _keep_freed_memory() -> None:
    """Let glibc's malloc keep what this process frees (Linux; elsewhere nothing changes).

    The fake's gzip holds a stream's input (up to the 8.5 MiB of a database range in 64 KiB
    pieces, :class:`~.shell_files._Deflater`) and frees it when the stream ends; by default
    malloc gives such a free top of a thread's heap back to the kernel (madvise) and the next
    stream faults every page in again, zeroed: about a third of the fake's kernel time in
    a bench collect. Memory then stays at the fake's peak, which is bounded by what it serves.
    """
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return
    m_trim_threshold, m_mmap_threshold = -1, -3  # <malloc.h>
    mallopt(m_trim_threshold, 1 << 30)
    mallopt(m_mmap_threshold, 32 << 20)  # glibc's largest: blocks up to 32 MiB come from the heap


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fake_adb", description=__doc__.split("\n")[0])
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--port", type=int, help="serve the adb host protocol here (0 = any free port)")
    where.add_argument("--device-port", type=int, help="serve one fixture as a fake adbd here")
    parser.add_argument(
        "--fixture",
        action="append",
        default=[],
        required=True,
        help="fixture folder (repeat for several terminals)",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--backend", choices=("auto", "real", "python"), default=None,
                        help="the terminal's shell: real mksh/toybox in a chroot, the Python emulation, or "
                             "auto (real where it can run; default, or $TSD_FAKE_BACKEND)")
    args = parser.parse_args(argv)
    _keep_freed_memory()

    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    if args.device_port is not None:
        from .adbd import FakeAdbd

        if len(args.fixture) != 1:
            parser.error("--device-port serves exactly one --fixture")
        fake = FakeAdbd(args.fixture[0], host=args.host, port=args.device_port, backend=args.backend)
    else:
        from .server import FakeAdbServer

        fake = FakeAdbServer(args.fixture, host=args.host, port=args.port or 0, backend=args.backend)
    with fake:
        print(f"listening on {args.host}:{fake.port}", flush=True)
        try:
            while not done.wait(0.2):
                if getattr(fake, "wait_stopped", None) and fake.wait_stopped(0):
                    break  # `adb kill-server` stopped it
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
