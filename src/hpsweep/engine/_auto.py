"""``sampler: auto`` (the default): a sampler chosen from the space, the directions and the trial
budget, by the rule that benchmarks/quality.py measured (table in docs/samplers.md).

- one objective, every param a float or an int, no conditions, at most ``GP_MAX_DIMS`` params,
  and Optuna's GP dependencies (torch, scipy) installed: :class:`GPThenCmaEs`, a Gaussian
  process for the first ``GP_TRIALS`` complete trials (the most sample-efficient sampler by
  far), then CMA-ES started at the best point so far, whose cost per trial does not grow with
  the number of trials as the GP's does (a pure GP when the budget ends within the GP phase);
- conditional params: TPE, multivariate, with ``group`` (it models each branch separately);
- several objectives: TPE (MOTPE), which needs far fewer trials than NSGA-II's generations;
- anything else (categoricals, many params, no torch): TPE, multivariate (Optuna 5's default).
"""

from __future__ import annotations

import importlib.util
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from typing import Any

import optuna
from optuna.distributions import BaseDistribution
from optuna.samplers import BaseSampler
from optuna.study import StudyDirection
from optuna.trial import TrialState

from hpsweep.space import Choice
from hpsweep.space import Fixed
from hpsweep.space import Float
from hpsweep.space import Int
from hpsweep.space import SearchSpace

if TYPE_CHECKING:
    from optuna.study import Study
    from optuna.trial import FrozenTrial

GP_MAX_DIMS = 10
"""Above this many sampled params ``auto`` uses TPE (GP's edge shrinks and its cost grows)."""
GP_TRIALS = 70
"""Complete trials the GP phase runs before CMA-ES takes over."""
GP_ONLY_BUDGET = 90
"""With a trial budget at most this large the GP runs throughout (its cost stays small)."""


@dataclass(frozen=True)
class AutoChoice:
    """What ``auto`` picked and why (shown in docs and tests)."""

    name: str
    """``gp``, ``gp+cmaes``, ``tpe`` or ``tpe-group``."""
    reason: str


def gp_available() -> bool:
    """Whether Optuna's GPSampler can run: it needs torch and scipy (the ``gp`` extra)."""
    return all(importlib.util.find_spec(m) is not None for m in ("torch", "scipy"))


def cmaes_available() -> bool:
    return importlib.util.find_spec("cmaes") is not None


def choose_sampler(
    space: SearchSpace, directions: Sequence[str], n_trials: int | None
) -> AutoChoice:
    """The rule of ``auto``, as data."""
    sampled = [space[name] for name in space.names if not isinstance(space[name], Fixed)]
    if len(directions) > 1:
        return AutoChoice("tpe", "several objectives: TPE (MOTPE) needs the fewest trials")
    if any(param.when for param in sampled):
        return AutoChoice("tpe-group", "conditional params: TPE models each branch (group)")
    if any(isinstance(param, Choice) for param in sampled):
        return AutoChoice("tpe", "categorical params: TPE")
    if not sampled:
        return AutoChoice("tpe", "nothing to sample")
    if len(sampled) > GP_MAX_DIMS:
        return AutoChoice("tpe", f"{len(sampled)} params (> {GP_MAX_DIMS}): TPE")
    if not gp_available():
        return AutoChoice("tpe", "torch/scipy are not installed (pip install hpsweep[gp]): TPE")
    if (n_trials is not None and n_trials <= GP_ONLY_BUDGET) or not cmaes_available():
        budget = f"{n_trials} trials" if n_trials is not None else "cmaes not installed"
        return AutoChoice("gp", f"{len(sampled)} numeric params, {budget}: GP")
    assert all(isinstance(param, (Float, Int)) for param in sampled)
    return AutoChoice(
        "gp+cmaes",
        f"{len(sampled)} numeric params: GP for {GP_TRIALS} trials, then CMA-ES from the best",
    )


def auto_sampler(
    space: SearchSpace, directions: Sequence[str], n_trials: int | None, *, seed: int | None
) -> BaseSampler:
    choice = choose_sampler(space, directions, n_trials)
    if choice.name == "gp":
        return optuna.samplers.GPSampler(seed=seed)
    if choice.name == "gp+cmaes":
        return GPThenCmaEs(seed=seed)
    if choice.name == "tpe-group":
        return optuna.samplers.TPESampler(seed=seed, multivariate=True, group=True)
    return optuna.samplers.TPESampler(seed=seed, multivariate=True)


class GPThenCmaEs(BaseSampler):
    """A GP for the first ``gp_trials`` complete trials, then CMA-ES from the best of them.

    Which phase a trial belongs to depends only on the study's stored trials (the number of
    complete ones when it starts), so a resumed run or another worker makes the same choice;
    CMA-ES keeps its own state in the trials' system attrs, as Optuna's CmaEsSampler always does.
    """

    def __init__(self, *, seed: int | None = None, gp_trials: int = GP_TRIALS) -> None:
        self._seed = seed
        self._gp_trials = gp_trials
        self._gp = optuna.samplers.GPSampler(seed=seed)
        self._cma: BaseSampler | None = None
        self._phase: dict[int, BaseSampler] = {}

    def _for(self, study: Study, trial: FrozenTrial) -> BaseSampler:
        sampler = self._phase.get(trial._trial_id)
        if sampler is None:
            complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
            if len(complete) < self._gp_trials:
                sampler = self._gp
            else:
                sampler = self._cmaes(study, complete)
            self._phase[trial._trial_id] = sampler
        return sampler

    def _cmaes(self, study: Study, complete: Sequence[FrozenTrial]) -> BaseSampler:
        if self._cma is None:
            sign = -1.0 if study.direction == StudyDirection.MAXIMIZE else 1.0
            self._cma = _cmaes_from(complete, sign=sign, seed=self._seed)
        return self._cma

    def reseed_rng(self) -> None:
        self._gp.reseed_rng()
        if self._cma is not None:
            self._cma.reseed_rng()

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        self._for(study, trial).before_trial(study, trial)

    def infer_relative_search_space(
        self, study: Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        space: dict[str, BaseDistribution] = self._for(study, trial).infer_relative_search_space(
            study, trial
        )
        return space

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        values: dict[str, Any] = self._for(study, trial).sample_relative(
            study, trial, search_space
        )
        return values

    def sample_independent(
        self,
        study: Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        return self._for(study, trial).sample_independent(
            study, trial, param_name, param_distribution
        )

    def after_trial(
        self,
        study: Study,
        trial: FrozenTrial,
        state: TrialState,
        values: Sequence[float] | None,
    ) -> None:
        self._for(study, trial).after_trial(study, trial, state, values)
        self._phase.pop(trial._trial_id, None)


def _cmaes_from(complete: Sequence[FrozenTrial], *, sign: float, seed: int | None) -> BaseSampler:
    """CMA-ES centred on the best complete trial, with a step size (in the [0, 1]-scaled space)
    from the spread of the five best, clipped to [0.01, 0.2]."""
    ranked = sorted(complete, key=lambda t: sign * float(t.value or 0.0))
    best = ranked[0]
    spreads = []
    for name, distribution in best.distributions.items():
        low, high = _scaled_bounds(distribution)
        if high <= low:
            continue
        xs = [(_scaled(t.params[name], distribution) - low) / (high - low) for t in ranked[:5]]
        mean = sum(xs) / len(xs)
        spreads.append(math.sqrt(sum((x - mean) ** 2 for x in xs) / len(xs)))
    sigma = min(0.2, max(0.01, sum(spreads) / len(spreads) if spreads else 0.1))
    # x0 and sigma0 are deprecated since Optuna 4.9 (removal planned for 6.0; hpsweep pins
    # optuna<6) in favour of warm-starting from source_trials, whose fixed prior keeps the first
    # step size near 0.1 and measured worse here; see docs/samplers.md.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return optuna.samplers.CmaEsSampler(
            x0=dict(best.params), sigma0=sigma, seed=seed, n_startup_trials=0
        )


def _scaled_bounds(distribution: BaseDistribution) -> tuple[float, float]:
    low = float(getattr(distribution, "low", 0.0))
    high = float(getattr(distribution, "high", 0.0))
    if getattr(distribution, "log", False):
        return math.log(low), math.log(high)
    return low, high


def _scaled(value: float, distribution: BaseDistribution) -> float:
    return math.log(value) if getattr(distribution, "log", False) else float(value)
