"""The error tree: every failure a user can meet, with its exit code and the fix to try.

Only ``cli.py`` turns these into exit codes (one error boundary); below it nothing calls
``sys.exit``. Each class carries ``exit_code`` and a one-line ``fix``.
"""

from __future__ import annotations

from enum import IntEnum

TYPE_CHECKING = False  # typing's flag, without importing typing before the first request
if TYPE_CHECKING:
    from collections.abc import Callable


class ExitCode(IntEnum):
    OK = 0
    PROBLEMS = 1  # `check`/`doctor`/`verify` found problems, or an internal error
    USAGE = 2
    PARTIAL = 3  # something failed; what was collected is kept
    DEVICE_UNAVAILABLE = 4  # none, ambiguous, unauthorized, offline, not found
    SERVER_UNREACHABLE = 5


class TsdError(Exception):
    """Root of every error tsdtool reports to the user."""

    exit_code: ExitCode = ExitCode.PROBLEMS
    fix: str = ""

    def __init__(self, message: str, fix: str | None = None):
        super().__init__(message)
        if fix is not None:
            self.fix = fix

    def one_line(self, say: Callable[[str], str] = str) -> str:
        """The message and its fix on one line; ``say`` shows each in the user's language."""
        text = say(" ".join(str(self).split()))
        return f"{text} — {say(self.fix)}" if self.fix else text


class UsageError(TsdError):
    """Bad input from the user: a malformed option value, a missing file, a broken form."""

    exit_code = ExitCode.USAGE


class ServerUnreachable(TsdError):
    """No adb server answers at the address in use (and none may or could be started)."""

    exit_code = ExitCode.SERVER_UNREACHABLE
    fix = "check that an adb server runs there (adb start-server) or pass -H/-P"


class DeviceUnavailable(TsdError):
    """No usable terminal: none attached, several and no serial, unknown serial, bad state."""

    exit_code = ExitCode.DEVICE_UNAVAILABLE


class NoDevice(DeviceUnavailable):
    fix = "plug the terminal in with a data cable and enable USB debugging"


class SeveralDevices(DeviceUnavailable):
    fix = "choose one with -s SERIAL (or ANDROID_SERIAL)"


class DeviceNotFound(DeviceUnavailable):
    fix = "check the serial with `tsdtool devices`"


class DeviceUnauthorized(DeviceUnavailable):
    fix = "accept the USB debugging prompt on the terminal"


class DeviceOffline(DeviceUnavailable):
    fix = "replug or restart the adb server"


class DeviceTimeout(TsdError, TimeoutError):
    """The terminal or the server stopped answering within the deadline."""

    exit_code = ExitCode.PARTIAL
    fix = "check the cable, or raise --timeout for a slow terminal"


class TransferError(TsdError):
    """A device call failed mid-way (cable pulled, connection dropped, refused file)."""

    exit_code = ExitCode.PARTIAL
    fix = "check the cable and run again; what was collected is kept"


class RemoteFileError(TsdError):
    """The terminal refused a path: missing, not readable, not debuggable."""

    exit_code = ExitCode.PARTIAL


class OutputError(TsdError):
    """The output folder cannot be written (full disk, no permission)."""

    exit_code = ExitCode.PARTIAL
    fix = "free some space or choose another folder with -o"


class ProfileError(TsdError):
    """A profile file is broken; `tsdtool profiles check` lists every problem."""

    exit_code = ExitCode.PROBLEMS
    fix = "run `tsdtool profiles check` to see every problem"
