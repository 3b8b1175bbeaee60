"""The ``hpsweep`` command line."""

from hpsweep.cli._main import console
from hpsweep.cli._main import main

__all__ = ["console", "main"]
