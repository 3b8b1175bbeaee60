"""The search space: what hpsweep samples, in three equal forms.

Python::

    SearchSpace({"lr": Float(1e-5, 1e-1, log=True), "opt": Choice(["adam", "sgd"]), "seed": 7})

YAML (the mapping under ``space:``, see :meth:`SearchSpace.from_mapping`)::

    lr: {type: float, low: 1.0e-5, high: 1.0e-1, log: true}

CLI (one ``-p`` spec per parameter, see :func:`parse_cli`)::

    -p 'lr=float(1e-5,1e-1,log)' -p 'opt=choice(adam,sgd)' -p seed=7

This package is pure: it imports only the standard library and :mod:`hpsweep._errors`. Every
invalid definition raises :class:`hpsweep._errors.SpaceError` with a one-line message.
"""

from __future__ import annotations

from hpsweep.space._grammar import parse_cli
from hpsweep.space._grammar import render_cli
from hpsweep.space._mapping import param_from_mapping
from hpsweep.space._mapping import param_to_mapping
from hpsweep.space._params import Choice
from hpsweep.space._params import Conditions
from hpsweep.space._params import Fixed
from hpsweep.space._params import Float
from hpsweep.space._params import Int
from hpsweep.space._params import Param
from hpsweep.space._params import Scalar
from hpsweep.space._params import SearchSpace
from hpsweep.space._params import When

__all__ = [
    "Choice",
    "Conditions",
    "Fixed",
    "Float",
    "Int",
    "Param",
    "Scalar",
    "SearchSpace",
    "When",
    "param_from_mapping",
    "param_to_mapping",
    "parse_cli",
    "render_cli",
]
