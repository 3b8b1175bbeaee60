"""Run one Python function as a trial subprocess (what :class:`PythonProcessExecutor` starts).

``python -m hpsweep._child [--path DIR] TARGET`` where TARGET is ``module:function`` or
``path/to/file.py:function``: calls ``function(params)`` and sends its return value as the final
result. Exceptions reach the controller through the hook that :mod:`hpsweep.client` installs in
trial subprocesses: ``TrialPruned`` ends the trial as pruned, anything else fails it with
``Type: message`` (the traceback goes to stderr, the exit code is 1). Imports nothing heavy, so a
trial starts in the time Python itself needs.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from collections.abc import Callable
from types import ModuleType
from typing import Any

from hpsweep import client

USAGE = "usage: python -m hpsweep._child [--path DIR] module:function"


def main(argv: list[str]) -> int:
    if len(argv) == 3 and argv[0] == "--path":
        path, target = argv[1], argv[2]
    elif len(argv) == 1:
        path, target = ".", argv[0]
    else:
        print(USAGE, file=sys.stderr)
        return 2
    sys.path.insert(0, os.path.abspath(path))
    params = client.params()  # opens the channel first, so that import errors are reported
    result = load(target)(params)
    if result is not None:
        client.report_final(result)
    return 0


def load(target: str) -> Callable[[dict[str, Any]], object]:
    """The function ``target`` names: ``module:function`` or ``file.py:function`` (nested names
    such as ``Class.method`` allowed)."""
    location, _, name = target.rpartition(":")
    if not location or not name:
        raise ValueError(f"target must be module:function, got {target!r}")
    module: ModuleType
    if location.endswith(".py"):
        spec = importlib.util.spec_from_file_location("__hpsweep_target__", location)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot import {location}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
    else:
        module = importlib.import_module(location)
    found: Any = module
    for part in name.split("."):
        found = getattr(found, part)
    if not callable(found):
        raise TypeError(f"{target} is not callable")
    function: Callable[[dict[str, Any]], object] = found
    return function


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
