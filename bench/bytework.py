"""The host CPU that a bundle's database costs at the least: ``python -m bench.bytework DB``.

One pass over every byte of a database pulled the way collect pulls it, with tsdtool's own
functions, in a fresh process, timed by its CPU clock: inflating the terminal's ``gzip -1``
stream (:func:`tsdtool.apps.gzpull.inflater`), deflating it for the zip
(:class:`tsdtool.outdir.Deflater`), its SHA-256, and ``PRAGMA quick_check``
(:func:`tsdtool.apps.dbcheck.check`). The gzip stream is made beforehand, untimed: on a real
terminal it costs the terminal's CPU, not the host's. Everything else a bundle holds (log,
screen, report, ticket, mail) and every request are left out, so no collect can cost the host
less than this; the fleet case sets it beside the CPU its target leaves per bundle.

Prints the seconds as JSON: ``{"inflate": …, "deflate": …, "sha256": …, "check": …}``.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import sys
import tempfile
import time
from pathlib import Path

STEP = 1 << 20  # what one recv hands on, about


def measure(db: Path) -> dict[str, float]:
    from tsdtool.apps import dbcheck
    from tsdtool.apps.gzpull import INFLATE_STEP, inflater
    from tsdtool.outdir import Deflater, level_of

    raw = db.read_bytes()
    stream = gzip.compress(raw, 1)
    spent: dict[str, float] = {}

    def timed(name, work):
        start = time.process_time()
        result = work()
        spent[name] = time.process_time() - start
        return result

    def inflate() -> int:
        z, _ = inflater()
        size = 0
        for at in range(0, len(stream), STEP):
            data = stream[at:at + STEP]
            while data:  # as gzpull's sink does: at most INFLATE_STEP out at a time
                size += len(z.decompress(data, INFLATE_STEP))
                data = z.unconsumed_tail
        return size

    def deflate() -> None:
        with tempfile.TemporaryDirectory() as spool:
            d = Deflater(level_of("database"), Path(spool))
            for at in range(0, len(raw), STEP):
                d.update(raw[at:at + STEP])
            d.finish()
            d.close()

    if timed("inflate", inflate) != len(raw):
        raise SystemExit("the inflated size differs from the database's")
    timed("deflate", deflate)
    timed("sha256", lambda: hashlib.sha256(raw).digest())
    result = timed("check", lambda: dbcheck.check(db))
    if not result.ok:
        raise SystemExit(f"the check failed: {result.error or result.integrity}")
    return spent


if __name__ == "__main__":
    print(json.dumps(measure(Path(sys.argv[1]))))
