"""``python -m bench [--quick] [--only CASE …] [--markdown]`` from the repository root."""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small files, one round (for the smoke test)")
    parser.add_argument(
        "--only",
        action="append",
        choices=["pull", "database", "collect", "fleet", "start"],
        help="run only this case (repeatable)",
    )
    parser.add_argument("--markdown", action="store_true", help="also print the table as Markdown")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args(argv)

    root = Path(__file__).resolve().parent.parent
    sys.path.insert(0, str(root))  # tests.fake_adb, when run from elsewhere
    try:
        from bench import cases, env, table
    except ImportError as exc:
        print(f"bench: cannot run: {exc}", file=sys.stderr)
        return 2

    _compile_tsdtool()
    sizes = env.QUICK if args.quick else env.FULL
    run_env = env.bench_env()
    work = Path(tempfile.mkdtemp(prefix="tsd-bench-"))
    rows: list[table.Row] = []
    ran = 0
    started = time.perf_counter()
    try:
        for name, case in cases.CASES.items():
            if args.only and name not in args.only:
                continue
            print(f"bench: {name} …", file=sys.stderr, flush=True)
            try:
                rows += case(work, sizes, run_env)
                ran += 1
            except Exception as exc:  # one broken case is a row, not the end of the run
                rows.append(
                    table.Row(
                        name,
                        "could not measure",
                        "error",
                        status=table.NA,
                        note=f"{type(exc).__name__}: {exc}"[:200],
                    )
                )
                if os.environ.get("BENCH_DEBUG"):
                    traceback.print_exc()
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    title = (
        f"tsdtool benchmark{' (--quick)' if args.quick else ''} — {platform.python_implementation()} "
        f"{platform.python_version()}, {os.cpu_count()} cores, {time.perf_counter() - started:.0f} s"
    )
    print(table.render(rows, title))
    if args.markdown:
        print(table.markdown(rows))
    return 0 if ran else 1


def _compile_tsdtool() -> None:
    """Byte-compile the tsdtool being measured, as installing a wheel does: the bench runs it with
    PYTHONDONTWRITEBYTECODE, and an editable checkout without ``__pycache__`` would otherwise
    compile every module at every start and charge that to start-up."""
    import compileall
    import importlib.util

    spec = importlib.util.find_spec("tsdtool")
    if spec and spec.submodule_search_locations:
        for folder in spec.submodule_search_locations:
            compileall.compile_dir(folder, quiet=2)


if __name__ == "__main__":
    sys.exit(main())
