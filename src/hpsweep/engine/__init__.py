"""The only home of optuna (with the controller and report/): stores, samplers, pruners, the
space bridge, liveness."""

from hpsweep.engine._algorithms import PRUNERS
from hpsweep.engine._algorithms import SAMPLERS
from hpsweep.engine._algorithms import make_pruner
from hpsweep.engine._algorithms import make_sampler
from hpsweep.engine._bridge import merge_params
from hpsweep.engine._bridge import suggest
from hpsweep.engine._liveness import Owner
from hpsweep.engine._storage import DEFAULT_STORE
from hpsweep.engine._storage import Store
from hpsweep.engine._storage import mask_url
from hpsweep.engine._storage import open_store
from hpsweep.engine._study import load_study
from hpsweep.engine._study import open_study

__all__ = [
    "DEFAULT_STORE",
    "PRUNERS",
    "SAMPLERS",
    "Owner",
    "Store",
    "load_study",
    "make_pruner",
    "make_sampler",
    "mask_url",
    "merge_params",
    "open_store",
    "open_study",
    "suggest",
]
