"""hpsweep: hyperparameter search for any Python function or command.

``import hpsweep`` stays cheap (standard library only) so trials can import it; the study side
(``run``, ``search``, configs) loads optuna and PyYAML on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from typing import Any

from hpsweep._errors import ConfigError
from hpsweep._errors import HpsweepError
from hpsweep._errors import SpaceError
from hpsweep._errors import StorageError
from hpsweep._errors import TrialError
from hpsweep._errors import UsageError
from hpsweep.client import TrialPruned
from hpsweep.client import params
from hpsweep.client import report
from hpsweep.client import report_final
from hpsweep.client import should_prune
from hpsweep.client import trial_dir

if TYPE_CHECKING:
    from hpsweep._api import StudyResult
    from hpsweep._api import run
    from hpsweep._api import search
    from hpsweep._config import SweepConfig
    from hpsweep._config import load_config
    from hpsweep.space import Choice
    from hpsweep.space import Fixed
    from hpsweep.space import Float
    from hpsweep.space import Int
    from hpsweep.space import SearchSpace

__version__ = "0.1.0"

__all__ = [
    "Choice",
    "ConfigError",
    "Fixed",
    "Float",
    "HpsweepError",
    "Int",
    "SearchSpace",
    "SpaceError",
    "StorageError",
    "StudyResult",
    "SweepConfig",
    "TrialError",
    "TrialPruned",
    "UsageError",
    "load_config",
    "params",
    "report",
    "report_final",
    "run",
    "search",
    "should_prune",
    "trial_dir",
]

# Loaded on first use, so that a trial's `import hpsweep` costs only the client.
_LAZY = {
    "Choice": "hpsweep.space",
    "Fixed": "hpsweep.space",
    "Float": "hpsweep.space",
    "Int": "hpsweep.space",
    "SearchSpace": "hpsweep.space",
    "StudyResult": "hpsweep._api",
    "run": "hpsweep._api",
    "search": "hpsweep._api",
    "SweepConfig": "hpsweep._config",
    "load_config": "hpsweep._config",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'hpsweep' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
