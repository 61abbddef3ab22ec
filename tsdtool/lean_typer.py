"""Typer's parameter coercion without pydantic, for the plain parameters tsdtool has.

Typer 0.29 coerces every command-line value through a pydantic ``TypeAdapter``: importing
pydantic and building the schemas cost ~85 ms of every start, more than listing the
terminals. tsdtool's parameters are ``str``, ``int``/``float`` (with min/max), ``bool``,
``Path`` and lists or optionals of those; :func:`install` coerces them here with Typer's
rules and pydantic's wording, and leaves every other annotation (enums, literals, dates,
custom parsers) to Typer. If Typer's internals change shape, nothing is installed and Typer
works as shipped (``tests/test_lean_start.py`` notices pydantic coming back).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args, get_origin

_NUMBERS = {
    int: "Input should be a valid integer, unable to parse string as an integer",
    float: "Input should be a valid number, unable to parse string as a number",
}


def install() -> None:
    try:
        from typer import _coercion, core
        from typer._click.exceptions import BadParameter
        from typer._param_types import coerce_cli_path, routes_to_path
    except ImportError:
        return
    original = getattr(core, "build_runtime_param", None)
    base = getattr(_coercion, "RuntimeParam", None)
    if original is None or base is None or getattr(original, "_tsdtool", False):
        return

    @dataclass(frozen=True)
    class Plain(base):  # type: ignore[misc, valid-type]
        convert: Any = None

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            try:
                return self.convert(value, param, ctx)
            except ValueError as exc:
                raise BadParameter(str(exc), ctx=ctx, param=param) from None

    def leaf(annotation: Any, info: Any, descriptor: Any) -> Any:
        """A converter for one value, or None when Typer should do it."""
        if info.parser is not None or getattr(info, "click_type", None) is not None:
            return None
        if annotation is str:
            return lambda v, p, c: v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
        if annotation in _NUMBERS:
            return _number(annotation, info)
        if annotation is bool:
            # Flags arrive as bools and never get here; anything else (an env var) goes to Typer.
            fallback: list[Any] = []

            def boolean(v: Any, p: Any, c: Any) -> Any:
                if isinstance(v, bool):
                    return v
                if not fallback:
                    fallback.append(original(descriptor))
                return fallback[0]._coerce_value(v, p, c)

            return boolean
        if annotation is Path and routes_to_path(annotation, info):
            return lambda v, p, c: coerce_cli_path(v if isinstance(v, Path) else Path(v), info, path_type=Path,
                                                   param=p, ctx=c)
        return None

    def build(descriptor: Any) -> Any:
        annotation, info = descriptor.annotation, descriptor.parameter_info
        if descriptor.file_annotation is None:
            if get_origin(annotation) is list and len(get_args(annotation)) == 1:
                one = leaf(get_args(annotation)[0], info, descriptor)
                if one is not None:
                    def many(v: Any, p: Any, c: Any, one: Any = one) -> list[Any]:
                        return [one(x, p, c) for x in (v if isinstance(v, (list, tuple)) else [v])]

                    return Plain(info, annotation, many)
            else:
                one = leaf(annotation, info, descriptor)
                if one is not None:
                    return Plain(info, annotation, one)
        return original(descriptor)

    build._tsdtool = True  # type: ignore[attr-defined]
    core.build_runtime_param = build


def _number(kind: type, info: Any) -> Any:
    low, high, clamp = info.min, info.max, info.clamp

    def number(value: Any, param: Any, ctx: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ValueError(_NUMBERS[kind])
        try:
            result = kind(value)
        except (TypeError, ValueError):
            if kind is int and isinstance(value, str):
                try:  # pydantic accepts "3.0" for an int, not "3.5"
                    as_float = float(value)
                except ValueError:
                    as_float = None
                if as_float is not None and as_float.is_integer():
                    result = int(as_float)
                else:
                    raise ValueError(_NUMBERS[kind]) from None
            else:
                raise ValueError(_NUMBERS[kind]) from None
        if result != result:  # NaN passes every comparison: refuse it as pydantic does
            raise ValueError("Input should be a finite number")
        if low is not None and result < low:
            if not clamp:
                raise ValueError(f"Input should be greater than or equal to {low}")
            result = kind(low)
        if high is not None and result > high:
            if not clamp:
                raise ValueError(f"Input should be less than or equal to {high}")
            result = kind(high)
        return result

    return number
