"""The measurements (issues 8 and 18); each returns its table rows."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

from bench import TARGETS, env
from bench.measure import fresh_dir, mb_per_s, median, raw_recv, run, run_in_pty
from bench.table import NA, Row, judge

MiB = env.MiB
HEAVY = (
    "rich.progress",
    "rich.live",
    "sqlite3",
    "email",
    "pyudev",
    "adbutils",
    "tarfile",
    "zipfile",
    "http.client",
    "urllib.request",
    "xml.etree",
    "jinja2",
    "hypothesis",
    "pydantic",
    "PIL",
    "rich.console",
)


def _size(n: int) -> str:
    return f"{n // MiB} MiB" if n >= MiB else f"{n // 1024} KiB"


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:120] if lines else ""


# -- 1. pull --------------------------------------------------------------------------------------


def _interleave(rounds: int, steps: list) -> None:
    """Run each step once per round, rotating the order: none always gets the warmer cache."""
    for n in range(rounds):
        k = n % len(steps)
        for step in steps[k:] + steps[:k]:
            step()


def _check_copy(path: Path, size: int, who: str, r) -> None:
    got = path.stat().st_size if path.exists() else -1
    if r.code != 0 or got != size:
        raise RuntimeError(f"{who} failed (exit {r.code}, {got} of {size} bytes): {_last_line(r.stderr)}")


PULL_AND_HASH = 'set -e; "$ADB" -H 127.0.0.1 -P "$PORT" -s "$SERIAL" pull "$1" "$2" >/dev/null; ' \
    'openssl dgst -sha256 "$2/$(basename "$1")" >/dev/null'


def pull(work: Path, sizes: env.Sizes, run_env: dict[str, str]) -> list[Row]:
    fx, linked = env.pull_fixture(work / "fx-pull", sizes)
    serial, big, small = "BENCHPULL1", "/sdcard/big.bin", "/sdcard/small.bin"
    have_adb = env.adb_bin() is not None
    rows: list[Row] = []
    tsd_s, adb_s, hash_s, tsd_cpu, big_rss = [], [], [], [], []
    link_tsd, link_adb = [], []
    with env.FakeServer([fx, linked]) as srv:
        raw_recv(srv.port, serial, big)  # warm the page cache
        ceiling = median([mb_per_s(*raw_recv(srv.port, serial, big)) for _ in range(3)])

        def tsd_round(path: str = big, size: int = sizes.big, dev: str = serial, into: list = tsd_s) -> None:
            out = fresh_dir(work, "pull-tsd")
            r = run(env.tsdtool(srv.port, dev, "pull", path, "-o", str(out)), run_env, rss=into is tsd_s)
            _check_copy(out / Path(path).name, size, "tsdtool pull", r)
            into.append(r.seconds)
            if into is tsd_s:
                tsd_cpu.append(r.cpu)
                big_rss.append(r.peak_rss_kb or 0)

        def adb_round(path: str = big, size: int = sizes.big, dev: str = serial, into: list = adb_s) -> None:
            out = fresh_dir(work, "pull-adb")
            r = run(env.adb(srv.port, dev, "pull", path, str(out)), run_env)
            _check_copy(out / Path(path).name, size, "adb pull", r)
            into.append(r.seconds)

        def hash_round() -> None:
            out = fresh_dir(work, "pull-adb")
            r = run(["bash", "-c", PULL_AND_HASH, "pull+hash", big, str(out)],
                    dict(run_env, ADB=env.adb_bin() or "adb", PORT=str(srv.port), SERIAL=serial))
            _check_copy(out / "big.bin", sizes.big, "adb pull + openssl dgst", r)
            hash_s.append(r.seconds)

        _interleave(sizes.rounds, [tsd_round, adb_round, hash_round] if have_adb else [tsd_round])
        if have_adb:
            _interleave(max(1, sizes.rounds - 2), [
                lambda: tsd_round("/sdcard/linked.bin", sizes.linked, "BENCHLINK1", link_tsd),
                lambda: adb_round("/sdcard/linked.bin", sizes.linked, "BENCHLINK1", link_adb),
            ])
        small_rss = []
        for _ in range(max(2, sizes.rounds)):
            out = fresh_dir(work, "pull-tsd")
            r = run(env.tsdtool(srv.port, serial, "pull", small, "-o", str(out)), run_env, rss=True)
            small_rss.append(r.peak_rss_kb or 0)
    fresh_dir(work, "pull-tsd"), fresh_dir(work, "pull-adb")

    big_mb = _size(sizes.big)
    tsd = mb_per_s(sizes.big, median(tsd_s))
    rows.append(Row("pull", f"fake's ceiling: raw sync RECV of {big_mb}, no disk", f"{ceiling:.0f} MB/s",
                    note="64 KiB DATA chunks, one sendall each"))
    rows.append(Row("pull", f"tsdtool pull {big_mb}, median of {sizes.rounds}", f"{tsd:.0f} MB/s",
                    note=f"new process each time, start-up included; host CPU {median(tsd_cpu):.2f} s; "
                    "writes and SHA-256-hashes every byte"))
    if have_adb:
        adb, hashed = mb_per_s(sizes.big, median(adb_s)), mb_per_s(sizes.big, median(hash_s))
        rows.append(Row("pull", f"adb pull {big_mb}, median of {sizes.rounds}", f"{adb:.0f} MB/s",
                        note="Debian adb " + _adb_version(run_env)))
        rows.append(Row("pull", f"adb pull + openssl dgst -sha256 {big_mb}", f"{hashed:.0f} MB/s",
                        note="what a careful engineer scripts to get the same hash; runs interleaved"))
        ratio = tsd / hashed
        rows.append(Row("pull", "tsdtool ÷ (adb pull + openssl dgst)", f"{ratio:.2f}×",
                        f"≥ {TARGETS['pull_hashed']:.1f}×", judge(ratio >= TARGETS["pull_hashed"]),
                        f"÷ bare adb pull: {tsd / adb:.2f}×"))
        fastest = max(tsd, adb)
        if ceiling < 1.25 * fastest:
            rows.append(Row("pull", "the fake is the bottleneck", f"{fastest / ceiling:.0%} of ceiling",
                            note="the faster client reaches ≥ 80 % of what the fake can send"))
        lt, la = mb_per_s(sizes.linked, median(link_tsd)), mb_per_s(sizes.linked, median(link_adb))
        ratio = lt / la
        rows.append(Row("pull", f"over a {env.LINK_MB_S} MB/s link, {_size(sizes.linked)} incompressible: "
                        "tsdtool ÷ adb pull", f"{ratio:.2f}×", f"≥ {TARGETS['pull_link']:.2f}×",
                        judge(ratio >= TARGETS["pull_link"]), f"{lt:.1f} vs {la:.1f} MB/s, start-up included"))
    else:
        rows.append(Row("pull", "tsdtool ÷ adb", "no adb", f"≥ {TARGETS['pull_hashed']:.1f}×", NA,
                        "install Debian's adb (apt-get install adb)"))
    s_rss, b_rss = median(small_rss) / 1024, median(big_rss) / 1024
    flat = b_rss <= s_rss + 8 and b_rss <= s_rss * 1.2
    rows.append(Row("pull", f"tsdtool peak RSS, {_size(sizes.small)} → {big_mb}", f"{s_rss:.0f} → {b_rss:.0f} MiB",
                    "flat (≤ +8 MiB)", judge(flat),
                    note="GNU time %M" if Path("/usr/bin/time").exists() else "VmHWM polled from /proc"))
    return rows


def _adb_version(run_env: dict[str, str]) -> str:
    try:
        out = subprocess.run(
            [env.adb_bin() or "adb", "version"], capture_output=True, text=True, env=run_env, timeout=10
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return "?"
    m = re.search(r"Version ([\w.\-]+)", out)
    return m[1] if m else "?"


# -- 2. the app database over a paced link -------------------------------------------------------


def database(work: Path, sizes: env.Sizes, run_env: dict[str, str]) -> list[Row]:
    """``tsdtool pull-db`` of the realistic database through a 35 MB/s link and a 4-core terminal,
    against ``adb pull`` of the same file (a copy on /sdcard: the same bytes, the same link)."""
    if not env.adb_bin():
        return [Row("database", "pull-db over the link ÷ adb pull", "no adb", f"≥ {TARGETS['db_link']:.1f}×", NA)]
    (fx,) = env.collect_fixtures(work / "fx-db", sizes, 1, link=True, prefix="BENCHDB")
    source = fx / "fs" / env.DB_DIR.lstrip("/") / "scans.db"
    on_sdcard = fx / "fs" / "sdcard" / "scans.db"
    if not on_sdcard.exists():
        on_sdcard.parent.mkdir(parents=True, exist_ok=True)
        os.link(source, on_sdcard)
    size, want = source.stat().st_size, hashlib.sha256(source.read_bytes()).hexdigest()
    serial = "BENCHDB01"
    tsd_s, adb_s, cpu, start_s = [], [], [], []
    identical, how = True, set()
    with env.FakeServer([fx]) as srv:
        def tsd_round() -> None:
            nonlocal identical
            out = fresh_dir(work, "db-tsd")
            r = run(env.tsdtool(srv.port, serial, "pull-db", env.APP, "-o", str(out)), run_env)
            got = list(out.rglob("scans.db"))
            if r.code != 0 or not got:
                raise RuntimeError(f"tsdtool pull-db failed (exit {r.code}): {_last_line(r.stderr)}")
            identical = identical and hashlib.sha256(got[0].read_bytes()).hexdigest() == want
            how.add(json.loads((out / "databases.json").read_text())["databases"][0]["copied"])
            tsd_s.append(r.seconds)
            cpu.append(r.cpu)
            start_s.append(run(env.tsdtool(srv.port, None, "devices"), run_env).seconds)  # start-up and exit alone

        def adb_round() -> None:
            out = fresh_dir(work, "db-adb")
            r = run(env.adb(srv.port, serial, "pull", "/sdcard/scans.db", str(out)), run_env)
            _check_copy(out / "scans.db", size, "adb pull", r)
            adb_s.append(r.seconds)

        # round 0 warms the caches and is dropped: the page cache, and the fake's gzip, which
        # replays a deflate it has done before so this host's CPU does not stand in for the
        # terminal's (tests/fake_adb/shell_files.py, _Deflater)
        _interleave(max(1, sizes.collect_rounds) + 1, [tsd_round, adb_round])
        tsd_s, adb_s, cpu, start_s = tsd_s[1:], adb_s[1:], cpu[1:], start_s[1:]
    fresh_dir(work, "db-tsd"), fresh_dir(work, "db-adb")
    speedup = median(adb_s) / median(tsd_s)
    what = (f"{size / 1e6:.1f} MB SQLite (deflates {env.deflate_ratio(source):.1f}× at -1), "
            f"{env.LINK_MB_S} MB/s link, {env.CPU['cores']} cores × {env.CPU['deflate_mb_per_s']} MB/s deflate")
    return [
        Row("database", f"tsdtool pull-db, median of {len(tsd_s)}", f"{median(tsd_s):.2f} s",
            note=f"{what}; copied {' / '.join(sorted(how))}; host CPU {median(cpu):.2f} s; "
            + ("byte-identical" if identical else "NOT IDENTICAL")
            + f"; of which start-up and exit ≈ {median(start_s):.2f} s (tsdtool devices, same rounds)"),
        Row("database", "adb pull of the same file", f"{median(adb_s):.2f} s", note="interleaved"),
        Row("database", "speed-up of pull-db over adb pull", f"{speedup:.2f}×", f"≥ {TARGETS['db_link']:.1f}×",
            judge(speedup >= TARGETS["db_link"] and identical)),
    ]


# -- 3. collect vs an adb script -----------------------------------------------------------------

ADB_SCRIPT = """#!/bin/bash
# What a careful technician runs today: the same items as `tsdtool collect`, one adb call each.
# `adb shell logcat …`, not `adb logcat -d`: the latter sends `export ANDROID_LOG_TAGS=…; exec
# logcat -d`, which the fake's emulated shell did not run (it copied nothing).
set -u
A=("$ADB" -H 127.0.0.1 -P "$PORT" -s "$SERIAL")
cd "$OUT"
"${A[@]}" shell getprop > getprop.txt
"${A[@]}" shell dumpsys package "$APP" > dumpsys-package.txt
for f in scans.db scans.db-wal scans.db-shm scans.db-journal; do
  "${A[@]}" exec-out run-as "$APP" cat "databases/$f" > "$f" 2>/dev/null
done
"${A[@]}" shell logcat -d -v threadtime > logcat.txt
"${A[@]}" exec-out screencap -p > screen.png
"""


def _field_args() -> list[str]:
    args = []
    for key, value in env.FIELDS.items():
        args += ["--field", f"{key}={value}"]
    return args


def collect(work: Path, sizes: env.Sizes, run_env: dict[str, str]) -> list[Row]:
    rows = _collect_rows(work, sizes, run_env, link=False)
    rows += _collect_rows(work, sizes, run_env, link=True)
    return rows


def _collect_rows(work: Path, sizes: env.Sizes, run_env: dict[str, str], *, link: bool) -> list[Row]:
    prefix = "BENCHLNK" if link else "BENCHCOL"
    fx = env.collect_fixtures(work / ("fx-linked" if link else "fx-collect"), sizes, 1, link=link, prefix=prefix)
    serial = f"{prefix}01"
    script = work / "adb-script.sh"
    script.write_text(ADB_SCRIPT)
    have_adb = env.adb_bin() is not None
    tsd_times, adb_times, cpu, fake_cpu, codes = [], [], [], [], set()
    with env.FakeServer(fx) as srv:

        def tsd_round() -> None:
            out = fresh_dir(work, "collect-tsd")
            fake_before = srv.cpu_seconds()
            r = run(env.tsdtool(srv.port, serial, "collect", "--no-input", "--package", env.APP, *_field_args(),
                                "-o", str(out)), run_env)
            if r.code not in (0, 3) or not list(out.glob("*.zip")):
                raise RuntimeError(f"tsdtool collect failed (exit {r.code}): {_last_line(r.stderr)}")
            codes.add(r.code)
            tsd_times.append(r.seconds)
            cpu.append(r.cpu)
            fake_after = srv.cpu_seconds()
            if fake_before is not None and fake_after is not None:
                fake_cpu.append(fake_after - fake_before)

        def adb_round() -> None:
            out = fresh_dir(work, "collect-adb")
            script_env = dict(run_env, ADB=env.adb_bin() or "adb", PORT=str(srv.port), SERIAL=serial,
                              APP=env.APP, OUT=str(out))
            r = run(["bash", str(script)], script_env)
            db, log = out / "scans.db", out / "logcat.txt"
            if (
                not db.exists()
                or db.stat().st_size < sizes.db
                or not log.exists()
                or log.stat().st_size < sizes.logcat // 2
                or (out / "screen.png").read_bytes()[:4] != b"\x89PNG"
            ):
                raise RuntimeError(f"the adb script did not copy everything: {_last_line(r.stderr)}")
            adb_times.append(r.seconds)

        # round 0 warms caches and is dropped
        _interleave(sizes.collect_rounds + 1, [tsd_round, adb_round] if have_adb else [tsd_round])
        tsd_times, adb_times, cpu, fake_cpu = tsd_times[1:], adb_times[1:], cpu[1:], fake_cpu[1:]
    where = f" over a {env.LINK_MB_S} MB/s link" if link else ", unpaced"
    what = f"db {_size(sizes.db)} (realistic, ~3× compressible), logcat {_size(sizes.logcat)}, 720×1280 screen"
    tsd = median(tsd_times)
    rows = [Row("collect", f"tsdtool collect{where}, median of {len(tsd_times)}", f"{tsd:.2f} s",
                note=f"host CPU {median(cpu):.2f} s per bundle; {what}; bundle + hashes + report + ticket"
                + (f"; exit {sorted(codes)}" if codes - {0} else ""))]
    target = TARGETS["collect_link" if link else "collect"]
    if have_adb:
        script_s = median(adb_times)
        rows.append(Row("collect", f"the same items by an adb script{where}", f"{script_s:.2f} s",
                        note="getprop, dumpsys package, run-as cat ×4, shell logcat -d -v threadtime, "
                        "exec-out screencap (7 adb calls; no hashes, no bundle)"))
        ratio = tsd / script_s
        rows.append(Row("collect", f"tsdtool ÷ adb script{where}", f"{ratio:.2f}×", f"≤ {target:.1f}×",
                        judge(ratio <= target)))
        if fake_cpu:
            # the fake terminal answers tsdtool on the same 2 cores (a real one has its own): no
            # schedule finishes before tsdtool's CPU and the fake's are both done on these cores
            # (the link's pacing is sleep, not CPU; over the link the floor can lie below the
            # link's own bound, which this row does not model)
            cores = os.cpu_count() or 1
            floor = (median(cpu) + median(fake_cpu)) / cores / script_s
            rows.append(Row("collect", f"floor of that ratio on this host{where}", f"{floor:.2f}×",
                            note=f"(tsdtool {median(cpu):.2f} s + fake terminal {median(fake_cpu):.2f} s CPU) "
                            f"÷ {cores} cores ÷ the script's {script_s:.2f} s"))
            left = target * script_s * cores - median(fake_cpu)
            rows.append(Row("collect", f"CPU the {target:.1f}× target leaves{where}", f"{left:.2f} s",
                            note=f"{target:.1f} × the script's {script_s:.2f} s × {cores} cores "
                            f"− fake terminal {median(fake_cpu):.2f} s CPU; tsdtool spent {median(cpu):.2f} s"))
    else:
        rows.append(Row("collect", f"tsdtool ÷ adb script{where}", "no adb", f"≤ {target:.1f}×", NA))
    fresh_dir(work, "collect-tsd"), fresh_dir(work, "collect-adb")
    return rows


# -- 4. collect --all ------------------------------------------------------------------------------


def fleet(work: Path, sizes: env.Sizes, run_env: dict[str, str]) -> list[Row]:
    most = sizes.fleet[-1]
    rows = _fleet_rows(work, sizes, run_env, env.collect_fixtures(work / "fx-collect", sizes, most),
                       "one fake server process serves all terminals, on the same cores: CPU-bound")
    # Real terminals send at USB 2.0 speed, not at the fake's 1 GB/s: the same fleet with each
    # fake terminal on its own 35 MB/s link shows whether the parallel design hides device waits.
    paced = env.collect_fixtures(work / "fx-linked", sizes, most, link=True, prefix="BENCHLNK")
    rows += _fleet_rows(work, sizes, run_env, paced, f"each terminal on its own {env.LINK_MB_S} MB/s link",
                        label=" at USB pace", jobs=most, target=True)
    rows.append(_byte_work(paced[0] / "fs" / env.DB_DIR.lstrip("/") / "scans.db", run_env))
    if env.adb_bin() and most > 2:  # not in --quick: the smoke test has no time for it
        rows += _fleet_rows(work, sizes, run_env, paced,
                            "real adb server, one fake adbd process per terminal, links as above",
                            label=" via the real adb server", jobs=most)
    return rows


def _byte_work(db: Path, run_env: dict[str, str]) -> Row:
    """The least host CPU a bundle's database costs (:mod:`bench.bytework`), median of 3 processes."""
    runs = []
    for _ in range(3):
        out = subprocess.run([sys.executable, "-m", "bench.bytework", str(db)], env=run_env, cwd=env.REPO,
                             capture_output=True, text=True, timeout=300)
        if out.returncode:
            raise RuntimeError(f"bench.bytework failed: {_last_line(out.stderr)}")
        runs.append(json.loads(out.stdout))
    parts = {name: median([r[name] for r in runs]) for name in runs[0]}
    return Row("fleet", "CPU of the database's one pass",
               f"{sum(parts.values()):.2f} s",
               note=" + ".join(f"{name} {spent:.3f}" for name, spent in parts.items())
               + " s: the least host CPU a bundle costs: tsdtool's own functions on the bench database in a "
               "fresh process, no requests, nothing else of the bundle")


def _fleet_rows(work: Path, sizes: env.Sizes, run_env: dict[str, str], fixtures: list[Path], note: str,
                *, label: str = "", jobs: int | None = None, real: bool = False, target: bool = False) -> list[Row]:
    times: dict[int, float] = {}
    cpus: dict[int, float] = {}
    fake_cpus: dict[int, float] = {}  # the simulated terminals' CPU per terminal (FakeServer only)
    notes: dict[int, str] = {}
    for count in sizes.fleet:
        stack = env.RealFleet(fixtures[:count], work / "adb-home") if real else env.FakeServer(fixtures[:count])
        with stack as srv:
            runs, cpu, fake = [], [], []
            # round 0 warms caches and is dropped, as in the other cases: the page cache, the
            # fake's real-shell roots (a copy of each terminal's files) and its gzip recordings
            # (tests/fake_adb/shell_files.py, _Deflater), which a fresh fake server builds on this
            # host's CPU the first time each terminal's database is asked for, all terminals at once
            for _ in range(1 + max(1, sizes.collect_rounds - 1)):
                out = fresh_dir(work, "fleet")
                fake_before = getattr(srv, "cpu_seconds", lambda: None)()
                extra = ["--jobs", str(jobs)] if jobs else []
                r = run(
                    env.tsdtool(srv.port, None, "collect", "--all", *extra, "--no-input", "--package", env.APP,
                                *_field_args(), "-o", str(out)),
                    run_env,
                )
                bundles = len(list(out.rglob("*.zip")))
                if r.code not in (0, 3) or bundles != count:
                    notes[count] = f"exit {r.code}, {bundles} bundles: {_last_line(r.stderr)}"
                runs.append(r.seconds)
                cpu.append(r.cpu / count)
                fake_after = getattr(srv, "cpu_seconds", lambda: None)()
                if fake_before is not None and fake_after is not None:
                    fake.append((fake_after - fake_before) / count)
            runs, cpu, fake = runs[1:], cpu[1:], fake[1:]
            times[count], cpus[count] = median(runs), median(cpu)
            if fake:
                fake_cpus[count] = median(fake)
    fresh_dir(work, "fleet")
    rows = []
    most = sizes.fleet[-1]
    for count in sizes.fleet:
        ratio = times[count] / times[1]
        last = count == most
        jobs_note = f" (--jobs {jobs})" if jobs and last else ""
        rows.append(Row(
            "fleet",
            f"collect --all{label}, {count} terminal{'s' if count > 1 else ''}{jobs_note}",
            f"{times[count]:.2f} s ({ratio:.2f}×)",
            f"≤ {TARGETS['fleet']:.1f}×" if last and target else "",
            judge(ratio <= TARGETS["fleet"] and not notes) if last and target else "",
            notes.get(count, f"host CPU {cpus[count]:.2f} s per bundle" + (f"; {note}" if last else "")),
        ))
    if target:
        per = cpus[most]
        rows.append(Row("fleet", f"host CPU per bundle, {most} terminals{label}", f"{per:.2f} s",
                        f"≤ {TARGETS['fleet_cpu']:.1f} s", judge(per <= TARGETS["fleet_cpu"]),
                        f"user + system CPU of tsdtool and its workers ÷ {most}"))
        if most in fake_cpus:
            # No schedule finishes before all CPU work is done on this host's cores; here the
            # fake terminals' work (shell, gzip pacing, link) runs on the same cores as tsdtool,
            # while a real terminal computes on its own. The ratio cannot fall below this floor.
            cores = os.cpu_count() or 1
            floor = most * (per + fake_cpus[most]) / cores / times[1]
            rows.append(Row("fleet", f"floor of the {most}-terminal ratio on this host", f"{floor:.2f}×",
                            note=f"{most} × (tsdtool {per:.2f} s + fake terminal {fake_cpus[most]:.2f} s CPU) "
                            f"÷ {cores} cores ÷ one terminal's {times[1]:.2f} s"))
            # the same bound turned round: the host CPU per bundle at which the floor meets the target
            left = TARGETS["fleet"] * times[1] * cores / most - fake_cpus[most]
            rows.append(Row("fleet", f"CPU per bundle the {TARGETS['fleet']:.1f}× target leaves",
                            f"{left:.2f} s",
                            note=f"{TARGETS['fleet']:.1f} × one terminal's {times[1]:.2f} s × {cores} cores ÷ {most} "
                            f"− fake terminal {fake_cpus[most]:.2f} s CPU"))
    return rows


# -- 5. start-up -----------------------------------------------------------------------------------


def startup(work: Path, sizes: env.Sizes, run_env: dict[str, str]) -> list[Row]:
    rows = []
    runs = sizes.start_runs
    run([*env.tsdtool_bin(), "--help"], run_env)  # warm the file cache: "cold" means a new process
    helps = [run([*env.tsdtool_bin(), "--help"], run_env).seconds for _ in range(runs)]
    help_s = median(helps)
    rows.append(Row("start", f"tsdtool --help, median of {runs}", f"{help_s:.3f} s", f"≤ {TARGETS['help']:.1f} s",
                    judge(help_s <= TARGETS["help"])))
    fx, _ = env.pull_fixture(work / "fx-start", env.Sizes(0, 0, 0, 0, 0, 0, 0, 0, (1,)))
    with env.FakeServer([fx]) as srv:
        for name, args in (("devices", ["devices"]), ("pull of an empty file", ["pull", "/sdcard/empty.bin"])):
            times = []
            for _ in range(runs + 1):  # the first run warms the cache and is dropped
                extra = ["-o", str(fresh_dir(work, "start-pull"))] if args[0] == "pull" else []
                r = run(env.tsdtool(srv.port, "BENCHPULL1" if extra else None, *args, *extra), run_env)
                if r.code != 0:
                    raise RuntimeError(f"tsdtool {name} failed (exit {r.code}): {_last_line(r.stderr)}")
                times.append(r.seconds)
            took = median(times[1:])
            rows.append(Row("start", f"tsdtool {name}, median of {runs}", f"{took:.3f} s",
                            f"≤ {TARGETS['start']:.1f} s", judge(took <= TARGETS["start"]),
                            "one fake terminal; a new process each time, exit included"))
        seen, colour = [], {k: v for k, v in run_env.items() if k != "NO_COLOR"}
        for _ in range(runs + 1):  # what a person at a terminal waits for: Rich draws the table there
            r = run_in_pty(env.tsdtool(srv.port, None, "devices"), colour)
            if r.code != 0 or "device" not in r.stderr:
                raise RuntimeError(f"tsdtool devices in a terminal failed (exit {r.code}): {r.stderr[-300:]!r}")
            seen.append(r.seconds)
        rows.append(Row("start", f"tsdtool devices in a terminal (pty 120×40), median of {runs}",
                        f"{median(seen[1:]):.3f} s", note="stdout a terminal: the table drawn by Rich, colours on"))
        dev_imports = _imports([sys.executable, "-X", "importtime", "-m", "tsdtool", "-H", "127.0.0.1", "-P",
                                str(srv.port), "devices"], run_env)
    cli_imports = _imports([sys.executable, "-X", "importtime", "-c", "import tsdtool.cli"], run_env)
    total = cli_imports.get("tsdtool.cli", (0, 0))[1]
    top = sorted(
        ((cum, name) for name, (_, cum) in cli_imports.items()
         if name.count(".") <= 1 and name != "tsdtool.cli" and not name.startswith("_")),
        reverse=True,
    )
    heaviest = ", ".join(f"{name} {cum / 1000:.0f}" for cum, name in top[:6])
    rows.append(Row("start", "import tsdtool.cli (python -X importtime)", f"{total / 1000:.0f} ms",
                    note=f"heaviest, cumulative ms: {heaviest}"))
    heavy_help = [m for m in HEAVY if m in cli_imports]
    rows.append(Row("start", "heavy modules imported for --help", ", ".join(heavy_help) or "none", "none",
                    judge(not heavy_help), f"checked: {', '.join(HEAVY)}"))
    heavy_dev = [m for m in HEAVY if m in dev_imports]
    rows.append(Row("start", "heavy modules imported for devices", ", ".join(heavy_dev) or "none",
                    note="adbutils is expected here (the seam defers its device module, PIL, requests, zipfile)"))
    return rows


def _imports(cmd: list[str], run_env: dict[str, str]) -> dict[str, tuple[int, int]]:
    """module → (self µs, cumulative µs) from ``-X importtime`` output."""
    err = subprocess.run(cmd, capture_output=True, text=True, env=run_env, cwd=env.REPO).stderr
    found = {}
    for line in err.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)", line)
        if m:
            found[m[4]] = (int(m[1]), int(m[2]))
    return found


CASES = {"pull": pull, "database": database, "collect": collect, "fleet": fleet, "start": startup}
