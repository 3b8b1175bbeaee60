"""Drop-in replacements for the trial-side APIs of other tools.

``from hpsweep.compat import speechbrain as hp`` stands in for
``from speechbrain.utils import hpopt as hp`` (see docs/coming-from-speechbrain.md).

Modules here are imported by trial processes, so they import only the standard library and
:mod:`hpsweep.client`; optional helpers (HyperPyYAML) are imported when first needed.
"""
