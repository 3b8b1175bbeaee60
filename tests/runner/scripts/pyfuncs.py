"""Functions for PythonProcessExecutor tests."""

import os
import signal


def add(params):
    return params["a"] + params["b"]


def segfault(params):
    if params["crash"]:
        os.kill(os.getpid(), signal.SIGSEGV)
    return 1.0


class TrialPruned(Exception):
    """Any framework's TrialPruned counts, recognised by name."""


def prune_own(params):
    raise TrialPruned("not promising")


def missing_key(params):
    return params["nope"]
