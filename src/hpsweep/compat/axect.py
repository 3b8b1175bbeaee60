"""Axect/pytorch_template's ``OptimizeConfig`` and ``PFLPruner``, on hpsweep.

A project built from the template changes two imports and keeps its ``main.py``::

    from hpsweep.compat.axect import OptimizeConfig   # was: from config import OptimizeConfig
    from hpsweep.compat.axect import PFLPruner        # was: from pruner import PFLPruner

``OptimizeConfig.from_yaml("configs/optimize_template.yaml")``, ``create_pruner()``,
``create_study(project=f"{project}_Opt")``, ``suggest_params(trial)`` and the pruner's
``register_trial / report(trial_id, seed, epoch, value) / should_prune() / complete_trial``
protocol work as in the template (HEAD and v2025), with the differences listed in
docs/coming-from-optuna-template.md: the file is checked (one line naming file, key and fix),
``seed`` seeds the sampler, the PFL pruner's state lives in the study (so it survives a resume),
and ``pruner.kwargs.variant`` chooses HEAD's (``raw``, the default) or v2025's (``log10``)
semantics.

Without any ``main.py``, hpsweep runs the file itself: ``hpsweep run optimize_template.yaml
--set run_config=run_template.yaml --objective train:train`` (:func:`cli_run`), or from Python
:func:`run_optimize`; the objective gets the run config with the trial's params merged in.

Imports only the standard library and :mod:`hpsweep.client` at import time (trials import it);
optuna and the config machinery are imported by the functions that need them.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import asdict
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any

from hpsweep import client
from hpsweep._errors import ConfigError

if TYPE_CHECKING:
    import optuna

    from hpsweep._api import StudyResult
    from hpsweep._config import SweepConfig
    from hpsweep._controller import RunSummary
    from hpsweep._progress import Progress
    from hpsweep.dialects._axect import AxectPlan
    from hpsweep.dialects._axect import OptimizeSpec
    from hpsweep.engine._pfl import PFLPruner as EnginePFL

__all__ = [
    "OptimizeConfig",
    "PFLPruner",
    "best_trial_text",
    "cli_run",
    "gen_group_name",
    "group_name",
    "run_optimize",
]

Objective = Callable[[dict[str, Any]], object]


# ----------------------------------------------------------------------------- OptimizeConfig


@dataclass
class OptimizeConfig:
    """The template's ``OptimizeConfig``: the fields of ``optimize_template.yaml``.

    Constructing one checks it: a malformed config raises :class:`~hpsweep.ConfigError` with one
    line naming the key and the fix (the template raised ``TypeError`` or failed later)."""

    study_name: str
    trials: int
    seed: int
    metric: str
    direction: str
    sampler: dict[str, Any] = field(default_factory=dict)
    pruner: dict[str, Any] = field(default_factory=dict)
    search_space: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.spec()
        # The PFL pruners this config made, and the study they decide for: main.py creates the
        # pruner before the study, so whichever comes second connects them.
        self._pfl_pruners: list[PFLPruner] = []
        self._study: optuna.Study | None = None

    @classmethod
    def from_yaml(cls, path: str | Path) -> OptimizeConfig:
        """Read ``path`` (PyYAML typing; duplicate and unknown keys are errors naming the file)."""
        from hpsweep.dialects._axect import read_optimize_file

        return cls(**read_optimize_file(path))

    def to_yaml(self, path: str | Path) -> None:
        """Write the config in key order; floats keep a ``.`` (``1.0e-05``), so PyYAML reads
        them back as floats."""
        import yaml

        with open(path, "w", encoding="utf-8") as file:
            yaml.safe_dump(asdict(self), file, sort_keys=False)

    def spec(self) -> OptimizeSpec:
        """The config, checked and described in hpsweep's terms."""
        from hpsweep.dialects._axect import check_optimize_config

        return check_optimize_config(asdict(self), source=None)

    def create_sampler(self) -> optuna.samplers.BaseSampler:
        """``sampler.name`` (a dotted path, or an hpsweep name such as ``tpe``) built with
        ``sampler.kwargs``; a GridSampler gets :meth:`grid_search_space`, and ``seed`` seeds the
        sampler unless its kwargs do. ``self.sampler`` is not modified."""
        from hpsweep.engine import make_sampler

        spec = self.spec()
        return make_sampler(
            spec.sampler,
            spec.sampler_kwargs,
            seed=None if "seed" in spec.sampler_kwargs else spec.seed,
            space=spec.space,
            directions=(spec.direction,),
        )

    def create_pruner(self) -> PFLPruner | optuna.pruners.BasePruner | None:
        """None when the config names no pruner; :class:`PFLPruner` for ``*.PFLPruner`` (the
        template's protocol); otherwise the Optuna pruner the name gives."""
        from hpsweep.engine import make_pruner

        spec = self.spec()
        if spec.pruner is None:
            return None
        if spec.pruner == "pfl":
            pruner = PFLPruner(**spec.pruner_kwargs)
            self._pfl_pruners.append(pruner)
            if self._study is not None:
                pruner.bind(self._study)
            return pruner
        built: optuna.pruners.BasePruner = make_pruner(
            spec.pruner, spec.pruner_kwargs, directions=(spec.direction,)
        )
        return built

    def create_study(self, project: str) -> optuna.Study:
        """Create or load the study ``study_name`` in ``sqlite:///{project}.db`` (the template
        passes ``project=f"{project}_Opt"``). Unlike the template, the configured pruner is
        also the study's, so ``trial.should_prune()`` agrees with it; no pruner means none."""
        import optuna

        from hpsweep.engine import make_pruner

        spec = self.spec()
        study = optuna.create_study(
            study_name=spec.study_name,
            storage=f"sqlite:///{project}.db",
            sampler=self.create_sampler(),
            pruner=make_pruner(
                spec.pruner or "none", spec.pruner_kwargs, directions=(spec.direction,)
            ),
            direction="maximize" if spec.direction == "maximize" else "minimize",
            load_if_exists=True,
        )
        self._study = study
        for pruner in self._pfl_pruners:
            pruner.bind(study)
        return study

    def suggest_params(self, trial: optuna.Trial) -> dict[str, dict[str, Any]]:
        """``{category: {param: value}}`` for ``trial``, suggested under the Optuna names
        ``f"{category}_{param}"``: what deep-merges into a run config."""
        from hpsweep.dialects._axect import nest_params
        from hpsweep.engine import suggest

        spec = self.spec()
        return nest_params(suggest(trial, spec.space), spec)

    def grid_search_space(self) -> dict[str, list[Any]]:
        """``{f"{category}_{param}": choices}``; a non-categorical param raises
        ``ValueError("Unsupported grid search space type: ...")`` as in the template."""
        from hpsweep.space import Choice

        spec = self.spec()
        grid: dict[str, list[Any]] = {}
        for param in spec.params:
            if param.kind != "categorical":
                raise ValueError(f"Unsupported grid search space type: {param.kind}")
            choice = spec.space[param.name]
            assert isinstance(choice, Choice)
            grid[param.name] = list(choice.choices)
        return grid


# ----------------------------------------------------------------------------- PFLPruner


class PFLPruner:
    """The template's ``PFLPruner`` protocol, deciding with hpsweep's ``pfl`` pruner.

    ``register_trial(n)``, ``report(n, seed, epoch, value)`` after every validation epoch of
    every seed, ``should_prune()`` and ``complete_trial(n)`` behave as in the template; the values
    are stored as the trial's intermediate values (seed ``k``'s ``i``-th value at step
    ``k * seed_stride + i``; the template ignores ``epoch`` too), and every decision is derived
    from the study's stored trials, so it is the same after a resume and in another process.
    ``variant`` is ``raw`` (HEAD, the default) or ``log10`` (v2025). The pruner decides for the
    study it is bound to: :meth:`OptimizeConfig.create_study` binds the pruners the same config
    created; :meth:`bind` binds one to any other study.
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
        from hpsweep.engine._pfl import PFLPruner as Engine

        self.pruner: EnginePFL = Engine(
            n_startup_trials,
            n_warmup_epochs,
            top_k,
            target_epoch,
            variant=variant,
            seed_stride=seed_stride,
        )
        self._study: optuna.Study | None = None
        self._current: int | None = None
        self._seeds: dict[int, dict[Any, int]] = {}
        self._counts: dict[tuple[int, int], int] = {}

    def bind(self, study: optuna.Study) -> None:
        """Decide for the trials of ``study``."""
        self._study = study

    def register_trial(self, trial_id: int) -> None:
        """Trial number ``trial_id`` starts (``run()`` calls this first)."""
        self._seeds[trial_id] = {}
        self._current = trial_id

    def report(self, trial_id: int, seed: Any, epoch: int, value: float) -> None:
        """Store the validation loss of ``seed``'s next epoch for trial ``trial_id``."""
        study = self._bound()
        seeds = self._seeds.setdefault(trial_id, {})
        index = seeds.setdefault(seed, len(seeds))
        count = self._counts.get((trial_id, index), 0)
        self._counts[(trial_id, index)] = count + 1
        stride = self.pruner.seed_stride
        if stride:
            step = index * stride + count
        else:  # one series: the trial's values in the order reported
            step = sum(n for (number, _), n in self._counts.items() if number == trial_id) - 1
        storage = study._storage
        storage.set_trial_intermediate_value(self._trial_id(study, trial_id), step, float(value))
        self._current = trial_id

    def should_prune(self) -> bool:
        """Whether the trial that reported last should stop (raise ``optuna.TrialPruned``)."""
        if self._current is None:
            return False
        study = self._bound()
        trial = study._storage.get_trial(self._trial_id(study, self._current))
        return bool(self.pruner.prune(study, trial))

    def complete_trial(self, trial_id: int) -> None:
        """Trial ``trial_id`` is over (complete, pruned or crashed). Nothing is kept in memory:
        the study's stored trials are the pruner's state."""
        self._seeds.pop(trial_id, None)
        for key in [key for key in self._counts if key[0] == trial_id]:
            del self._counts[key]
        if self._current == trial_id:
            self._current = None

    def _bound(self) -> optuna.Study:
        if self._study is None:
            raise ConfigError(
                "PFLPruner is not bound to a study: create the study with the same "
                "OptimizeConfig's create_study(), or call pruner.bind(study)"
            )
        return self._study

    @staticmethod
    def _trial_id(study: optuna.Study, number: int) -> int:
        storage = study._storage
        trial_id: int = storage.get_trial_id_from_study_id_trial_number(study._study_id, number)
        return trial_id


# ----------------------------------------------------------------------------- group names


_GROUP_KEYS = (
    "net",
    "optimizer",
    "scheduler",
    "net_config",
    "optimizer_config",
    "scheduler_config",
)


def gen_group_name(config: Mapping[str, Any]) -> str:
    """The template's ``RunConfig.gen_group_name()`` of a run config mapping, e.g.
    ``MLP_n_64_l_4_SP_l_1.0000e-03_e_1.0000e-10_EHLRS_t_50_u_250_m_1.0000e-05``."""
    missing = [key for key in _GROUP_KEYS if key not in config]
    if missing:
        raise ConfigError(
            f"the run config has no {missing[0]!r}; a group name needs {', '.join(_GROUP_KEYS)}"
        )

    def items(key: str) -> str:
        return "".join(
            f"_{k[0]}_{v:.4e}" if isinstance(v, float) and key != "net_config" else f"_{k[0]}_{v}"
            for k, v in dict(config[key]).items()
        )

    return (
        f"{str(config['net']).split('.')[-1]}{items('net_config')}"
        f"_{_abbreviate(str(config['optimizer']).split('.')[-1])}{items('optimizer_config')}"
        f"_{_abbreviate(str(config['scheduler']).split('.')[-1])}{items('scheduler_config')}"
    )


def _abbreviate(name: str) -> str:
    return "".join(c for c in name if c.isupper())


def group_name(config: Mapping[str, Any]) -> str:
    """``gen_group_name(config) + "[N]"`` for the running trial ``N``: the name the template's
    objective gives the trial (its run directory is ``runs/{project}/{group_name}``)."""
    return f"{gen_group_name(config)}[{client.trial_number()}]"


def best_trial_text(value: float, params: Mapping[str, Any], path: str | None) -> str:
    """The template's closing printout (note the space after ``Params:``)::

    Best trial:
      Value: 0.0080
      Params:
        net_config_nodes: 128
      Path: runs/MyProject_Opt/MLP_n_128_...[2]
    """
    lines = ["Best trial:", f"  Value: {value}", "  Params: "]
    lines.extend(f"    {key}: {item}" for key, item in params.items())
    if path is not None:
        lines.append(f"  Path: {path}")
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- hpsweep runs


@dataclass(frozen=True)
class _Best:
    value: float
    params: dict[str, Any]
    path: str | None


def run_optimize(
    optimize_config: str | Path,
    objective: Objective,
    *,
    run_config: str | Path | None = None,
    project: str | None = None,
    storage: str | None = None,
    jobs: int | None = None,
    progress: Progress | None = None,
) -> StudyResult:
    """Run ``trials`` more trials of the optimize config at ``optimize_config`` with hpsweep,
    ``objective(config)`` getting the run config (``run_config``, a YAML path) with the trial's
    params deep-merged in and ``project`` set to ``{project}_Opt``. The store is
    ``sqlite:///{project}_Opt.db`` (``project`` defaults to the run config's), else ``storage``
    or hpsweep's default. Prints the template's "Best trial:" block; returns the study."""
    from hpsweep._api import _result_of
    from hpsweep.dialects._axect import axect_plan

    sets = [f"run_config={run_config}"] if run_config is not None else []
    if project is not None:
        sets.append(f"project={project}")
    plan = axect_plan(optimize_config, sets=sets, flags={"storage": storage, "jobs": jobs})
    results: list[StudyResult] = []
    summary, best = _run(
        plan,
        objective,
        progress=progress,
        handle_signals=False,
        on_done=lambda study: results.append(_result_of(study, plan.config.storage or "")),
    )
    _print_best(best)
    return dataclasses.replace(results[0], exit_code=summary.exit_code)


def cli_run(
    path: str,
    *,
    sets: Sequence[str],
    flags: Mapping[str, Any],
    cli_space: Sequence[str],
    quiet: bool,
) -> int:
    """``hpsweep run optimize_template.yaml ...``: what :func:`run_optimize` does, with the
    command line's flags (``--objective``, a command after ``--``, ``-n`` as a study total, ...)
    and ``--set project=NAME`` / ``--set run_config=PATH``. Returns the exit code."""
    from hpsweep._controller import run_summary_line
    from hpsweep._live import make_progress
    from hpsweep._session import load_objective
    from hpsweep.dialects._axect import axect_plan

    plan = axect_plan(path, sets=sets, flags=flags, cli_space=cli_space)
    for note in plan.spec.notes:
        print(f"hpsweep: note: {note}", file=sys.stderr)
    objective = None
    if plan.config.objective is not None:
        objective = load_objective(plan.config.objective)
    summary, best = _run(plan, objective, progress=make_progress(quiet=quiet), handle_signals=True)
    print(f"hpsweep: {run_summary_line(summary)}", file=sys.stderr)
    _print_best(best)
    return summary.exit_code


def _run(
    plan: AxectPlan,
    objective: Objective | None,
    *,
    progress: Progress | None,
    handle_signals: bool,
    on_done: Callable[[optuna.Study], None] | None = None,
) -> tuple[RunSummary, _Best | None]:
    """Run the plan: ``trials`` more trials unless a study total was given, a Python objective
    getting the nested run config."""
    from hpsweep._session import execute

    config = plan.config
    if config.n_trials is None:
        config = dataclasses.replace(config, n_trials=_trials_so_far(config) + plan.spec.trials)
    best: list[_Best | None] = []

    def done(study: optuna.Study) -> None:
        best.append(_best_of(study, plan))
        if on_done is not None:
            on_done(study)

    summary = execute(
        config,
        objective=_nesting(objective, plan) if objective is not None else None,
        progress=progress,
        handle_signals=handle_signals,
        on_done=done,
    )
    return summary, best[0]


def _trials_so_far(config: SweepConfig) -> int:
    """How many trials of the study count toward its total now (none if it does not exist).
    Read-only: a run that then fails on bad input must leave no store behind."""
    from hpsweep._errors import StoreNotFound
    from hpsweep.engine import open_store
    from hpsweep.engine._study import counts_toward_budget
    from hpsweep.engine._study import find_study

    try:
        store = open_store(config.storage, study=config.study, readonly=True)
    except StoreNotFound:
        return 0
    try:
        study_id = find_study(store, config.study)
        if study_id is None:
            return 0
        trials = store.storage.get_all_trials(study_id, deepcopy=False)
        return sum(1 for trial in trials if counts_toward_budget(trial))
    finally:
        store.close()


def _nesting(objective: Objective, plan: AxectPlan) -> Objective:
    """``objective`` called with the run config and the trial's params nested into it."""
    from hpsweep.dialects._axect import nest_params

    names = {param.name for param in plan.spec.params}

    def nested(params: dict[str, Any]) -> object:
        base = {key: value for key, value in params.items() if key not in names}
        return objective(nest_params(params, plan.spec, base))

    return nested


def _best_of(study: optuna.Study, plan: AxectPlan) -> _Best | None:
    from hpsweep.dialects._axect import nest_params

    try:
        trial = study.best_trial
    except ValueError:
        return None
    path = None
    if plan.project is not None and plan.run_config is not None:
        config = nest_params(trial.params, plan.spec, plan.run_config)
        if all(key in config for key in _GROUP_KEYS):
            path = f"runs/{plan.project}_Opt/{gen_group_name(config)}[{trial.number}]"
    value = trial.value
    assert value is not None  # a single-objective study: the template's direction is one word
    return _Best(value, dict(trial.params), path)


def _print_best(best: _Best | None) -> None:
    if best is None:
        print("hpsweep: no trial has completed yet, so there is no best trial", file=sys.stderr)
        return
    sys.stdout.write(best_trial_text(best.value, best.params, best.path))
    sys.stdout.flush()
