"""Typed errors that the CLI turns into one `error:` line and one `hint:` line."""

from __future__ import annotations

import sys

from detr_watch.text import clean


class DetrWatchError(Exception):
    """An error the user can act on: a message and a hint, never a traceback."""

    exit_code = 1

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class UsageError(DetrWatchError):
    exit_code = 2


class NotALogError(DetrWatchError):
    """The file exists but is not a training log in any format we read."""


def warn(message: str) -> None:
    """One `warning: ...` line on stderr: something was read around, and the user should know."""
    sys.stderr.write(f"warning: {clean(message, 500)}\n")
    sys.stderr.flush()
