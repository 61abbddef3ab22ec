"""The program's entry point: ``devices``, ``pull``, ``pull-db`` and ``collect`` start without Typer.

Before it parses a word, Typer imports itself and builds the whole command tree (every
command's signature inspected): about 65 ms on an idle machine, a third of the 0.2 s a
terminal-facing command may take to start (issue 18). :func:`parse` recognises the plain
spellings of ``devices``, ``pull``, ``pull-db`` and ``collect`` with the global options and runs them here, behind
the same error boundary as :mod:`tsdtool.cli`. Anything else — help, ``--version``, a value
out of range, an option spelled another way (``--output=DIR``, ``-vs X``) — returns None and
goes to Typer unchanged, so every message and help text stays Typer's own.
``tests/test_quick_start.py`` checks that both ways hand the command the same values.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

from tsdtool import console, errors
from tsdtool.errors import ExitCode

TYPE_CHECKING = False  # typing and dataclasses are not imported before a pull's first request (transport/wire.py)
if TYPE_CHECKING:
    from typing import Any


class Settings:
    """The global options (``tsdtool -s SERIAL -H HOST -P PORT …``)."""

    def __init__(self, serial: str | None = None, host: str | None = None, port: int | None = None,
                 timeout: float = 20.0, verbose: bool = False, start_server: bool = True,
                 profile_dirs: list[Path] | None = None):
        self.serial, self.host, self.port, self.timeout = serial, host, port, timeout
        self.verbose, self.start_server = verbose, start_server
        self.profile_dirs: list[Path] = [] if profile_dirs is None else profile_dirs
        self._adb: object = None

    def adb(self):
        from tsdtool.transport.adb import Adb

        if self._adb is None:
            self._adb = Adb(self.host, self.port, timeout=self.timeout,
                            start_server=self.start_server, notify=console.note)
        return self._adb

    def device(self):
        return self.adb().select(self.serial)


# -- the commands' bodies (cli.py's commands call these too) -------------------------------------


def devices(settings: Settings, json: bool = False) -> int:
    from tsdtool import views
    from tsdtool.devices.listing import list_devices

    rows = list_devices(settings.adb(), profile_dirs=settings.profile_dirs)
    console.print_json(rows) if json else views.devices_table(rows)
    return ExitCode.OK


def pull(settings: Settings, paths: list[str], output: Path | None = None) -> int:
    from tsdtool.transport import wire

    # the device list, STAT and RECV of the first path go out now; the rest is imported while
    # the terminal answers and a thread holds what it sends
    first = wire.first_pull(settings.host, settings.port, settings.serial, paths[0], settings.timeout)
    try:
        from tsdtool import progress, views
        from tsdtool.collectors import files

        settings.adb().learned(first)
        result, out = files.pull(settings.device(), paths, output, progress=progress.make(console.err_is_terminal()),
                                 first=first)
    finally:
        first.close()
    return views.pull_result(result, out)


def pull_db(settings: Settings, package: str, output: Path | None = None, root: bool = False,
            backup: bool = False, backup_wait: float = 60.0) -> int:
    from tsdtool.apps import early, listing
    from tsdtool.transport import wire

    # run-as's listing of the fallback profile's folders goes out now, read by access.RunAs where its
    # own line is the same, with gzip, the sizes and headers of what it finds (read by the early thread), then
    # `pm path` (is the app there?), read by database.ensure_installed; the rest is imported while the
    # terminal runs them
    first = wire.first_shell(settings.host, settings.port, settings.serial, listing.run_as_find(package),
                             settings.timeout, also=[listing.run_as_find_beside(package), ["pm", "path", package]])
    # CPython hands the GIL to a waiting thread once per switch interval (5 ms by default): while this
    # thread imports, every socket call of the early thread and of the drains waited up to that long,
    # and a drain that waits lets its socket fill and the link idle. A/B of 16 interleaved pull-dbs of
    # the bench's database over the link, load 4: median 0.750 → 0.698 s with 1 ms for the whole pull
    interval = sys.getswitchinterval()
    sys.setswitchinterval(min(interval, 0.001))
    try:
        early.follow(first, package)  # the headers, gzip and sizes, the ranges: asked from the listing's answer
        first.settle()  # imported after: a module's load holds the GIL for ms, which the early thread waited out
        from tsdtool import progress
        from tsdtool.collectors import database

        if backup:
            from tsdtool import views

            views.backup_notice(backup_wait)
        else:  # what the check and the result need is imported while the first requests wait on the terminal
            # Rich only where the result is drawn for a terminal (piped, it is written without Rich)
            rich = () if console.surely_plain(sys.stdout) else ("rich.console",)
            preload((*rich, "tsdtool.views", "sqlite3", "tsdtool.apps.dbcheck"))
        settings.adb().learned(first)
        pull, out = database.pull_db(settings.device(), package, output, root=root, profile_dirs=settings.profile_dirs,
                                     progress=progress.make(console.err_is_terminal()),
                                     backup_wait=backup_wait if backup else None)
    finally:
        first.close()
        sys.setswitchinterval(interval)
    from tsdtool import views

    return views.pull_db_result(pull, out)


# `pm list packages` as collect asks it first (tsdtool.collectors.packages.list_packages)
PM_LIST = ["pm", "list", "packages", "-i", "--show-versioncode"]


def collect(settings: Settings, options: Any, serial: str | None = None, no_input: bool = False,
            json: bool = False, all_: bool = False, jobs: int = 4) -> int:
    """``tsdtool collect``. ``options``: a CollectOptions (cli.py), or the command line's values
    (:func:`parse`), made into one here."""
    from tsdtool.bundle import plan as plan_mod

    if isinstance(options, dict):
        options = collect_options(settings, **options)
    person = console.interactive() and not (no_input or json)
    if options.backup_wait is not None:
        from tsdtool import views

        views.backup_notice(options.backup_wait)
    if all_:
        from tsdtool import fleet, views
        from tsdtool.bundle.collect import collect_all

        results = collect_all(settings.adb(), options, jobs=jobs, live=console.interactive() and not json)
        console.print_json([r.to_dict() for r in results]) if json else views.fleet_table(results)
        return fleet.overall(results)
    serial = serial or settings.serial
    plan = plan_mod.build(options)  # every usage mistake is an error before the terminal is touched
    # the GIL handed over every 1 ms, not 5, as in pull_db: the early thread's and the ranges' socket
    # calls wait less behind the imports and the other lanes' Python
    interval = sys.getswitchinterval()
    sys.setswitchinterval(min(interval, 0.001))
    first = _first_collect(settings, serial, options)
    try:  # imported while the terminal answers
        from tsdtool import progress, views
        from tsdtool.bundle.collect import run

        adb = settings.adb()
        adb.learned(first)
        result = run(adb, serial, plan, progress=progress.make(person), ask=views.ask_field if person else None)
    finally:
        first.close()
        sys.setswitchinterval(interval)
    console.print_json(result.to_dict()) if json else views.collect_result(result)
    return result.exit_code


def _first_collect(settings: Settings, serial: str | None, options: Any) -> Any:
    """What a collect asks the terminal first, sent before the collectors are imported: `pm list
    packages` (which app?) and, for a --package whose database is wanted, run-as's listing of the
    fallback profile's folders (read by access.RunAs where its own line is the same: the
    database's first request), then what pull-db asks from its answer: the headers, gzip and the
    sizes, the ranges (:func:`tsdtool.apps.early.follow`)."""
    from tsdtool.apps import early, listing
    from tsdtool.transport import wire

    database = options.package and options.include_db
    also = [listing.run_as_find(options.package)] if database else []
    first = wire.first_shell(settings.host, settings.port, serial, PM_LIST, settings.timeout, also=also)
    if database:
        early.follow(first, options.package)
    return first


def collect_options(settings: Settings, app_id: str | None = None, package: str | None = None,
                    desk: str | None = None, field: list[str] | None = None, form: Path | None = None,
                    attach: list[Path] | None = None, since: str | None = None,
                    output: Path = Path("tsd-output"), redact: bool = False, no_db: bool = False,
                    root: bool = False, backup: bool = False, pc_root: Path | None = None,
                    vendor_logs: bool = False) -> Any:
    """The CollectOptions of collect's shared options (cli.py's ``_collect_options`` declares them)."""
    from tsdtool.bundle.plan import CollectOptions

    return CollectOptions(output, app_id, package, desk, field or [], form, attach or [], since, redact=redact,
                          include_db=not no_db, profile_dirs=settings.profile_dirs, vendor_logs=vendor_logs,
                          root=root, backup_wait=60.0 if backup else None, pc_root=pc_root)


def preload(modules: tuple[str, ...]) -> None:
    """Import ``modules`` on a thread of their own (the main thread imports any it needs
    itself, waiting for one already under way)."""
    import importlib

    from tsdtool import threads

    def run() -> None:
        for name in modules:
            try:
                importlib.import_module(name)
            except Exception:  # noqa: BLE001 - the main thread's own import says what is wrong
                return

    threads.start(run, name="tsdtool-preload")


# -- the plain spellings -------------------------------------------------------------------------

# global option → (Settings field, value kind); a flag has no value
_GLOBAL = {
    "-s": ("serial", "str"), "--serial": ("serial", "str"),
    "-H": ("host", "str"), "--adb-host": ("host", "str"),
    "-P": ("port", "port"), "--adb-port": ("port", "port"),
    "--timeout": ("timeout", "timeout"),
    "--profiles-dir": ("profile_dirs", "dirs"),
    "-v": ("verbose", True), "--verbose": ("verbose", True),
    "--no-start-server": ("start_server", False),
}


def command_word(argv: list[str]) -> str | None:
    """The word after the global options (the command), or None when an option is spelled in
    a way only Typer reads (``--serial=X``, ``-vs X``, ``--help``)."""
    n = 0
    while n < len(argv) and argv[n].startswith("-"):
        spec = _GLOBAL.get(argv[n])
        if spec is None:
            return None
        n += 1 if isinstance(spec[1], bool) else 2
    return argv[n] if n < len(argv) else None


_FLOAT_RANGES = {"timeout": (0.1, 86400), "backup_wait": (1, 600)}  # as cli.py declares them
_INT_RANGES = {"port": (1, 65535), "jobs": (1, 32)}  # --adb-port, collect --jobs


def _value(kind: str, text: str) -> Any:
    """The option's value, or None when Typer should judge it (and word the error)."""
    if kind == "str":
        return text
    if kind in _INT_RANGES:
        low, high = _INT_RANGES[kind]
        return int(text) if text.isascii() and text.isdigit() and low <= int(text) <= high else None
    if kind in _FLOAT_RANGES:
        low, high = _FLOAT_RANGES[kind]
        try:
            value = float(text)
        except ValueError:
            return None
        return value if math.isfinite(value) and low <= value <= high else None
    return Path(text)  # dirs


def parse(argv: list[str]) -> tuple[str, Settings, dict[str, Any]] | None:
    """``(command, settings, keyword arguments)`` for a plain ``devices``, ``pull``,
    ``pull-db`` or ``collect`` command line, else None (Typer's job)."""
    given: dict[str, Any] = {"profile_dirs": []}
    n = 0
    while n < len(argv) and argv[n].startswith("-"):
        spec = _GLOBAL.get(argv[n])
        if spec is None:
            return None
        name, kind = spec
        if isinstance(kind, bool):
            given[name] = kind
            n += 1
            continue
        if n + 1 >= len(argv) or (name != "profile_dirs" and name in given):
            return None
        value = _value(kind, argv[n + 1])
        if value is None or (isinstance(value, str) and value.startswith("-")):
            return None
        given[name] = given[name] + [value] if name == "profile_dirs" else value
        n += 2
    if n >= len(argv):
        return None
    command, rest = argv[n], argv[n + 1:]
    settings = Settings(**given)
    if command == "devices" and rest in ([], ["--json"]):
        return command, settings, {"json": bool(rest)}
    if command == "pull":
        return _pull_args(rest, settings)
    if command == "pull-db":
        return _pull_db_args(rest, settings)
    if command == "collect":
        return _collect_args(rest, settings)
    return None


def _pull_args(rest: list[str], settings: Settings) -> tuple[str, Settings, dict[str, Any]] | None:
    from tsdtool.transport.wire import check_device_path

    paths: list[str] = []
    output: Path | None = None
    n = 0
    while n < len(rest):
        word = rest[n]
        if word in ("-o", "--output"):
            if output is not None or n + 1 >= len(rest) or rest[n + 1].startswith("-"):
                return None
            output = Path(rest[n + 1])
            n += 2
            continue
        if word.startswith("-"):
            return None
        try:
            check_device_path(word)
        except errors.UsageError:
            return None  # Typer's callback words it
        paths.append(word)
        n += 1
    return ("pull", settings, {"paths": paths, "output": output}) if paths else None


def _pull_db_args(rest: list[str], settings: Settings) -> tuple[str, Settings, dict[str, Any]] | None:
    from tsdtool.transport.wire import check_package

    kwargs: dict[str, Any] = {"output": None, "root": False, "backup": False, "backup_wait": 60.0}
    seen: set[str] = set()  # given once each; twice is Typer's to judge
    n = 0
    while n < len(rest):
        word = rest[n]
        name = {"-o": "output", "--output": "output", "--root": "root", "--backup": "backup",
                "--backup-wait": "backup_wait"}.get(word, "package")
        if name in seen or (word.startswith("-") and name == "package"):
            return None
        seen.add(name)
        if name in ("root", "backup"):
            kwargs[name] = True
            n += 1
            continue
        if name == "package":
            try:
                kwargs[name] = check_package(word)
            except errors.UsageError:
                return None  # Typer's callback words it
            n += 1
            continue
        if n + 1 >= len(rest) or rest[n + 1].startswith("-"):
            return None
        value = Path(rest[n + 1]) if name == "output" else _value("backup_wait", rest[n + 1])
        if value is None:
            return None
        kwargs[name] = value
        n += 2
    return ("pull-db", settings, kwargs) if "package" in seen else None


# collect's options → (its name in collect_options or collect, the value's kind); a flag has no
# value. Left to Typer: --pc-root (Typer checks it is no file), help, and every other spelling.
_COLLECT = {
    "--app": ("app_id", "str"), "--package": ("package", "str"), "--desk": ("desk", "str"),
    "--field": ("field", "strs"), "--form": ("form", "path"), "--attach": ("attach", "paths"),
    "--since": ("since", "str"), "-o": ("output", "path"), "--output": ("output", "path"),
    "--redact": ("redact", True), "--no-db": ("no_db", True), "--root": ("root", True),
    "--backup": ("backup", True), "--vendor-logs": ("vendor_logs", True),
    "-s": ("serial", "str"), "--serial": ("serial", "str"), "--no-input": ("no_input", True),
    "--json": ("json", True), "--all": ("all_", True), "--jobs": ("jobs", "jobs"),
}
_COLLECT_OWN = ("serial", "no_input", "json", "all_", "jobs")  # collect's own parameters; the rest are options


def _collect_args(rest: list[str], settings: Settings) -> tuple[str, Settings, dict[str, Any]] | None:
    given: dict[str, Any] = {}
    n = 0
    while n < len(rest):
        spec = _COLLECT.get(rest[n])
        if spec is None:
            return None
        name, kind = spec
        repeated = kind in ("strs", "paths")
        if name in given and not repeated:
            return None  # given twice: Typer's to judge
        if isinstance(kind, bool):
            given[name] = kind
            n += 1
            continue
        if n + 1 >= len(rest) or rest[n + 1].startswith("-"):
            return None
        value: Any = rest[n + 1] if kind in ("str", "strs") else _value(kind, rest[n + 1])
        if value is None:
            return None
        given[name] = given.get(name, []) + [value] if repeated else value
        n += 2
    kwargs: dict[str, Any] = {k: given.pop(k) for k in _COLLECT_OWN if k in given}
    return "collect", settings, {"options": given, **kwargs}


# -- the boundary --------------------------------------------------------------------------------


def guarded(run: Any, verbose: Any) -> int:
    """``run()``'s exit code; a TsdError or any other exception becomes one line and a code,
    Ctrl-C 130, a reader gone away (``| head``) 0. ``verbose()`` says whether to show tracebacks.
    The line is in the PC's language (:func:`tsdtool.texts.pc_language`) where its catalogue
    has the words; the exit code is the same in every language."""
    try:
        return int(run() or 0)
    except errors.TsdError as exc:
        report(exc, exc.one_line(_say()), verbose())
        return int(exc.exit_code)
    except console.ReaderGone:  # `tsdtool apps | head`: the reader has what it wanted
        quiet_stdout()
        return ExitCode.OK
    except KeyboardInterrupt:
        console.say(_say()("interrupted"), style="red")
        return 130
    except Exception as exc:  # the boundary: never a traceback unless asked
        hint = "" if verbose() else " (run with -v for details)"
        report(exc, _say()(f"internal error: {type(exc).__name__}: {exc}{hint}"), verbose())
        return ExitCode.PROBLEMS


def _say() -> Any:
    from tsdtool import texts  # only once something went wrong: not on the way to the terminal

    return texts.errors_in(texts.pc_language())


def report(exc: BaseException, line: str, verbose: bool) -> None:
    if verbose:  # as plain text with controls made visible: device text is in the messages
        import traceback

        trace = "".join(traceback.format_exception(exc))
        console.err().print(console.printable(trace), markup=False, highlight=False, soft_wrap=True)
    console.say(f"{_say()('error')}: {console.printable(line)}", style="red")


def quiet_stdout() -> None:
    """After a broken pipe: point stdout at devnull so the interpreter's final flush is silent."""
    import os

    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError):  # not a real file (tests capture stdout)
        pass


def exit_now(code: int) -> None:
    """Leave without the interpreter's teardown (freeing every module and object costs 45–70 ms,
    a quarter of a `devices`), after what a normal exit does that matters: flushed stdout and
    stderr, atexit handlers run. Only when nothing else runs: with another thread alive, or a
    stream that cannot be flushed (a closed pipe), the normal exit handles it."""
    import atexit
    import os
    import threading

    if threading.active_count() > 1:
        return
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        return
    atexit._run_exitfuncs()
    os._exit(code)


def main(argv: list[str] | None = None) -> int:
    """The console script: a plain ``devices``, ``pull``, ``pull-db`` or ``collect`` runs here, the rest in
    :func:`tsdtool.cli.main`. Run as the program (no ``argv``) it ends the process itself once
    the output is flushed (:func:`exit_now`)."""
    words = sys.argv[1:] if argv is None else argv
    parsed = parse(words)
    if parsed is None:
        from tsdtool import cli

        return cli.main(argv)
    command, settings, kwargs = parsed
    console.reset()
    body = {"devices": devices, "pull": pull, "pull-db": pull_db, "collect": collect}[command]
    code = guarded(lambda: body(settings, **kwargs), lambda: settings.verbose)
    if argv is None:
        exit_now(code)
    return code
