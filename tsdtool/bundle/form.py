"""The ticket's human fields: from ``--field``, a ``--form`` file, the saved contact, or prompts.

Later sources fill only what earlier ones left empty, in this order of precedence:
``--field KEY=VALUE`` > ``--form FILE.toml`` > the saved contact
(``user_config_dir("tsdtool")/contact.toml``) > interactive prompts. Input mistakes are
:class:`~tsdtool.errors.UsageError` (exit 2), raised before any terminal is touched.

A form file is flat TOML (a ``[fields]`` table is also accepted)::

    description = "Scanning a box label freezes the app"
    steps = '''
    1. open Receiving
    2. scan any SSCC label
    '''
    affected_users = 12
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from tsdtool import errors
from tsdtool.bundle import fields
from tsdtool.profile_files import read_toml

CONTACT_FILE = "contact.toml"
CONFIG_FILE = "config.toml"

# ask(key, label, hint, multiline) → the value typed ("" to leave it empty)
Ask = Callable[[str, str, str, bool], str]


def parse_field_args(args: Sequence[str]) -> dict[str, str]:
    """``["key=value", …]`` → dict; a bad item is a one-line usage error."""
    values: dict[str, str] = {}
    for arg in args:
        key, sep, value = arg.partition("=")
        key = key.strip()
        if not sep or not fields.KEY.match(key):
            raise errors.UsageError(
                f"--field {arg!r} is not KEY=VALUE with a snake_case key",
                fix="write it as --field description='what goes wrong'",
            )
        if not fields.is_text(value):
            raise errors.UsageError(f"--field {key}: not text in this console's encoding",
                                    fix="type it in a UTF-8 console, or put it in a --form file (UTF-8)")
        values[key] = _one_line(key, value.strip(), f"--field {key}")
    return values


def _one_line(key: str, value: str, source: str) -> str:
    """A one-line field (a name, an address, a project) with a line break would break the
    e-mail headers and the subject built from it: a usage error, not a crash at the end."""
    info = fields.CATALOG.get(key)
    if info and not info.multiline and any(c in value for c in "\r\n\x00"):
        raise errors.UsageError(f"{source}: must be one line", fix="only description and steps may span lines")
    return value


def _flatten(data: Mapping[str, Any], source: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for key, value in data.items():
        if not fields.KEY.match(key):
            raise errors.UsageError(f"{source}:{key}: not a snake_case field key")
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise errors.UsageError(f"{source}:{key}: must be text or a number")
        values[key] = _one_line(key, str(value).strip(), f"{source}:{key}")
    return values


def load_toml_fields(path: Path, *, label: str = "--form") -> dict[str, str]:
    """A form file's fields; an unreadable or malformed file is a usage error naming the spot."""
    try:
        data = read_toml(Path(path))
    except OSError as exc:
        raise errors.UsageError(f"{label} {path}: cannot read ({exc.strerror or exc})") from exc
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise errors.UsageError(f"{label} {path}: {exc}") from exc
    table = data.get("fields", data) if isinstance(data.get("fields"), dict) else data
    return _flatten(table, str(path))


def config_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_config_dir("tsdtool"))


def saved_contact(folder: Path | None = None) -> dict[str, str]:
    """The saved contact; a missing file is empty, a broken one is a usage error."""
    path = (folder or config_dir()) / CONTACT_FILE
    return load_toml_fields(path, label="contact") if path.is_file() else {}


def desk_address(desk_id: str, folder: Path | None = None) -> str:
    """The user's own address for a desk: ``[desk.<id>] to = "…"`` in ``config.toml``."""
    path = (folder or config_dir()) / CONFIG_FILE
    if not path.is_file():
        return ""
    try:
        data = read_toml(path)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise errors.UsageError(f"{path}: {getattr(exc, 'strerror', None) or exc}") from exc
    to = data.get("desk", {}).get(desk_id, {}).get("to", "")
    return to if isinstance(to, str) else ""


def gather(
    field_args: Sequence[str] = (), form_file: Path | None = None, contact: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Merge the non-interactive sources; empty values count as not given."""
    merged: dict[str, str] = {}
    layers = [
        dict(contact or {}),
        load_toml_fields(form_file) if form_file else {},
        parse_field_args(field_args),
    ]
    for layer in layers:
        merged.update({k: v for k, v in layer.items() if v})
    return merged


def prompt_missing(
    keys: Iterable[str],
    values: dict[str, str],
    ask: Ask,
    label: Callable[[str], str] = lambda k: fields.field(k).label,
) -> dict[str, str]:
    """Ask for each human field in ``keys`` still empty. ``values`` is updated in place (answers
    given before a Ctrl-C are kept) and returned."""
    for key in keys:
        info = fields.field(key)
        if info.auto or values.get(key):
            continue
        answer = ask(key, label(key), info.hint, info.multiline).strip()
        if answer:
            values[key] = answer
    return values


def unknown_keys(values: Mapping[str, str]) -> list[str]:
    """Keys outside the catalogue: accepted and shown, but worth a warning (a typo?)."""
    return [k for k in values if k not in fields.CATALOG]
