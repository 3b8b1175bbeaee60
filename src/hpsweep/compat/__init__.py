"""Drop-in replacements for the trial-side APIs of other tools.

``from hpsweep.compat import speechbrain as hp`` stands in for
``from speechbrain.utils import hpopt as hp`` (see docs/coming-from-speechbrain.md);
``from hpsweep.compat import hparam_search`` for the ``@hparam_search`` decorator, and
``hpsweep.compat.axect`` / ``hpsweep.compat.autogluon`` for Axect/pytorch_template and AutoGluon.

Modules here are imported by trial processes, so they import only the standard library and
:mod:`hpsweep.client`; optional helpers (HyperPyYAML) are imported when first needed.
"""

from hpsweep.compat.hparam_search import hparam_search

__all__ = ["hparam_search"]
