"""The one error the training library raises for a user's mistake; each tool's ``main()`` prints it under its name.
Also how the tools turn SIGTERM into that same orderly stop."""

import signal
import threading


class TrainingError(Exception):
    """A problem with what the user asked for (a missing folder, an unreadable checkpoint): a message, no traceback."""


def interrupt_on_sigterm() -> None:
    """SIGTERM (a job scheduler's stop, `kill`) unwinds like Ctrl-C: temporary files are removed on the way, and the
    tool says where it stopped instead of dying mid-write."""

    def interrupt(_number, _frame):
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, interrupt)
