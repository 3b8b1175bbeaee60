"""The configuration dialects of other tools, read into hpsweep's own :class:`SweepConfig`.

Each dialect turns what its tool reads (command lines, YAML files) into a native config, with a
one-line error naming the file or argument, the key and the fix for malformed input. No optuna
here: a dialect only describes a study; the engine runs it.
"""

from hpsweep.dialects._orion import Hunt
from hpsweep.dialects._orion import HuntOptions
from hpsweep.dialects._orion import Prior
from hpsweep.dialects._orion import hunt_config
from hpsweep.dialects._orion import parse_prior
from hpsweep.dialects._orion import prior_to_param

__all__ = [
    "Hunt",
    "HuntOptions",
    "Prior",
    "hunt_config",
    "parse_prior",
    "prior_to_param",
]
