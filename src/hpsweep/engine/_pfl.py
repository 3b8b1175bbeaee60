"""hpsweep's own pruners: Predicted Final Loss (Axect/pytorch_template) as a real Optuna
pruner, and the ``max_t`` cap that makes successive halving behave like Ray Tune's ASHA.

Both published behaviours of PFL are here, chosen by ``variant``:

- ``raw`` (the seed's HEAD): predict the loss at ``target_epoch`` on the raw-loss scale (EMA, then
  an exponential through three anchors) and prune when the prediction is *worse* (greater) than
  the largest prediction among the top-k trials;
- ``log10`` (the seed's v2025): fit ``ln(loss)`` linearly, predict ``-log10(loss)`` (higher is
  better) and prune when the prediction is *worse* (smaller) than the smallest of the top-k.

Unlike the seed, nothing lives in memory: every decision is derived from the trials in the
study's storage (intermediate values and states), so it survives a resume and agrees across
processes and hosts. Several seeds of one trial are reported as steps ``seed * seed_stride +
epoch`` (see docs/pruning.md).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping
from collections.abc import Sequence
from typing import TYPE_CHECKING
from typing import Literal

from optuna.pruners import BasePruner
from optuna.trial import TrialState

if TYPE_CHECKING:
    from optuna.study import Study
    from optuna.trial import FrozenTrial

Variant = Literal["raw", "log10"]
VARIANTS: dict[str, Variant] = {"raw": "raw", "head": "raw", "log10": "log10", "v2025": "log10"}
_FINISHED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)


def predict_final_loss(losses: Sequence[float], max_epochs: int, *, variant: Variant) -> float:
    """The seed's ``util.predict_final_loss``: ``raw`` gives a loss, ``log10`` a ``-log10``
    loss (higher is better). Fewer than 10 values give the last one (on that scale)."""
    if variant == "raw":
        return _predict_raw(losses, max_epochs)
    return _predict_log10(losses, max_epochs)


def _predict_raw(losses: Sequence[float], max_epochs: int) -> float:
    y = [float(v) for v in losses]
    n = len(y)
    if n < 10:
        return y[-1]
    span = min(n // 3, 20)
    alpha = 2.0 / (span + 1)
    ema = [y[0]]
    for value in y[1:]:
        ema.append(alpha * value + (1 - alpha) * ema[-1])
    i1, i2, i3 = n // 3, 2 * n // 3, n - 1
    e1, e2, e3 = ema[i1], ema[i2], ema[i3]
    d12, d23 = e1 - e2, e2 - e3
    if abs(d12) < 1e-15 or abs(d23) < 1e-15:
        return ema[-1]
    r = d23 / d12
    if r <= 0 or r >= 1:
        # Not a decaying exponential: extrapolate half the recent slope.
        w = min(10, n - 1)
        rate = (ema[-1] - ema[-1 - w]) / w
        result = ema[-1] + rate * max(max_epochs - n, 0) * 0.5
    else:
        try:
            b = -math.log(r) / (i2 - i1)
            a = d12 / (math.exp(-b * i1) - math.exp(-b * i2))
            c = e1 - a * math.exp(-b * i1)
            result = a * math.exp(-b * max_epochs) + c
        except (ArithmeticError, ValueError):
            return ema[-1]
    return result if math.isfinite(result) else ema[-1]


def _neg_log10(value: float) -> float:
    return -math.log10(value) if value > 0 else math.nan


def _predict_log10(losses: Sequence[float], max_epochs: int) -> float:
    y = [float(v) for v in losses]
    n = len(y)
    if n < 10:
        return _neg_log10(y[-1])
    if any(not v > 0 for v in y):
        return math.nan  # ln of a non-positive loss: the seed's numpy gives NaN as well
    # np.polyfit(t, ln(y), 1) is ordinary least squares of a line; t = 0..n-1.
    logs = [math.log(v) for v in y]
    t_mean = (n - 1) / 2
    l_mean = math.fsum(logs) / n
    sxx = math.fsum((t - t_mean) ** 2 for t in range(n))
    sxy = math.fsum((t - t_mean) * (v - l_mean) for t, v in enumerate(logs))
    slope = sxy / sxx
    intercept = l_mean - slope * t_mean
    return -(intercept + slope * max_epochs) / math.log(10)


class PFLPruner(BasePruner):
    """Prune a trial whose predicted final loss is worse than that of every top-k trial.

    Args:
        n_startup_trials: keep every trial until this many trials have finished (complete,
            pruned or failed: all of them count, as in the seed).
        n_warmup_epochs: keep a trial while its current seed has at most this many values.
        top_k: how many finished trials, best by average last loss, set the bar.
        target_epoch: the epoch whose loss is predicted.
        variant: ``raw`` (HEAD) or ``log10`` (v2025); ``head``/``v2025`` are aliases.
        seed_stride: steps ``k * seed_stride + epoch`` belong to seed ``k``; 0 means every step
            belongs to one seed.
    """

    def __init__(
        self,
        n_startup_trials: int = 10,
        n_warmup_epochs: int = 10,
        top_k: int = 10,
        target_epoch: int = 50,
        *,
        variant: str = "raw",
        seed_stride: int = 1000,
    ) -> None:
        for name, value, minimum in (
            ("n_startup_trials", n_startup_trials, 0),
            ("n_warmup_epochs", n_warmup_epochs, 0),
            ("top_k", top_k, 1),
            ("target_epoch", target_epoch, 0),
            ("seed_stride", seed_stride, 0),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
        if variant not in VARIANTS:
            raise ValueError(
                f"variant must be raw (HEAD: raw-loss prediction, prune if worse than the top-k "
                f"maximum) or log10 (v2025: -log10 prediction), got {variant!r}"
            )
        self.n_startup_trials = n_startup_trials
        self.n_warmup_epochs = n_warmup_epochs
        self.top_k = top_k
        self.target_epoch = target_epoch
        self.variant: Variant = VARIANTS[variant]
        self.seed_stride = seed_stride
        # Finished trials never change, so their (last loss, PFL) pair is cached by trial id;
        # this is a cache of stored data, not state: a fresh pruner decides the same way.
        self._pairs: dict[tuple[int, int], tuple[float, float]] = {}

    # ------------------------------------------------------------------ pieces

    def _seed_of(self, step: int) -> int:
        return step // self.seed_stride if self.seed_stride else 0

    def seed_losses(self, intermediate_values: Mapping[int, float]) -> list[list[float]]:
        """The values of each seed in step order, seeds in the order of their first step."""
        by_seed: dict[int, list[float]] = {}
        for step in sorted(intermediate_values):
            by_seed.setdefault(self._seed_of(step), []).append(float(intermediate_values[step]))
        return [by_seed[seed] for seed in sorted(by_seed)]

    def predict(self, losses: Sequence[float]) -> float:
        """The seed's ``_predict_final_loss``: fewer than 2 values give the worst value."""
        worst = math.inf if self.variant == "raw" else -math.inf
        if len(losses) < 2:
            return worst
        try:
            return predict_final_loss(losses, self.target_epoch, variant=self.variant)
        except (ArithmeticError, ValueError):
            return worst

    def pair(self, intermediate_values: Mapping[int, float]) -> tuple[float, float]:
        """``(average last loss, average PFL)`` over a finished trial's seeds."""
        seeds = self.seed_losses(intermediate_values)
        if not seeds:
            return (math.inf, -math.inf)
        last = sum(values[-1] for values in seeds) / len(seeds)
        pfl = sum(self.predict(values) for values in seeds) / len(seeds)
        return (last, pfl)

    def top_pairs(
        self, study: Study, exclude: int | None = None
    ) -> tuple[int, list[tuple[float, float]]]:
        """How many trials have finished, and the top-k pairs the seed's in-memory list would
        hold after seeing them finish in this order."""
        trials = [
            t for t in study.get_trials(deepcopy=False, states=_FINISHED) if t.number != exclude
        ]
        trials.sort(key=lambda t: (t.datetime_complete or t.datetime_start or 0, t.number))
        storage_key = id(study._storage)
        top: list[tuple[float, float]] = []
        for trial in trials:
            key = (storage_key, trial._trial_id)
            pair = self._pairs.get(key)
            if pair is None:
                pair = self._pairs[key] = self.pair(trial.intermediate_values)
            if len(top) < self.top_k or pair[0] < top[-1][0]:
                top.insert(bisect.bisect_left(top, pair), pair)
                del top[self.top_k :]
        return len(trials), top

    # ------------------------------------------------------------------ decision

    def prune(self, study: Study, trial: FrozenTrial) -> bool:
        values = trial.intermediate_values
        if not values:
            return False
        seeds = self.seed_losses(values)
        if any(not math.isfinite(losses[-1]) for losses in seeds):
            return True  # before startup and warm-up, as in the seed
        current = self._seed_of(max(values))
        epochs = sum(1 for step in values if self._seed_of(step) == current)
        if epochs <= self.n_warmup_epochs:
            return False
        finished, top = self.top_pairs(study, exclude=trial.number)
        if finished < self.n_startup_trials or not top:
            return False
        current_pfl = sum(self.predict(losses) for losses in seeds) / len(seeds)
        if self.variant == "raw":
            return current_pfl > max(p for _, p in top)
        return current_pfl < min(p for _, p in top)


def check_direction(directions: Sequence[str]) -> None:
    """PFL predicts a loss: it needs a single objective to minimize."""
    if list(directions) != ["minimize"]:
        raise ValueError(
            "the pfl pruner predicts a loss, so it needs direction: minimize "
            f"(got directions {list(directions)}); use median or asha for this study"
        )


class CappedPruner(BasePruner):
    """Ray Tune's ASHA places no rung at or beyond ``max_t``: wrap a pruner so that it never
    prunes a trial whose last step is ``>= max_t`` (such a trial is finishing, not failing)."""

    def __init__(self, wrapped: BasePruner, max_t: int) -> None:
        if isinstance(max_t, bool) or not isinstance(max_t, int) or max_t < 1:
            raise ValueError(f"max_t must be an integer >= 1, got {max_t!r}")
        self.wrapped = wrapped
        self.max_t = max_t

    def prune(self, study: Study, trial: FrozenTrial) -> bool:
        step = trial.last_step
        if step is not None and step >= self.max_t:
            return False
        return bool(self.wrapped.prune(study, trial))
