"""Significant-digit rounding of sampled floats (``Float(digits=...)``, Oríon's ``precision=``).

The rounding happens in the sampler, not after ``suggest_float``, so that the value Optuna
stores, the value the trial receives and the value the next samplers learn from are the same
number. Imported only when a space has such a parameter (it imports Optuna).
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any

from optuna.distributions import BaseDistribution
from optuna.samplers import BaseSampler
from optuna.study import Study
from optuna.trial import FrozenTrial
from optuna.trial import TrialState

from hpsweep.space import Float


class RoundingSampler(BaseSampler):
    """``base`` with every value it samples for a parameter in ``params`` rounded by
    :meth:`Float.round`. Anything else (``is_exhausted``, ``hpsweep_exhausted``, a sampler's
    own attributes) is read from ``base``."""

    def __init__(self, base: BaseSampler, params: Mapping[str, Float]) -> None:
        self.base = base
        self.params = dict(params)

    def __getattr__(self, name: str) -> Any:
        if name == "base":  # not set yet (while unpickling): no recursion
            raise AttributeError(name)
        return getattr(self.base, name)

    def __str__(self) -> str:
        return str(self.base)

    def _round(self, name: str, value: Any) -> Any:
        param = self.params.get(name)
        return value if param is None else param.round(value)

    def infer_relative_search_space(
        self, study: Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        return self.base.infer_relative_search_space(study, trial)

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        sampled = self.base.sample_relative(study, trial, search_space)
        return {name: self._round(name, value) for name, value in sampled.items()}

    def sample_independent(
        self,
        study: Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        value = self.base.sample_independent(study, trial, param_name, param_distribution)
        return self._round(param_name, value)

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        self.base.before_trial(study, trial)

    def after_trial(
        self,
        study: Study,
        trial: FrozenTrial,
        state: TrialState,
        values: Sequence[float] | None,
    ) -> None:
        self.base.after_trial(study, trial, state, values)

    def reseed_rng(self) -> None:
        self.base.reseed_rng()


def with_rounding(sampler: BaseSampler, params: Mapping[str, object]) -> BaseSampler:
    """``sampler`` wrapped in a :class:`RoundingSampler` when any of ``params`` is a
    :class:`Float` with ``digits``, else ``sampler`` itself."""
    rounded = {
        name: param
        for name, param in params.items()
        if isinstance(param, Float) and param.digits is not None
    }
    return RoundingSampler(sampler, rounded) if rounded else sampler
