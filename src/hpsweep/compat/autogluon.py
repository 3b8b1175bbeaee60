"""AutoGluon MultiModal's hyperparameter tuning, for any training function, on hpsweep.

An AutoGluon HPO call keeps its two dicts::

    from hpsweep import tune                       # or: from ray import tune (Ray installed)
    from hpsweep.compat.autogluon import fit, space

    best = fit(
        train,                                     # train(config): one trial
        hyperparameters={
            "optim.lr": tune.loguniform(1e-4, 1e-1),
            "model.hidden": space.Int(16, 64, default=32),   # AutoGluon space: default first
            "optim.max_epochs": 9,
        },
        hyperparameter_tune_kwargs={"searcher": "bayes", "scheduler": "ASHA", "num_trials": 8},
        eval_metric="accuracy",
    )

``train(config)`` gets the flat dotted-key config (``config["optim.lr"]``), writes a checkpoint
into :func:`checkpoint_dir` ``(epoch)`` and reports ``hpsweep.report(val_accuracy, step=epoch)``
after every validation epoch, as AutoGluon's Lightning callback does for ``val_<metric>``. A
trial the ASHA scheduler stops ends inside that ``report`` call, as under Ray. ``fit`` returns
the best trial by its last reported value, with its checkpoints (at most ``num_to_keep`` per
trial, the best ones) listed in ``best_k_models.yaml``. What differs from AutoGluon, and why, is
in docs/coming-from-autogluon.md.

Imports only the standard library and :mod:`hpsweep.client` at import time.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import re
import shutil
from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any

from hpsweep import client
from hpsweep._errors import SpaceError

if TYPE_CHECKING:
    from hpsweep._api import StudyResult
    from hpsweep.dialects._autogluon import AutogluonPlan
    from hpsweep.results import TrialRecord

__all__ = [
    "BEST_K_MODELS_FILE",
    "Bool",
    "Categorical",
    "FitResult",
    "Int",
    "Real",
    "Space",
    "checkpoint_dir",
    "fit",
    "space",
]

BEST_K_MODELS_FILE = "best_k_models.yaml"
"""Written into the best trial's directory: ``{checkpoint path: score}``, best first."""
_CHECKPOINT = re.compile(r"checkpoint_(\d+)")
_TRIAL_DIR = re.compile(r"trial-(\d+)")

# ----------------------------------------------------------------------------- search spaces


class Space:
    """AutoGluon's search-space base class: ``default`` is tried in the first trial."""

    def __init__(self, default: Any) -> None:
        self.default = default


class Categorical(Space):
    """One of ``data``; the first is the default (``Categorical("adam", "sgd")``)."""

    def __init__(self, *data: Any) -> None:
        if not data:
            raise SpaceError("Categorical needs at least one value, e.g. Categorical('a', 'b')")
        self.data = list(data)
        super().__init__(self.data[0])

    def __repr__(self) -> str:
        return f"Categorical{self.data}"


class Real(Space):
    """A float in ``[lower, upper]``, log-scaled with ``log=True``; default ``lower``."""

    def __init__(
        self, lower: float, upper: float, default: float | None = None, log: bool = False
    ) -> None:
        if log and lower <= 0:
            raise SpaceError(f"Real: lower must be greater than 0 when log=True, got {lower}")
        if lower >= upper:
            raise SpaceError(f"Real: lower must be less than upper, got {lower} and {upper}")
        super().__init__(lower if default is None else default)
        self.lower, self.upper, self.log = lower, upper, log

    def __repr__(self) -> str:
        return f"Real: lower={self.lower}, upper={self.upper}"


class Int(Space):
    """An integer in ``[lower, upper]``, **both included**; default ``lower``."""

    def __init__(self, lower: int, upper: int, default: int | None = None) -> None:
        super().__init__(lower if default is None else default)
        self.lower, self.upper = lower, upper

    def __repr__(self) -> str:
        return f"Int: lower={self.lower}, upper={self.upper}"


class Bool(Int):
    """AutoGluon's ``Bool()``: ``Int(0, 1)``, so the trial sees 0 or 1 (default 0)."""

    def __init__(self) -> None:
        super().__init__(0, 1)


class space:  # noqa: N801 - stands in for AutoGluon's `space` module
    """``from hpsweep.compat.autogluon import space`` replaces ``from autogluon.common import
    space``: ``space.Real``, ``space.Int``, ``space.Categorical``, ``space.Bool``."""

    Space = Space
    Categorical = Categorical
    Real = Real
    Int = Int
    Bool = Bool


# ----------------------------------------------------------------------------- the trial side


def checkpoint_dir(step: int) -> Path:
    """The directory for the checkpoint of the validation reported as ``step`` (created; Ray's
    ``checkpoint_000003`` naming). Save into it, then ``hpsweep.report(value, step=step)``."""
    root = client.trial_dir()
    if root is None:
        raise RuntimeError("checkpoint_dir() works inside a trial that fit() runs")
    directory = root / f"checkpoint_{step:06d}"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


class _Trial:
    """The channel ``train`` talks to: forwards to the controller's, gives the trial its
    directory, keeps its best ``num_to_keep`` checkpoints, and ends the trial inside ``report``
    when the scheduler stops it (as Ray ends a function trainable)."""

    def __init__(self, outer: client.Channel, directory: Path, sign: float, keep: int) -> None:
        self.params = outer.params
        self.trial_dir: Path | None = directory
        self.number = outer.number
        self.last: float | None = None
        self._outer = outer
        self._sign = sign
        self._keep = keep
        self._reports = 0
        self._checkpoints: list[tuple[bool, float, int, Path]] = []

    def report(self, value: float, step: int | None) -> None:
        self._reports += 1
        step = self._reports if step is None else step  # Ray's training_iteration counts from 1
        self._outer.report(value, step)
        self.last = float(value)
        assert self.trial_dir is not None
        checkpoint = self.trial_dir / f"checkpoint_{step:06d}"
        if checkpoint.is_dir():
            self._retain(float(value), step, checkpoint)
        if self._outer.should_prune():
            raise client.TrialPruned()

    def _retain(self, value: float, step: int, checkpoint: Path) -> None:
        """Keep the best ``num_to_keep`` checkpoints by the metric's direction (AutoGluon gives
        Ray no order, so Ray keeps the highest scores even of a loss); a later one wins a tie."""
        nan = math.isnan(value)
        self._checkpoints.append((nan, 0.0 if nan else self._sign * value, -step, checkpoint))
        self._checkpoints.sort()
        for *_, dropped in self._checkpoints[self._keep :]:
            shutil.rmtree(dropped, ignore_errors=True)
        del self._checkpoints[self._keep :]

    def should_prune(self) -> bool:
        return self._outer.should_prune()

    def report_final(self, result: object) -> None:
        self._outer.report_final(result)


# ----------------------------------------------------------------------------- fit


@dataclass(frozen=True)
class FitResult:
    """The best trial of :func:`fit`."""

    number: int
    config: dict[str, Any]
    """Its flat dotted-key config, as ``train`` received it."""
    metric: str
    """``val_<eval_metric>``."""
    value: float
    """Its last reported value (AutoGluon, through Ray, compares trials by their last report)."""
    path: Path
    """Its trial directory."""
    checkpoints: tuple[Path, ...]
    """Its kept checkpoint directories, best first (as in ``best_k_models.yaml``)."""
    study: StudyResult


def fit(
    train: Callable[[dict[str, Any]], object],
    *,
    hyperparameters: Mapping[str, Any],
    hyperparameter_tune_kwargs: Mapping[str, Any] | str | None = None,
    save_path: str | Path | None = None,
    time_limit: float | None = None,
    eval_metric: str = "accuracy",
    mode: str | None = None,
) -> FitResult:
    """Tune ``train`` the way ``MultiModalPredictor.fit(hyperparameters=...,
    hyperparameter_tune_kwargs=...)`` tunes its model.

    Trials run one at a time in this process, each in ``<save_path>/trial-<N>/`` (default
    ``save_path``: ``AutogluonModels/ag-<timestamp>``); the study is
    ``<save_path>/hpsweep.journal``, so ``hpsweep info --storage <save_path>/hpsweep.journal``
    shows it and calling ``fit`` again with the same ``save_path`` resumes it (``num_trials``
    is its total). After the study the other trials' directories are removed, as AutoGluon
    does. ``eval_metric`` names what the trials report (``val_<eval_metric>``); ``mode``
    (``min``/``max``) defaults from the metric. Raises AutoGluon's ValueErrors when there is
    no search space or no trial reported a finite value."""
    from hpsweep._api import run_config
    from hpsweep.dialects._autogluon import autogluon_plan

    plan = autogluon_plan(
        hyperparameters,
        hyperparameter_tune_kwargs,
        eval_metric=eval_metric,
        mode=mode,
        time_limit=time_limit,
    )
    root = Path(save_path or f"AutogluonModels/ag-{dt.datetime.now():%Y%m%d_%H%M%S}").absolute()
    root.mkdir(parents=True, exist_ok=True)
    config = dataclasses.replace(
        plan.config, study=root.name or "autogluon", storage=str(root / "hpsweep.journal")
    )
    result = run_config(config, objective=_objective(train, plan, root), handle_signals=False)
    return _best(result, plan, root)


def _objective(
    train: Callable[[dict[str, Any]], object], plan: AutogluonPlan, root: Path
) -> Callable[[dict[str, Any]], object]:
    from hpsweep.dialects._autogluon import finite
    from hpsweep.dialects._autogluon import flat_config
    from hpsweep.dialects._autogluon import sampled_values

    sign = 1.0 if plan.mode == "min" else -1.0

    def objective(params: dict[str, Any]) -> object:
        outer = client._current()  # the controller's channel for this trial's thread
        directory = root / f"trial-{outer.number}"
        directory.mkdir(parents=True, exist_ok=True)
        trial = _Trial(outer, directory, sign, plan.num_to_keep)
        with client.bound(trial):
            sampled = sampled_values(params, plan.searched)
            returned = train(flat_config(sampled, plan.hyperparameters))
        if trial.last is not None:
            return trial.last
        if finite(returned):
            return returned
        raise ValueError(
            f"train() reported no {plan.metric}: call hpsweep.report(value, step=epoch) after "
            "each validation"
        )

    return objective


def _last(record: TrialRecord) -> float | None:
    """The trial's last reported value (a complete trial's value is that, or what ``train``
    returned when it reported nothing), if it is a finite one."""
    value = None
    if record.state == "complete":
        value = record.value
    elif record.state == "pruned" and record.intermediate:
        value = record.intermediate[max(record.intermediate)]
    return value if value is not None and math.isfinite(value) else None


def _best(result: StudyResult, plan: AutogluonPlan, root: Path) -> FitResult:
    from hpsweep.dialects._autogluon import NO_BEST_TRIAL
    from hpsweep.dialects._autogluon import flat_config

    sign = 1.0 if plan.mode == "min" else -1.0
    scored = [(sign * last, r.number, r) for r in result.trials if (last := _last(r)) is not None]
    if not scored:
        raise ValueError(NO_BEST_TRIAL)
    _, _, record = min(scored, key=lambda item: item[:2])
    value = _last(record)
    assert value is not None
    path = root / f"trial-{record.number}"
    checkpoints = _checkpoints(path, record.intermediate, sign)
    _write_best_k(path, checkpoints)
    _remove_other_trials(root, record.number, [r.number for r in result.trials])
    return FitResult(
        number=record.number,
        config=flat_config(record.params, plan.hyperparameters),
        metric=plan.metric,
        value=value,
        path=path,
        checkpoints=tuple(checkpoint for checkpoint, _ in checkpoints),
        study=result,
    )


def _checkpoints(
    path: Path, intermediate: Mapping[int, float], sign: float
) -> list[tuple[Path, float]]:
    """The trial's checkpoint directories with the value reported for their step, best first."""
    found = []
    for entry in path.glob("checkpoint_*") if path.is_dir() else ():
        match = _CHECKPOINT.fullmatch(entry.name)
        if match and entry.is_dir() and int(match[1]) in intermediate:
            found.append((entry, intermediate[int(match[1])]))
    found.sort(key=lambda item: (math.isnan(item[1]), sign * item[1], item[0].name))
    return found


def _write_best_k(path: Path, checkpoints: Sequence[tuple[Path, float]]) -> None:
    import yaml

    path.mkdir(parents=True, exist_ok=True)
    scores = {str(checkpoint): score for checkpoint, score in checkpoints}
    (path / BEST_K_MODELS_FILE).write_text(
        yaml.safe_dump(scores, sort_keys=False, default_flow_style=False), encoding="utf-8"
    )


def _remove_other_trials(root: Path, best: int, numbers: Sequence[int]) -> None:
    """Remove the directories of the study's other trials: only ``trial-<N>`` of its own
    trials (AutoGluon removes every other directory whose name is not in the best trial's id)."""
    others = set(numbers) - {best}
    for entry in root.iterdir():
        match = _TRIAL_DIR.fullmatch(entry.name)
        if match and int(match[1]) in others and entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
