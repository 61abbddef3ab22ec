"""A private, real Debian adb server for end-to-end tests, always stopped afterwards.

Runs as ``adb -P PORT nodaemon server`` with a private HOME and no emulator probing, so the
test owns its pid; ``adb`` missing skips locally and fails under ``$CI``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RealServer:
    """A private Debian adb server and a way to run the adb CLI against it."""

    def __init__(self, adb_path: str, home: Path) -> None:
        home.mkdir(parents=True, exist_ok=True)  # adb aborts if $HOME/.android cannot be made
        self.adb_path, self.port = adb_path, _free_port()
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("ANDROID_", "ADB_"))}
        # 5553 < 5555: the server probes no emulator ports at all.
        self.env.update(HOME=str(home), ADB_LOCAL_TRANSPORT_MAX_PORT="5553")
        self.env.pop("TERM", None)
        self.proc = subprocess.Popen(
            [adb_path, "-P", str(self.port), "nodaemon", "server"],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=(home / "server.log").open("wb"),
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                if self.proc.poll() is not None:
                    break
                time.sleep(0.05)
        self.stop()
        pytest.fail(f"the adb server did not start: {(home / 'server.log').read_text()[-2000:]}")

    def adb(self, *args: str, timeout: float = 30) -> subprocess.CompletedProcess:
        # -H makes the server "remote" for the CLI: it never spawns another one.
        cmd = [self.adb_path, "-H", "127.0.0.1", "-P", str(self.port), *args]
        return subprocess.run(cmd, env=self.env, capture_output=True, timeout=timeout, check=False)

    def stop(self) -> None:
        try:
            self.adb("kill-server", timeout=10)
        except subprocess.TimeoutExpired:
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()  # only ever the pid we started
            self.proc.wait(10)


