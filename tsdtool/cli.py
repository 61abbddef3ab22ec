"""The command line: options → one library call → render. The only error boundary.

Global options go before the command, as with adb:
``tsdtool -s SERIAL -H HOST -P PORT [--timeout S] [-v] COMMAND …``
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from tsdtool import console, errors, lean_typer, quick, views
from tsdtool.errors import ExitCode
from tsdtool.paths import safe_component, write_new
from tsdtool.quick import Settings

lean_typer.install()  # no pydantic at start-up: see tsdtool/lean_typer.py

# Plain help (rich_markup_mode=None): Rich read `file:key:` as an emoji and put a type column
# (<bool>, <list[Path]>) beside every option; _plain_help() fixes the metavars and usage lines.
app = typer.Typer(
    no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
    help="Collect a complete support request from an Android terminal over ADB.",
)


settings = Settings()

Json = Annotated[bool, typer.Option("--json", help="Print JSON for tools instead of tables.")]
AllDevices = Annotated[bool, typer.Option("--all", help="Every attached terminal, in parallel.")]
Jobs = Annotated[int, typer.Option("--jobs", min=1, max=32, help="Terminals worked on at once.")]


def _version(ctx: typer.Context, _param: object, value: bool) -> None:
    """``--version``: what support asks first (tool, Python, adbutils, the adb server's version)."""
    if value and not ctx.resilient_parsing:
        raise typer.Exit(views.versions(ctx.params.get("host"), ctx.params.get("port")))


@app.callback()
def _options(
    serial: Annotated[str | None, typer.Option("-s", "--serial", metavar="SERIAL", help="Terminal serial (else $ANDROID_SERIAL, else the only one).")] = None,
    host: Annotated[str | None, typer.Option("-H", "--adb-host", metavar="HOST", is_eager=True, help="adb server host (never started remotely).")] = None,
    port: Annotated[int | None, typer.Option("-P", "--adb-port", metavar="PORT", is_eager=True, min=1, max=65535, help="adb server port (default 5037).")] = None,
    timeout: Annotated[float, typer.Option("--timeout", metavar="SECONDS", min=0.1, max=86400, help="Seconds a terminal may stay silent.")] = 20.0,
    verbose: Annotated[bool, typer.Option("-v", "--verbose", help="Show tracebacks and details.")] = False,
    no_start_server: Annotated[bool, typer.Option("--no-start-server", help="Never start a local adb server.")] = False,
    profiles_dir: Annotated[list[Path] | None, typer.Option("--profiles-dir", metavar="DIR", help="Extra profile folder (repeatable).")] = None,
    version: Annotated[bool, typer.Option("--version", is_eager=True, callback=_version, help="Print the versions of tsdtool, Python, adbutils and the adb server.")] = False,
) -> None:
    global settings
    settings = Settings(serial, host, port, timeout, verbose, not no_start_server, list(profiles_dir or []))


@app.command("devices")
def devices_cmd(json: Json = False) -> int:
    """List attached terminals with their state, vendor, model and the fix for any problem."""
    return quick.devices(settings, json)


@app.command("info")
def info_cmd(json: Json = False, all_: AllDevices = False, jobs: Jobs = 4) -> int:
    """Model, Android build, vendor firmware, battery and storage of one terminal (or --all)."""
    from tsdtool import fleet
    from tsdtool.devices import facts

    def read(device):
        return ExitCode.OK, facts.read(device, profile_dirs=settings.profile_dirs)
    if all_:
        results = fleet.run_each(settings.adb(), read, jobs)
        console.print_json([r.to_dict() for r in results]) if json else views.info_all_table(results)
        return fleet.overall(results)
    info = read(settings.device())[1]
    console.print_json(info) if json else views.info_table(info)
    return ExitCode.OK


@app.command("apps")
def apps_cmd(pattern: Annotated[str | None, typer.Argument(metavar="GLOB", help="Package glob, e.g. 'com.cleverence.*' (default: all third-party apps).")] = None,
             json: Json = False) -> int:
    """Version, install and update times of the apps on the terminal."""
    from tsdtool.devices.apps import read_apps

    apps = read_apps(settings.device(), pattern)
    console.print_json(apps) if json else views.apps_table(apps)
    return ExitCode.OK


@app.command("screenshot")
def screenshot_cmd(
    output: Annotated[Path | None, typer.Option("-o", "--output", help="PNG file to write.")] = None,
    display: Annotated[str | None, typer.Option("--display", help="Display id (screencap -d).")] = None,
) -> int:
    """Capture the terminal's screen as PNG; an all-black frame is flagged, not passed off."""
    from tsdtool.collectors import screenshot

    device = settings.device()
    shot = screenshot.capture(device, display)
    path = write_new(output or Path(f"screenshot-{safe_component(device.serial)}.png"), shot.data)
    return views.screenshot_result(shot, path)


# --- profiles commands (device/app/desk profiles) ---
profiles_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None, help="Device, app and desk profiles (data files).")
app.add_typer(profiles_app, name="profiles")


@profiles_app.command("list")
def profiles_list_cmd(json: Json = False) -> int:
    """Every profile with its kind, id, name and where it comes from."""
    from tsdtool import catalog

    found, warnings = catalog.entries(settings.profile_dirs)
    for warning in warnings:
        console.warn(warning)
    console.print_json([e.__dict__ for e in found]) if json else views.profiles_table(found)
    return ExitCode.OK


@profiles_app.command("show")
def profiles_show_cmd(
    profile_id: Annotated[str, typer.Argument(metavar="ID", help="A profile id from `tsdtool profiles list`.")],
    kind: Annotated[str | None, typer.Option("--kind", help="device, app or desk, when several kinds share the id.")] = None,
    path: Annotated[bool, typer.Option("--path", help="Print where the file is instead of its text.")] = False,
) -> int:
    """Print a profile's file exactly as it is (to copy it: `tsdtool profiles show ID > my.toml`)."""
    from tsdtool import catalog

    entry, text = catalog.show_one(profile_id, kind, settings.profile_dirs)
    console.write(f"{entry.path}\n" if path else text)
    return ExitCode.OK


@profiles_app.command("check")
def profiles_check_cmd(paths: Annotated[list[Path] | None, typer.Argument(metavar="PATH", help="Profile files or folders (default: shipped, user and --profiles-dir).")] = None) -> int:
    """Validate profile files: every mistake as FILE:KEY: PROBLEM; exit 1 if any."""
    from tsdtool import catalog

    problems = catalog.check(paths or [], settings.profile_dirs)
    for problem in problems:
        console.out().print(str(problem), markup=False, highlight=False, soft_wrap=True)
    console.err().print(f"{len(problems)} problem(s)" if problems else "all profiles are valid", markup=False)
    return ExitCode.PROBLEMS if problems else ExitCode.OK

# --- app data commands: pull-db, pull, logs ---
OutFolder = Annotated[Path | None, typer.Option("-o", "--output", help="Output folder (default: new in tsd-output/).")]


def _package(value: str | None) -> str | None:
    from tsdtool.collectors.database import check_package

    return check_package(value) if value is not None else None


def _device_paths(value: list[str]) -> list[str]:
    from tsdtool.collectors.files import check_device_path

    return [check_device_path(v) for v in value]


def _since(value: str | None) -> str | None:
    from tsdtool.collectors.logwindow import check_since

    return check_since(value)


def _buffers(value: str | None) -> str | None:
    from tsdtool.collectors.logwindow import check_buffers

    return check_buffers(value)


@app.command("pull-db")
def pull_db_cmd(
    package: Annotated[str, typer.Argument(metavar="PACKAGE", help="The app's package, e.g. com.example.app.", callback=_package)],
    output: OutFolder = None,
    root: Annotated[bool, typer.Option("--root", help="Also try su when run-as cannot reach the app's folder.")] = False,
    backup: Annotated[bool, typer.Option(
        "--backup", help="Then try adb backup of the app: confirm it on the terminal (Android ≤ 11, or a debuggable app).")
    ] = False,
    backup_wait: Annotated[float, typer.Option(
        "--backup-wait", min=1, max=600, help="Seconds to wait for the tap on the terminal.")] = 60.0,
) -> int:
    """Pull every SQLite database of an app with its -wal/-shm/-journal; check the local copy."""
    return quick.pull_db(settings, package, output, root, backup, backup_wait)


@app.command("pull")
def pull_cmd(
    paths: Annotated[list[str], typer.Argument(metavar="DEVICE_PATH", help="Files or folders on the terminal.", callback=_device_paths)],
    output: OutFolder = None,
) -> int:
    """Copy files or folders from the terminal like adb pull: contained, hashed, .part until complete."""
    return quick.pull(settings, paths, output)


@app.command("logs")
def logs_cmd(
    since: Annotated[str | None, typer.Option("--since", help="10m, 2h, 1d or '2026-11-25 12:00' (terminal's clock).", callback=_since)] = None,
    buffers: Annotated[str | None, typer.Option("--buffers", help="main,system,crash,events,… (default: logcat's).", callback=_buffers)] = None,
    package: Annotated[str | None, typer.Option("-p", "--package", help="Also the app's log files (by its profile).", callback=_package)] = None,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Logcat file; crash files and app logs go beside it.")] = None,
) -> int:
    """Dump logcat (threadtime), ANR traces and tombstones when readable, and an app's log files."""
    from tsdtool import progress
    from tsdtool.collectors import logs

    result = logs.collect_logs(settings.device(), output, since=since, buffers=buffers, package=package,
                               progress=progress.make(console.err().is_terminal), profile_dirs=settings.profile_dirs)
    return views.logs_result(result)


PcRootOpt = Annotated[Path | None, typer.Option(
    "--pc-root", help="A copied or mounted Windows drive to read instead of this PC.", file_okay=False)]


@app.command("pc")
def pc_cmd(
    pc_root: PcRootOpt = None,
    since: Annotated[str | None, typer.Option("--since", help="Only PC logs newer than this (PC's clock).", callback=_since)] = None,
    output: OutFolder = None,
    json: Json = False,
) -> int:
    """Windows version, 1C platforms, Mobile SMARTS bases and logs, GRServer's exchange folder."""
    from tsdtool.pc import run

    facts, out = run.collect_pc(run.root_for(pc_root), output, since=since, profile_dirs=settings.profile_dirs)
    if json:
        console.print_json(facts)
        return 0
    return views.pc_result(facts, out)


# --- bundle commands: collect, report, verify, send ---
# Written out (not imported from bundle.fields) so that --help stays fast; a test keeps it in
# step with fields.CATALOG and desks.DEFAULT.
COLLECT_EPILOG = """\b
Ticket fields (--field KEY=VALUE or a --form TOML file):
  description, steps, impact, affected_users, product, project, onec_version,
  pc_os, pc_bitness, ms_version, ms_bases, contact_name, contact_email,
  contact_phone, company, exchange_link, bundle_link
Only from the terminal, --attach or --pc-root (never typed): device_model,
  device_os, app_version, logs, screenshot, database, attachments, pc_files,
  ms_logs, exchange_folder
Without --desk the ticket is for the generic desk (English); `tsdtool profiles list`
shows the desks and what each requires."""
Opt = typer.Option
Fields = Annotated[list[str] | None, Opt("--field", metavar="KEY=VALUE", help="Ticket field (repeatable); keys below.")]
BundleArg = Annotated[Path, typer.Argument(metavar="BUNDLE", help="A bundle zip made by `tsdtool collect`.")]


def _collect_options(
    app_id: Annotated[str | None, Opt("--app", help="App profile id: collect the packages it names.")] = None,
    package: Annotated[str | None, Opt("--package", help="Collect this one package instead of --app.")] = None,
    desk: Annotated[str | None, Opt("--desk", metavar="ID", help="Desk profile id: cleverence, grsoft or generic (the default).")] = None,
    field: Fields = None,
    form: Annotated[Path | None, Opt("--form", help="TOML file of ticket fields.")] = None,
    attach: Annotated[list[Path] | None, Opt("--attach", help="Folder or file to add (repeatable).")] = None,
    since: Annotated[str | None, Opt("--since", help="Logcat window, e.g. 30m, 2h, 1d.")] = None,
    output: Annotated[Path, Opt("-o", "--output", help="Folder for the bundle and ticket.")] = Path("tsd-output"),
    redact: Annotated[bool, Opt("--redact", help="Replace IMEI, serials, MAC, phones, e-mails with tokens.")] = False,
    no_db: Annotated[bool, Opt("--no-db", help="Leave the app database out.")] = False,
    root: Annotated[bool, Opt("--root", help="Also try su for the app's private folder (rooted terminals).")] = False,
    backup: Annotated[bool, Opt("--backup", help="When run-as cannot read the app's database, try adb "
                                "backup: confirm it on the terminal within 60 s.")] = False,
    pc_root: Annotated[Path | None, Opt("--pc-root", help="Also the PC items (1C, Mobile SMARTS, GRServer) from "
                                        "this copied Windows drive; on Windows this PC is read anyway.",
                                        file_okay=False)] = None,
    vendor_logs: Annotated[bool, Opt("--vendor-logs", help="Add the archive of the vendor's on-device "
                                     "logger (device profile); sends its export broadcast where one "
                                     "is declared.")] = False,
):
    """The ticket options `collect`, `collect --all`, `repro stop` and `watch` share (one set)."""
    return quick.collect_options(settings, app_id, package, desk, field, form, attach, since, output, redact, no_db,
                                 root, backup, pc_root, vendor_logs)


def with_collect_options(command):
    """Give a command the shared options of :func:`_collect_options`; it receives them built, as
    ``options`` (a CollectOptions)."""
    import functools
    import inspect

    shared = inspect.signature(_collect_options, eval_str=True).parameters
    own = [p for name, p in inspect.signature(command, eval_str=True).parameters.items() if name != "options"]

    @functools.wraps(command)
    def run(**kwargs):
        options = _collect_options(**{k: kwargs.pop(k) for k in shared})
        return command(options=options, **kwargs)

    params = [*own, *shared.values()]
    run.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    run.__annotations__ = {p.name: p.annotation for p in params} | {"return": int}
    return run


@app.command("collect", epilog=COLLECT_EPILOG)
@with_collect_options
def collect_cmd(
    options,
    serial: Annotated[str | None, Opt("-s", "--serial", help="Terminal serial (same as the global -s).")] = None,
    no_input: Annotated[bool, Opt("--no-input", help="Never prompt; list what is missing.")] = False,
    json: Json = False,
    all_: AllDevices = False,
    jobs: Jobs = 4,
) -> int:
    """Collect everything a support desk asks for into one bundle, with a ticket for that desk."""
    return quick.collect(settings, options, serial, no_input, json, all_, jobs)


@app.command("report")
def report_cmd(
    bundle: BundleArg,
    output: Annotated[Path | None, Opt("-o", "--output", help="HTML file (default: next to the bundle).")] = None,
    open_: Annotated[bool, Opt("--open/--no-open", help="Open it in the browser.")] = True,
) -> int:
    """Render a bundle's report.html again (with today's desk profile) and open it."""
    from tsdtool.bundle import report_html

    path = report_html.render_bundle(bundle, output, settings.profile_dirs)
    return views.report_written(path, open_ and console.interactive())


@app.command("verify")
def verify_cmd(bundle: BundleArg, json: Json = False) -> int:
    """Re-check every file's size and SHA-256 and the manifest's schema (exit 1 on any problem)."""
    from tsdtool.bundle.verify import verify

    result = verify(bundle)
    return views.verify_result(result, json)


@app.command("send")
def send_cmd(
    bundle: BundleArg,
    smtp: Annotated[str, Opt("--smtp", help="SMTP server HOST:PORT.")] = "",
    to: Annotated[str, Opt("--to", help="Recipient (default: the desk's address).")] = "",
    starttls: Annotated[bool, Opt("--starttls", help="Upgrade the connection with STARTTLS (port 587).")] = False,
    ssl: Annotated[bool, Opt("--ssl", help="TLS from the first byte (SMTPS, port 465).")] = False,
    insecure_plaintext: Annotated[bool, Opt("--insecure-plaintext",
                                            help="Allow --user without TLS (the password goes in clear).")] = False,
    user: Annotated[str, Opt("--user", help="SMTP login; password from TSDTOOL_SMTP_PASSWORD or a prompt.")] = "",
    dry_run: Annotated[bool, Opt("--dry-run", help="Show what would be sent; connect to nothing.")] = False,
    link: Annotated[str, Opt("--link", help="Where an oversize bundle was uploaded.")] = "",
    field: Fields = None,
) -> int:
    """Mail the bundle's ticket to its desk, the bundle attached (or linked when too big)."""
    from tsdtool.bundle import send

    person = console.interactive()
    options = send.SendOptions(smtp, to, starttls, user, dry_run, link, field or [], settings.profile_dirs,
                               ssl=ssl, insecure_plaintext=insecure_plaintext)
    result = send.send(bundle, options, show=views.send_preview, confirm=views.confirm_send if person else None,
                       ask_password=views.ask_password if person else None, warn=console.warn)
    return views.send_result(result)


# --- field helpers: doctor, watch ---

@app.command("doctor")
def doctor_cmd(
    json: Json = False,
    output: Annotated[Path, typer.Option("-o", "--output", help="Output folder to check.")] = Path("tsd-output"),
) -> int:
    """Explain why adb does not see a terminal: adb, server, USB, permissions, states, disk."""
    from tsdtool import doctor

    checks = doctor.run(settings.adb(), output=output, profile_dirs=settings.profile_dirs)
    console.print_json(doctor.to_json(checks)) if json else views.doctor_report(checks)
    return ExitCode.PROBLEMS if doctor.problems(checks) else ExitCode.OK


@app.command("watch")
@with_collect_options
def watch_cmd(
    options,
    collect: Annotated[bool, typer.Option("--collect", help="A full bundle per terminal (the default).")] = False,
    info: Annotated[bool, typer.Option("--info", help="Only `info` per terminal, written as JSON.")] = False,
) -> int:
    """Wait for terminals to be plugged in (and take those already attached); handle each one; Ctrl-C stops."""
    from tsdtool import watch

    if collect and info:
        raise errors.UsageError("choose one of --collect and --info")
    watch.run(settings.adb(), mode="info" if info else "collect", output=options.out_dir,
              profile_dirs=settings.profile_dirs, notify=console.note, report=views.watch_line, options=options)
    return ExitCode.OK


# --- beyond: repro, inspect, diff ---
@app.command("inspect")
def inspect_cmd(bundle: BundleArg, json: Json = False) -> int:
    """Summarise a bundle (device, apps, items, missing fields) and verify it (exit 1 if it does not)."""
    from tsdtool.bundle.inspect import inspect

    return views.inspect_result(inspect(bundle), json)


@app.command("diff")
def diff_cmd(a: BundleArg, b: BundleArg, json: Json = False,
             props: Annotated[bool, typer.Option("--props", help="Also list every getprop key that differs.")] = False) -> int:
    """What differs between two bundles: a summary first (device, Android, build, firmware, apps,
    databases), then errors and crashes new in B in log order; raw properties with --props."""
    from tsdtool.bundle.diff import diff

    return views.diff_result(diff(a, b), json, props)


repro_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None, help="Show the bug on the terminal, then collect exactly that window.")
app.add_typer(repro_app, name="repro")


@repro_app.command("start")
def repro_start_cmd(
    serial: Annotated[str | None, Opt("-s", "--serial", help="Terminal serial (same as the global -s).")] = None,
) -> int:
    """Mark the terminal's log (the one device-side write), note its clock, take a "before" screenshot."""
    from tsdtool import repro

    return views.repro_started(repro.start(settings.adb().select(serial or settings.serial)))


@repro_app.command("stop")
@with_collect_options
def repro_stop_cmd(
    options,
    serial: Annotated[str | None, Opt("-s", "--serial", help="Terminal serial (same as the global -s).")] = None,
    no_input: Annotated[bool, Opt("--no-input", help="Never prompt; list what is missing.")] = False,
    json: Json = False,
) -> int:
    """Take the "after" screenshot and collect with logs limited to the window since `repro start`."""
    from tsdtool import progress, repro

    person = console.interactive() and not (no_input or json)
    result = repro.stop(settings.adb(), serial or settings.serial, options, progress=progress.make(person),
                        ask=views.ask_field if person else None)
    console.print_json(result.to_dict()) if json else views.collect_result(result)
    return result.exit_code


# --- remote: connect, disconnect ---
@app.command("connect")
def connect_cmd(address: Annotated[str, typer.Argument(help="HOST[:PORT] of a terminal with adb over TCP (port 5555 by default).")]) -> int:
    """Ask the adb server to reach a terminal over the network (`adb connect`)."""
    answer = settings.adb().connect(address)
    console.out().print(answer, markup=False)
    return ExitCode.OK


@app.command("disconnect")
def disconnect_cmd(address: Annotated[str, typer.Argument(help="HOST:PORT to drop.")]) -> int:
    """Drop a network terminal from the adb server (`adb disconnect`)."""
    console.out().print(settings.adb().disconnect(address), markup=False)
    return ExitCode.OK


@app.command("demo")
def demo_cmd(
    output: Annotated[Path, typer.Option("-o", "--output", help="Folder for the demo's output.")] = Path("tsd-output/demo"),
) -> int:
    """Run tsdtool against the simulated terminal from tests/fake_adb (no adb needed)."""
    from tsdtool import demo

    return demo.run(output, verbose=settings.verbose)


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the app and turn every error into one line and an exit code.

    Run as the program (no ``argv``), it ends the process itself once the output is flushed
    (:func:`tsdtool.quick.exit_now`); called with ``argv`` (tests, scripts) it returns the code.
    """
    code = _run(argv)
    if argv is None:
        quick.exit_now(code)
    return code


def _run(argv: list[str] | None) -> int:
    console.reset()
    command = typer.main.get_command(_app_for(sys.argv[1:] if argv is None else argv))
    _plain_help(command)

    def run() -> int:
        try:
            return command.main(args=argv, prog_name="tsdtool", standalone_mode=False)
        except typer.Exit as exc:
            return exc.exit_code
        except typer.TyperException as exc:  # bad options: the parser's own message, exit 2
            exc.show() if hasattr(exc, "show") else console.err().print(str(exc), markup=False)
            return exc.exit_code
        except SystemExit as exc:  # click's answer to a broken pipe while printing help: exit 1
            if not isinstance(exc.__context__, BrokenPipeError):
                raise
            quick.quiet_stdout()
            return ExitCode.OK
        except typer.Abort:
            raise KeyboardInterrupt from None

    return quick.guarded(run, lambda: settings.verbose)


def _app_for(argv: list[str]) -> typer.Typer:
    """The app with only the command (or command group) the command line names: Typer builds a
    click command from every registered function's signature before it parses a word, and all
    twenty took a fifth of a collect's start. The global options and their callback stay; help
    for the whole program, or a word that names no command, gets the whole app."""
    import copy

    name = quick.command_word(argv)
    commands = [c for c in app.registered_commands if c.name == name]
    groups = [g for g in app.registered_groups if g.name == name]
    if not commands and not groups:
        return app
    pruned = copy.copy(app)
    pruned.registered_commands, pruned.registered_groups = commands, groups
    return pruned


_METAVARS = {"output": "PATH", "form": "FILE", "attach": "PATH", "app_id": "ID", "since": "WHEN", "jobs": "N",
             "display": "ID", "buffers": "LIST", "smtp": "HOST:PORT", "to": "ADDRESS", "user": "LOGIN", "link": "URL"}


def _plain_help(command) -> None:
    """Usage lines as people write them: ``NAME``, ``[NAME]``, ``NAME...`` (Typer prints
    ``{name}``, ``[[GLOB]]``, ``{DEVICE_PATH...}...``), no type after an argument, and
    option metavars from the option's name instead of ``<str>``/``<list[Path]>``."""
    from typer.core import TyperArgument, TyperOption

    for param in command.params:
        if isinstance(param, TyperArgument):
            name = (param.metavar or param.name).upper() + ("..." if param.nargs != 1 else "")
            param._usage_display_name = lambda name=name, p=param: name if p.required else f"[{name}]"
            param.display_type_rich = lambda ctx: None
        elif isinstance(param, TyperOption) and not param.is_flag and param.metavar is None:
            param.metavar = _METAVARS.get(param.name, param.name.upper())
    for sub in getattr(command, "commands", {}).values():
        _plain_help(sub)
