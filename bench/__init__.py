"""``python -m bench``: tsdtool measured against Debian's adb client on the fake terminals.

Everything runs on loopback against :mod:`tests.fake_adb` (started as its own process, so it
never shares a GIL with what is measured), with fixture terminals generated in a temporary
folder. The result is one table with PASS/MISS per target; a MISS never fails the run — the
exit status is non-zero only when the benchmark could not run at all.

Modules: :mod:`.env` (fixtures, the fake server process, command lines), :mod:`.measure`
(timing, peak RSS, the raw sync reader), :mod:`.cases` (the four measurements),
:mod:`.table` (rows and rendering).
"""

TARGETS = {
    "pull": 1.0,  # tsdtool MB/s ÷ adb MB/s, at least
    "collect": 0.5,  # tsdtool collect time ÷ adb script time, at most
    "fleet": 1.5,  # collect --all on 8 terminals ÷ on 1, at most
    "help": 0.3,  # seconds for `tsdtool --help`, at most
}
