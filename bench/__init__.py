"""``python -m bench``: tsdtool measured against Debian's adb client on the fake terminals.

Everything runs on loopback against :mod:`tests.fake_adb` (started as its own process, so it
never shares a GIL with what is measured), with fixture terminals generated in a temporary
folder. The result is one table with PASS/MISS per target; a MISS never fails the run — the
exit status is non-zero only when the benchmark could not run at all.

Modules: :mod:`.env` (fixtures, the fake server process, command lines), :mod:`.measure`
(timing, host CPU, peak RSS, the raw sync reader), :mod:`.cases` (the measurements),
:mod:`.table` (rows and rendering).
"""

TARGETS = {
    "pull_hashed": 0.8,  # tsdtool pull MB/s ÷ (adb pull + openssl dgst -sha256) MB/s, at least
    "pull_link": 0.95,  # over a 35 MB/s link: tsdtool pull ÷ adb pull, at least
    "db_link": 2.0,  # realistic database over the link: adb pull time ÷ tsdtool pull-db time, at least
    "collect": 2.5,  # tsdtool collect time ÷ the adb script's, unpaced, at most
    "collect_link": 0.6,  # the same over the 35 MB/s link, at most
    "fleet": 1.5,  # collect --all on 8 terminals at USB pace ÷ on 1, at most
    "fleet_cpu": 0.5,  # host CPU-seconds per bundle, 8 terminals at USB pace, at most
    "start": 0.2,  # seconds for `tsdtool devices` / an empty `pull`, at most
    "help": 0.3,  # seconds for `tsdtool --help`, at most
}
