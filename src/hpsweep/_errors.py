"""hpsweep's exception hierarchy.

Every error a user can cause derives from :class:`HpsweepError`; the CLI prints its message as
one line and exits with :attr:`HpsweepError.exit_code` (2 for bad input, 1 for a failed run).
"""

from __future__ import annotations


class HpsweepError(Exception):
    """Root of hpsweep's expected errors: the message is one line meant for the user."""

    exit_code: int = 1


class UsageError(HpsweepError):
    """A command line that cannot be run as written."""

    exit_code = 2


class ConfigError(UsageError):
    """A sweep configuration (YAML file, ``--set``, environment, API argument) is invalid."""


class SpaceError(ConfigError):
    """A search-space definition is invalid."""


class StorageError(HpsweepError):
    """The study store cannot be opened, read or written."""


class StoreNotFound(StorageError):
    """The named store or study does not exist (bad input, not a failure)."""

    exit_code = 2


class TrialError(HpsweepError):
    """A trial could not be run or its result could not be understood."""


class StudyFailed(HpsweepError):
    """The study stopped because too many trials failed."""
