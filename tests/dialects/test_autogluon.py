"""AutoGluon MultiModal's HPO arguments: Ray Tune, hpsweep.tune and AutoGluon search spaces,
hyperparameter_tune_kwargs, and `hpsweep.compat.autogluon.fit` end to end (seed-systems.md §3,
§6 items 17-21)."""

from __future__ import annotations

import math
import re
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

import hpsweep
from hpsweep import client
from hpsweep import tune
from hpsweep._config import Algorithm
from hpsweep._errors import ConfigError
from hpsweep._errors import SpaceError
from hpsweep.compat.autogluon import BEST_K_MODELS_FILE
from hpsweep.compat.autogluon import checkpoint_dir
from hpsweep.compat.autogluon import fit
from hpsweep.compat.autogluon import space
from hpsweep.dialects._autogluon import NO_BEST_TRIAL
from hpsweep.dialects._autogluon import NO_SEARCH_SPACE
from hpsweep.dialects._autogluon import autogluon_plan
from hpsweep.space import Choice
from hpsweep.space import Float
from hpsweep.space import Int

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "autogluon"


def plan(hyperparameters: dict[str, Any], tune_kwargs: Any = None, **options: Any) -> Any:
    options.setdefault("eval_metric", "accuracy")
    return autogluon_plan(hyperparameters, tune_kwargs, **options)


# ------------------------------------------------------------------------ spaces


def test_hpsweep_tune_samples_what_ray_tune_samples() -> None:
    assert tune.uniform(0.0, 1.0) == Float(0.0, 1.0)
    assert tune.loguniform(1e-5, 1e-2) == Float(1e-5, 1e-2, log=True)
    assert tune.quniform(0.1, 1.0, 0.1) == Float(0.1, 1.0, step=0.1)
    assert tune.choice(["a", "b"]) == Choice(["a", "b"])
    assert tune.randint(5, 31) == Int(5, 30)  # upper excluded
    assert tune.lograndint(1, 100) == Int(1, 99, log=True)
    assert tune.qrandint(0, 10, 5) == Int(0, 10, step=5)  # upper included for q > 1
    assert tune.qrandint(3, 10, 1) == Int(3, 9)  # ... and excluded for q == 1, as in Ray
    assert tune.qrandint(1, 11, 3) == Int(3, 9, step=3)  # the multiples of q inside
    assert tune.qlograndint(1, 100, 1) == Int(1, 99, log=True)


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        (lambda: tune.randint(3, 3), r"tune\.randint\(3, 3\): upper is excluded"),
        (lambda: tune.qloguniform(1e-3, 1.0, 1e-3), r"Optuna cannot sample a log scale on a grid"),
        (lambda: tune.qlograndint(1, 100, 5), r"tune\.qlograndint\(1, 100, 5\): Optuna cannot"),
        (lambda: tune.quniform(0.05, 1.0, 0.1), r"lower=0\.05 is not a multiple of q=0\.1"),
        (lambda: tune.uniform(2.0, 1.0), r"tune\.uniform\(2\.0, 1\.0\): `low <= high` must hold"),
        (lambda: tune.choice([]), r"tune\.choice\(\[\]\): `choices` must not be empty"),
    ],
)
def test_hpsweep_tune_rejects_what_it_cannot_sample(call: Any, expected: str) -> None:
    with pytest.raises(SpaceError, match=expected):
        call()


def test_ray_tune_domains_are_read_as_ray_samples_them() -> None:
    ray_tune = pytest.importorskip("ray.tune")
    result = plan(
        {
            "a": ray_tune.uniform(0.0, 1.0),
            "b": ray_tune.loguniform(1e-4, 1e-1),
            "c": ray_tune.choice(["x", "y"]),
            "d": ray_tune.randint(1, 5),
            "e": ray_tune.qrandint(0, 20, 5),
            "f": ray_tune.quniform(0.5, 2.0, 0.5),
            "g": ray_tune.lograndint(1, 64),
            "h": ray_tune.qrandint(2, 8),
            "constant": 7,
        }
    ).config.space
    assert dict(result) == {
        "a": Float(0.0, 1.0),
        "b": Float(1e-4, 1e-1, log=True),
        "c": Choice(["x", "y"]),
        "d": Int(1, 4),
        "e": Int(0, 20, step=5),
        "f": Float(0.5, 2.0, step=0.5),
        "g": Int(1, 63, log=True),
        "h": Int(2, 7),
    }
    for domain, expected in (
        (ray_tune.randn(0.0, 1.0), r"hyperparameters\['x'\]: tune\.randn has no hpsweep"),
        (ray_tune.qloguniform(1e-3, 1.0, 1e-3), r"hyperparameters\['x'\]: tune\.qloguniform"),
        (ray_tune.sample_from(lambda config: 1), r"tune\.sample_from has no hpsweep counterpart"),
    ):
        with pytest.raises(SpaceError, match=expected):
            plan({"x": domain})


def test_autogluon_spaces_and_their_defaults_as_the_first_trial() -> None:
    result = plan(
        {
            "optim.lr": space.Real(1e-4, 1e-1, default=1e-2, log=True),
            "optim.momentum": space.Real(0.5, 0.9),
            "model.layers": space.Int(1, 4, default=2),
            "model.act": space.Categorical("relu", "tanh"),
            "model.bias": space.Bool(),
            "optim.max_epochs": 5,
        }
    )
    assert dict(result.config.space) == {
        "optim.lr": Float(1e-4, 1e-1, log=True),
        "optim.momentum": Float(0.5, 0.9),
        "model.layers": Int(1, 4),  # AutoGluon's Int includes its upper bound
        "model.act": Choice(["relu", "tanh"]),
        "model.bias": Int(0, 1),  # AutoGluon's Bool is Int(0, 1)
    }
    assert result.config.initial_points == (
        {
            "optim.lr": 1e-2,
            "optim.momentum": 0.5,
            "model.layers": 2,
            "model.act": "relu",
            "model.bias": 0,
        },
    )


def test_ray_and_hpsweep_domains_give_no_first_trial() -> None:
    assert plan({"lr": tune.loguniform(1e-4, 1e-1)}).config.initial_points == ()


def test_no_search_space_is_autogluons_value_error() -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(NO_SEARCH_SPACE)}$"):
        plan({"optim.lr": 0.01, "model.names": ["a", "b"]})
    assert NO_SEARCH_SPACE == (
        "Please provide a search space using `hyperparameters` in order to do hyperparameter tune"
    )
    with pytest.raises(ValueError, match="^Please provide hyperparameters as a dictionary"):
        plan("default_hpo")  # type: ignore[arg-type]


# ------------------------------------------------------------------------ tune kwargs


def test_tune_kwargs_map_to_samplers_pruners_and_budgets() -> None:
    space_ = {"lr": tune.uniform(0.0, 1.0)}
    default = plan(space_, {"searcher": "random", "scheduler": "FIFO"})
    assert default.config.sampler == Algorithm("random")
    assert default.config.pruner == Algorithm("none")
    assert (default.config.n_trials, default.config.timeout, default.num_to_keep) == (1, None, 3)
    assert default.config.directions == ("maximize",) and default.metric == "val_accuracy"
    asha = plan(space_, {"searcher": "bayes", "scheduler": "ASHA"}, time_limit=100)
    assert asha.config.sampler == Algorithm("tpe", {"n_startup_trials": 20})
    assert asha.config.pruner == Algorithm(
        "asha", {"min_resource": 1, "reduction_factor": 4, "max_t": 9999}
    )
    assert (asha.config.n_trials, asha.config.timeout) == (1000, 95.0)
    custom = plan(
        space_,
        {
            "searcher": "bayes",
            "scheduler": "asha",
            "num_trials": 7,
            "searcher_init_args": {"n_initial_points": 3, "random_state_seed": 5},
            "scheduler_init_args": {"max_t": 9, "grace_period": 2, "reduction_factor": 3},
        },
        eval_metric="rmse",
    )
    assert custom.config.sampler == Algorithm("tpe", {"n_startup_trials": 3})
    assert custom.config.seed == 5 and custom.config.n_trials == 7
    assert custom.config.pruner == Algorithm(
        "asha", {"min_resource": 2, "reduction_factor": 3, "max_t": 9}
    )
    assert custom.config.directions == ("minimize",) and custom.metric == "val_rmse"
    assert plan(space_, "bayes").config.sampler.name == "tpe"  # AutoGluon's presets


def test_num_to_keep_is_read_without_changing_the_callers_dict() -> None:
    kwargs = {"searcher": "random", "scheduler": "FIFO", "num_to_keep": 1}
    assert plan({"lr": tune.uniform(0.0, 1.0)}, kwargs).num_to_keep == 1
    assert kwargs["num_to_keep"] == 1


@pytest.mark.parametrize(
    ("hyperparameters", "kwargs", "expected"),
    [
        (
            {},
            {"searcher": "random", "schedular": "ASHA"},
            r"unknown key 'schedular'; did you mean 'scheduler'\?",
        ),
        ({}, {"searcher": "grid"}, r"searcher must be 'random' or 'bayes', got 'grid'"),
        ({}, {"scheduler": "PBT"}, r"scheduler must be 'FIFO' or 'ASHA', got 'PBT'"),
        ({}, {"num_trials": 0}, r"num_trials must be an integer >= 1, got 0"),
        ({}, {"num_to_keep": "3"}, r"num_to_keep must be an integer >= 1, got '3'"),
        (
            {},
            {"scheduler": "ASHA", "scheduler_init_args": {"max_T": 9}},
            r"ASHA takes no 'max_T'; did you mean 'max_t'\?",
        ),
        (
            {},
            {"scheduler": "FIFO", "scheduler_init_args": {"max_t": 9}},
            r"FIFO takes no arguments",
        ),
        (
            {},
            {"searcher": "random", "searcher_init_args": {"n_initial_points": 3}},
            r"random takes no 'n_initial_points'; it takes random_state",
        ),
        (
            {"lr": space.Real(0.1, 1.0, default=5.0)},
            None,
            r"hyperparameters\['lr'\]: default 5\.0 is not a value the space takes",
        ),
        ({"bad key": tune.uniform(0, 1)}, None, r"hyperparameters: 'bad key' cannot name"),
        ({"x": {"grid_search": [1, 2]}}, None, r"tune\.grid_search has no hpsweep counterpart"),
        (
            {"model": tune.choice([1, 2]), "model.depth": tune.choice([1, 2])},
            None,
            r"'model' and 'model\.depth' are both searched",
        ),
    ],
)
def test_malformed_arguments_fail_in_one_line_naming_the_key(
    hyperparameters: dict[str, Any], kwargs: Any, expected: str
) -> None:
    hyperparameters = hyperparameters or {"lr": tune.uniform(0.0, 1.0)}
    with pytest.raises(ConfigError) as error:
        plan(hyperparameters, kwargs)
    assert "\n" not in str(error.value)
    assert re.search(expected, str(error.value)), str(error.value)


def test_an_unknown_metric_needs_a_mode() -> None:
    with pytest.raises(ConfigError, match="pass mode='min' or mode='max'"):
        plan({"lr": tune.uniform(0.0, 1.0)}, eval_metric="my_score")
    assert plan({"lr": tune.uniform(0.0, 1.0)}, eval_metric="my_score", mode="min").mode == "min"


# ------------------------------------------------------------------------ fit


def test_the_example_runs_end_to_end(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sys.path.insert(0, str(EXAMPLE))
    try:
        import tune_mlp
    finally:
        sys.path.remove(str(EXAMPLE))
    kwargs = dict(tune_mlp.HYPERPARAMETER_TUNE_KWARGS)
    best = tune_mlp.main("models")
    assert tune_mlp.HYPERPARAMETER_TUNE_KWARGS == kwargs  # num_to_keep was not popped
    save = workdir / "models"
    assert best.path == save / f"trial-{best.number}" and best.metric == "val_accuracy"
    assert best.config["optim.max_epochs"] == 9 and best.config["env.batch_size"] == 32
    assert set(best.config) == set(tune_mlp.HYPERPARAMETERS)
    # The defaults of the AutoGluon spaces were the first trial.
    first = best.study.trials[0].params
    assert (first["optim.weight_decay"], first["model.hidden"], first["model.activation"]) == (
        1e-4,
        16,
        "tanh",
    )
    assert len(best.study.trials) == 12
    assert {t.state for t in best.study.trials} == {"complete", "pruned"}  # ASHA stopped some
    # Only the best trial's directory is left, with its best num_to_keep=2 checkpoints.
    assert sorted(p.name for p in save.iterdir()) == ["hpsweep.journal", best.path.name]
    kept = yaml.safe_load((best.path / BEST_K_MODELS_FILE).read_text())
    assert list(kept) == [str(p) for p in best.checkpoints] and len(kept) == 2
    assert list(kept.values()) == sorted(kept.values(), reverse=True)
    assert best.value == max(
        t.intermediate[max(t.intermediate)] for t in best.study.trials if t.intermediate
    )
    assert sorted(p.name for p in best.path.glob("checkpoint_*")) == sorted(
        p.name for p in best.checkpoints
    )
    assert "Best trial: " in capsys.readouterr().out


def two_epochs(curves: dict[int, list[float]]) -> Any:
    """A train function whose trial N reports curves[N], with a checkpoint per epoch."""

    def train(config: dict[str, Any]) -> None:
        for epoch, value in enumerate(curves[client.trial_number() or 0], start=1):
            (checkpoint_dir(epoch) / "model.txt").write_text(str(value))
            hpsweep.report(value, step=epoch)

    return train


def test_the_best_trial_is_chosen_by_its_last_value_and_min_metrics_keep_the_lowest(
    workdir: Path,
) -> None:
    curves = {0: [0.2, 0.5, 0.9], 1: [0.4, 0.1, 0.6], 2: [0.3, 0.7, 0.7]}
    best = fit(
        two_epochs(curves),
        hyperparameters={"x": tune.uniform(0.0, 1.0)},
        hyperparameter_tune_kwargs={"num_trials": 3, "num_to_keep": 2},
        save_path="out",
        eval_metric="log_loss",
    )
    # Trial 0 had the lowest loss at its first epoch, but trials are compared by their last.
    assert (best.number, best.value) == (1, 0.6)
    kept = yaml.safe_load((best.path / BEST_K_MODELS_FILE).read_text())
    # A loss keeps its lowest checkpoints (AutoGluon gave Ray no order: it kept the highest).
    assert list(kept.values()) == [0.1, 0.4]
    assert [p.name for p in best.checkpoints] == ["checkpoint_000002", "checkpoint_000001"]


def test_asha_stops_a_trial_inside_report(workdir: Path) -> None:
    reported: dict[int, int] = {}

    def train(config: dict[str, Any]) -> None:
        number = client.trial_number() or 0
        for epoch in range(1, 10):
            reported[number] = epoch
            hpsweep.report(config["x"] if number else 0.9, step=epoch)  # no should_prune()

    best = fit(
        train,
        hyperparameters={"x": space.Real(0.0, 0.1, default=0.05)},
        hyperparameter_tune_kwargs={"scheduler": "ASHA", "num_trials": 3},
        save_path="out",
    )
    assert reported[0] == 9 and best.number == 0
    states = [t.state for t in best.study.trials]
    assert states == ["complete", "pruned", "pruned"]
    assert reported[1] < 9 and reported[2] < 9


def test_fit_resumes_a_study_in_the_same_save_path(workdir: Path) -> None:
    curves = {n: [0.5 + n / 10] for n in range(4)}
    options: dict[str, Any] = {
        "hyperparameters": {"x": tune.uniform(0.0, 1.0)},
        "save_path": "out",
        "eval_metric": "accuracy",
    }
    first = fit(two_epochs(curves), hyperparameter_tune_kwargs={"num_trials": 2}, **options)
    again = fit(two_epochs(curves), hyperparameter_tune_kwargs={"num_trials": 4}, **options)
    assert (first.number, again.number, len(again.study.trials)) == (1, 3, 4)


def test_no_finished_trial_is_autogluons_value_error(workdir: Path) -> None:
    def crash(config: dict[str, Any]) -> None:
        raise RuntimeError("CUDA out of memory")

    with pytest.raises(ValueError, match=f"^{re.escape(NO_BEST_TRIAL)}$"):
        fit(crash, hyperparameters={"x": tune.uniform(0.0, 1.0)}, save_path="out")
    assert NO_BEST_TRIAL.startswith("MultiModalPredictor wasn't able to find the best trial.")


def test_a_trial_that_reports_nothing_uses_its_return_value(workdir: Path) -> None:
    best = fit(
        lambda config: config["x"] * 0.0 + 0.25,
        hyperparameters={"x": tune.uniform(0.0, 1.0)},
        save_path="out",
    )
    assert best.study.trials[0].value == 0.25
    assert math.isclose(best.study.best_value, 0.25)
