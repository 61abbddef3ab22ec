"""One validated collect plan, built before the terminal is touched.

:func:`build` checks every option once — desk, app choice, ticket fields against the desk's
field rules (``desk_profiles/``, see :mod:`tsdtool.bundle.fields`), attachments, logcat window,
output folder — and returns a :class:`Plan`: what the collectors collect and what the ticket
needs. A mistake is one :class:`~tsdtool.errors.UsageError` (exit 2) and nothing is written.

Each ticket field has one value and the source it came from, in this order of precedence:
``--field`` > ``--form`` > the saved contact > this PC (``pc`` fields, only when tsdtool runs
on Windows) > the terminal (filled when the bundle is made). Fields whose source is the
terminal or a file cannot be typed: they come from the terminal, or from ``--attach``.

A person at a terminal answers :meth:`Plan.questions`: every field the desk names that no
option gave, with the saved contact, this PC or the terminal as the default; a wrong answer
is asked again (:meth:`Plan.answer` says why).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tsdtool import errors
from tsdtool.bundle import desks, fields, form
from tsdtool.bundle.desks import Desk
from tsdtool.texts import texts

# Where a value came from, as recorded in the manifest (options.field_sources).
FIELD, FORM, CONTACT, THIS_PC, PC_ROOT, ASKED = "--field", "--form", "saved contact", "this PC", "--pc-root", "asked"


@dataclass
class CollectOptions:
    """Everything ``tsdtool collect`` can be told. Paths are local; nothing here is device data."""

    out_dir: Path = Path("tsd-output")
    app: str | None = None  # an app profile id (its package globs pick the packages)
    package: str | None = None  # one package, instead of --app
    desk: str | None = None  # desk profile id; None → generic
    fields: Sequence[str] = ()  # KEY=VALUE
    form_file: Path | None = None
    attach: Sequence[Path] = ()
    since: str | None = None  # logcat window, e.g. "2h" (see collectors.logs.parse_since)
    buffers: Sequence[str] = ()  # logcat -b names; () → logcat's default (main, system, crash)
    redact: bool = False
    include_db: bool = True
    profile_dirs: Sequence[Path] = ()
    config_dir: Path | None = None  # contact.toml / config.toml; None → the user's config dir
    use_user_profiles: bool = True
    repro: dict[str, Any] | None = None  # set by `repro stop`: the window and the marker write
    vendor_logs: bool = False  # send the profile's logger export broadcast (a device-side action)
    backup_wait: float | None = None  # try `adb backup` for a private folder nobody reached (needs a tap)
    pc_root: Path | None = None  # a copied Windows drive for the PC items; None: this PC, only on Windows
    root: bool = False  # also try su for the app's private folder
    extra_files: Sequence[tuple[Path, str, str]] = ()  # (local file, bundle path, kind): repro's screenshot


@dataclass(frozen=True)
class Answer:
    value: str
    source: str


@dataclass(frozen=True)
class Question:
    """One question for a person: ``default`` is taken when they just press Enter."""

    key: str
    label: str
    hint: str
    multiline: bool
    default: str = ""
    error: str = ""  # why the previous answer was refused ("" the first time)
    choices: tuple[str, ...] = ()  # a pick list: the answer is one of them ("" for none)
    ends: str = ""  # how a multi-line answer ends, in the desk's language
    pick: str = "number"  # the prompt of a pick list, in the desk's language


class AppChoice:
    """Which packages to collect: ``--package``, the installed ones an ``--app`` profile's globs
    match, a package picked from a list, or — with none of these — the installed packages some
    app profile claims."""

    def __init__(self, options: CollectOptions):
        if options.app and options.package:
            raise errors.UsageError("--app and --package exclude each other", fix="give one of them")
        if options.package is not None:
            from tsdtool.transport.wire import check_package

            check_package(options.package)
        self.explicit = options.package
        self._dirs = (options.profile_dirs, options.use_user_profiles)
        self._profile_set: Any = None
        self.profile = None
        self._profile_id: str | None = None
        self._picked: str | None = None  # a package whose profile is looked up when asked
        if options.app:
            self.profile = self.profile_set.profiles.get(options.app)
            if self.profile is None or self.profile.fallback:
                known = ", ".join(sorted(p for p, v in self.profile_set.profiles.items() if not v.fallback))
                broken = next((w for w in self.profile_set.warnings if f"{options.app}.toml" in w), "")
                raise errors.UsageError(
                    f"no app profile {options.app!r} (known: {known or 'none'})" + (f"; {broken}" if broken else ""),
                    fix="use --package PKG for an app without a profile",
                )
            self._profile_id = self.profile.id
        elif self.explicit:
            # --package checks nothing in the app profiles: they are read when first needed, after
            # collect's first requests went out (~17 ms of parsing before them otherwise)
            self._picked = self.explicit

    @property
    def profile_set(self) -> Any:
        """The app profiles (read once, when first needed)."""
        from tsdtool.apps import profiles as app_profiles

        if self._profile_set is None:
            dirs, user = self._dirs
            self._profile_set = app_profiles.load_app_profiles(dirs, include_user_dir=user)
        return self._profile_set

    @property
    def profile_id(self) -> str | None:
        if self._picked is not None:
            self.pick(self._picked)
        return self._profile_id

    @property
    def given(self) -> bool:
        return bool(self.explicit or self.profile)

    def pick(self, package: str) -> None:
        from tsdtool.apps import profiles as app_profiles

        self.explicit, self._picked = package, None
        found = app_profiles.match(self.profile_set, package).profile
        self._profile_id = None if found.fallback else found.id

    def _label(self, package: str) -> str | None:
        from tsdtool.apps import profiles as app_profiles

        found = app_profiles.match(self.profile_set, package).profile
        return None if found.fallback else found.name

    def candidates(self, installed: Sequence[str]) -> list[str]:
        """Installed third-party apps, those with an app profile first (for a pick list)."""
        profiled = [p for p in installed if self._label(p)]
        return profiled + [p for p in installed if p not in profiled]

    def check_installed(self, installed: Sequence[str], serial: str) -> None:
        """A package that is not installed, or an app profile none of whose packages is, fails
        here — before anything is collected — with the installed candidates."""
        if self.explicit and self.explicit not in installed:
            what = f"{self.explicit} is not installed on {serial}"
        elif self.profile is not None and not self.choose(installed):
            what = f"no package of app {self.profile.name} ({', '.join(self.profile.packages)}) on {serial}"
        else:
            return
        shown = self.candidates(installed)
        listing = ", ".join(shown[:12]) + (f" (+{len(shown) - 12})" if len(shown) > 12 else "")
        raise errors.UsageError(f"{what}; installed apps: {listing or 'none'}",
                                fix="pick one with --package PKG (`tsdtool apps` lists them)")

    def choose(self, installed: Sequence[str]) -> dict[str, str | None]:
        """package → app profile name, from the installed package names."""
        if self.explicit:
            return {self.explicit: self._label(self.explicit)}
        if self.profile is not None:
            return {p: self.profile.name for p in installed
                    if any(fnmatch.fnmatchcase(p, g) for g in self.profile.packages)}
        chosen = {p: name for p in installed if (name := self._label(p))}
        if len(set(chosen.values())) == 1:
            self._profile_id = next(p.id for p in self.profile_set.profiles.values() if p.name in chosen.values())
        return chosen


@dataclass
class Plan:
    """What one collect does and what its ticket needs; see the module docstring."""

    options: CollectOptions
    desk: Desk
    apps: AppChoice
    answers: dict[str, Answer]
    attach: list[Path]
    pc: dict[str, Any]  # this PC's facts (bundle/host.read without the adb server)
    notes: list[str] = field(default_factory=list)
    pc_root: Any = None  # where the PC items are read (tsdtool.pc.run.root_for), None: no PC items
    pc_covers: set[str] = field(default_factory=set)  # file fields the PC items will fill (exchange_folder)
    suggested: dict[str, str] = field(default_factory=dict)  # defaults at a question only, never values

    @property
    def form(self) -> dict[str, str]:
        return {k: a.value for k, a in self.answers.items() if a.value}

    @property
    def sources(self) -> dict[str, str]:
        return {k: a.source for k, a in self.answers.items() if a.value}

    def covered(self, key: str) -> bool:
        """A file-only field is covered when something was attached, or the PC root will fill it."""
        return self.desk.rule(key).source == "file" and (bool(self.attach) or key in self.pc_covers)

    def questions(self, from_terminal: Mapping[str, str] | None = None) -> list[Question]:
        """The fields this desk names that a person can answer and no option gave, in the
        desk's order. A requirement ``a|b`` already met (e.g. ``--attach``) is not asked."""
        from_terminal = from_terminal or {}
        asked: list[Question] = []
        for requirement in (*self.desk.required, *self.desk.recommended):
            keys = fields.alternatives(requirement)
            if any(self.covered(k) or self._given(k) for k in keys):
                continue
            for key in keys:
                rule = self.desk.rule(key)
                if rule.auto or any(q.key == key for q in asked):
                    continue
                default = (self.answers[key].value if key in self.answers
                           else from_terminal.get(key) or self.suggested.get(key, ""))
                ends = texts(self.desk.language)("ask.multiline_end") if rule.multiline else ""
                asked.append(Question(key, rule.label, rule.hint, rule.multiline, default, ends=ends))
        return asked

    def _given(self, key: str) -> bool:
        answer = self.answers.get(key)
        return bool(answer and answer.value and answer.source in (FIELD, FORM))

    def answer(self, key: str, text: str) -> str:
        """Take a person's answer; returns why it is wrong ("" when taken; an empty answer
        leaves the field empty)."""
        text = text.strip()
        if not text:
            self.answers.pop(key, None)
            return ""
        problem = self.desk.rule(key).check(text)
        if not problem:
            self.answers[key] = Answer(text, ASKED)
        return problem

    def ask_all(self, ask: Callable[[Question], str], from_terminal: Mapping[str, str] | None = None) -> None:
        """Ask each question until its answer passes the field's check (Enter keeps the default)."""
        for question in self.questions(from_terminal):
            while True:
                text = ask(question)
                text = question.default if not text.strip() else text
                problem = self.answer(question.key, text)
                if not problem:
                    break
                why = texts(self.desk.language).reason(problem, "invalid")
                question = Question(**{**question.__dict__, "error": f"{question.label} {why}"})


def build(options: CollectOptions) -> Plan:
    """Check every option and gather the ticket's fields; raises UsageError before any terminal."""
    from tsdtool.bundle import host
    from tsdtool.collectors.logwindow import check_since
    from tsdtool.paths import check_folder

    check_since(options.since)
    desk = desks.get(options.desk, options.profile_dirs, include_user_dir=options.use_user_profiles)
    layers = [
        (CONTACT, form.saved_contact(options.config_dir)),
        (FORM, form.load_toml_fields(options.form_file) if options.form_file else {}),
        (FIELD, form.parse_field_args(options.fields)),
    ]
    answers: dict[str, Answer] = {}
    pc = host.read(None)
    if str(pc.get("os_name", "")).startswith("Windows"):
        # Only on Windows is this PC likely the one the desk means (1C, Mobile SMARTS, GRServer).
        for key, value in (("pc_os", f"{pc['os_name']} {pc.get('os_version') or ''}".strip()),
                           ("pc_bitness", f"{pc['os_bitness']}-bit" if pc.get("os_bitness") else "")):
            if value:
                answers[key] = Answer(value, THIS_PC)
    pc_root = _pc_root(options)
    covers: set[str] = set()
    suggested: dict[str, str] = {}
    if pc_root is not None:
        # The PC the desk means (a copy of its drive with --pc-root, or this Windows PC): its
        # Windows, 1C and Mobile SMARTS versions are that PC's, below anything typed, and
        # offered as defaults at a question; an exchange folder it will attach meets GRSoft's
        # exchange requirement, so nobody is asked for a link.
        values, covers, suggested = _pc_root_values(pc_root, options.profile_dirs)
        source = PC_ROOT if options.pc_root is not None else THIS_PC
        for key, value in values.items():
            if source == PC_ROOT or key not in answers:
                answers[key] = Answer(value, source)
    for source, values in layers:
        for key, value in values.items():
            check_field(desk, key, value, source)
            if value:
                answers[key] = Answer(value, source)
    notes = [f"field {k!r} is not one tsdtool knows: kept and shown as given"
             for k in answers if k not in fields.CATALOG]
    attach = []
    for path in map(Path, options.attach):
        if not path.exists():
            raise errors.UsageError(f"--attach {path}: no such file or folder")
        attach.append(path)
    check_folder(Path(options.out_dir), "-o")
    apps = AppChoice(options)
    return Plan(options, desk, apps, answers, attach, pc, notes, pc_root, covers, suggested)


def _pc_root_values(root: Any, profile_dirs: Sequence[Path]) -> tuple[dict[str, str], set[str], dict[str, str]]:
    """Field values read from the PC root, the file fields its items will fill, and suggestions:
    the one Mobile SMARTS base's name as the product (a base is an installed product, «Склад 15»,
    kb.cleverence.com/3.4/how-to-update-server), a default at the question, never a value."""
    from tsdtool.pc import grserver, mobilesmarts, onec, windows
    from tsdtool.pc.common import profile_pc
    from tsdtool.pc.run import field_defaults

    try:
        facts = {"onec": onec.read_onec(root),
                 "mobilesmarts": mobilesmarts.read_mobilesmarts(root, profile_pc("cleverence", profile_dirs))}
        if not root.live:  # on this PC, host.read gave the Windows version already
            facts["windows"] = windows.read_windows(root)
        exchange, _ = grserver.read_grserver(root, profile_pc("napoleon", profile_dirs))
    except OSError:  # a default is a convenience: the PC collectors record the real failure
        return {}, set(), {}
    bases = facts["mobilesmarts"].get("bases", [])
    return (field_defaults(facts), {"exchange_folder"} if exchange.get("attached") else set(),
            {"product": bases[0]} if len(bases) == 1 else {})


def _pc_root(options: CollectOptions) -> Any:
    """The PC root for the PC items: ``--pc-root``, else this PC when it is Windows, else none."""
    import sys

    if options.pc_root is None and sys.platform != "win32":
        return None
    from tsdtool.pc.run import root_for

    return root_for(options.pc_root)


def _english_fix(desk: Desk, key: str) -> str:
    """A command-line error is worded in English, as every usage error is; ``desk.rule`` gives the
    fix in the desk's language, for the ticket's list of what is missing."""
    return (desk.rules.get(key) or fields.field(key)).fix


def check_field(desk: Desk, key: str, value: str, source: str) -> None:
    rule = desk.rule(key)
    where = f"{source} {key}" if source != FORM else f"--form {key}"
    if rule.auto:
        raise errors.UsageError(
            f"{where}: {rule.label} comes from the {'terminal' if rule.source == 'terminal' else 'attached files'}"
            ", it cannot be typed", fix=_english_fix(desk, key) or "leave it to tsdtool")
    problem = rule.check(value) if value else ""
    if problem:
        raise errors.UsageError(f"{where}: {value!r} {problem}", fix=f"correct it: {key}=…")
