"""A fake adb for tsdtool's tests and demo: fixture folders played back over the real protocols.

* :class:`FakeAdbServer` — the host smart-socket protocol (what ``adb start-server`` listens on);
* :class:`FakeAdbd` — the device-side wire protocol, for ``adb connect 127.0.0.1:PORT``;
* :class:`Terminal` — one fake terminal loaded from a fixture folder (see README.md);
* :func:`make_fixture` — write a small fixture folder in a test's ``tmp_path``.

Only the standard library is used, so ``tsdtool demo`` can import this from a source checkout.
"""

from .adbd import FakeAdbd
from .fixture_builder import make_fixture
from .server import FakeAdbServer
from .terminal import FixtureError, Terminal

__all__ = ["FakeAdbServer", "FakeAdbd", "FixtureError", "Terminal", "make_fixture"]
