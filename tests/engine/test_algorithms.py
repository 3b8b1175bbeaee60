"""Every pruner and sampler by name through ``hpsweep.run`` on function trials, the Ray Tune
``scheduler:`` words, the grid, ``initial_points`` and constraints.

Trials call ``client.report`` (the same function as ``hpsweep.report``): once the
``hpsweep.report`` subpackage is imported, the attribute ``hpsweep.report`` is that package.
"""

from __future__ import annotations

import dataclasses
import importlib.util
from pathlib import Path
from typing import Any

import optuna
import pytest

import hpsweep
from hpsweep import client
from hpsweep._api import run_config
from hpsweep._config import Algorithm
from hpsweep._config import from_mapping
from hpsweep._errors import ConfigError
from hpsweep._progress import PlainProgress
from hpsweep.engine import open_store
from hpsweep.engine._algorithms import INITIAL_POINTS_ATTR
from hpsweep.engine._algorithms import check_initial_points
from hpsweep.engine._algorithms import grid_of
from hpsweep.engine._algorithms import make_pruner
from hpsweep.engine._algorithms import make_sampler
from hpsweep.engine._pfl import CappedPruner
from hpsweep.space import Choice
from hpsweep.space import Fixed
from hpsweep.space import Float
from hpsweep.space import Int
from hpsweep.space import SearchSpace

HAS_GP = all(importlib.util.find_spec(m) is not None for m in ("torch", "scipy"))
HAS_CMAES = importlib.util.find_spec("cmaes") is not None


def quiet() -> PlainProgress:
    return PlainProgress(quiet=True)


def learning_curve(p: dict[str, Any]) -> float:
    """A trial whose loss at each of 12 epochs is worse for larger x (and, past x = 0.5, starts
    rising after a few epochs); it obeys the pruner."""
    x = p["x"]
    loss = 0.0
    for epoch in range(12):
        loss = x + 1.0 / (epoch + 1) + max(0.0, x - 0.5) * epoch * 0.2
        client.report(loss, step=epoch)  # hpsweep.report: see the note at the top
        if client.should_prune():
            raise hpsweep.TrialPruned()
    return loss


PRUNER_CASES: list[tuple[str, dict[str, Any], bool]] = [
    ("none", {}, False),
    ("median", {"n_startup_trials": 3}, True),
    ("percentile", {"percentile": 25.0, "n_startup_trials": 3}, True),
    ("asha", {"min_resource": 1, "reduction_factor": 2}, True),
    ("hyperband", {"min_resource": 1, "max_resource": 12, "reduction_factor": 2}, True),
    ("threshold", {"upper": 1.5}, True),
    ("patient", {"wrapped_pruner": {"name": "median"}, "patience": 1}, True),
    ("wilcoxon", {"p_threshold": 0.5, "n_startup_steps": 2}, None),  # type: ignore[list-item]
    ("pfl", {"n_startup_trials": 3, "n_warmup_epochs": 2, "top_k": 2}, True),
    ("pfl", {"n_startup_trials": 3, "n_warmup_epochs": 2, "top_k": 2, "variant": "log10"}, True),
]


@pytest.mark.parametrize(("name", "kwargs", "prunes"), PRUNER_CASES)
def test_each_pruner_by_name_through_run(
    workdir: Path, name: str, kwargs: dict[str, Any], prunes: bool | None
) -> None:
    result = hpsweep.run(
        learning_curve,
        space={"x": Float(0.0, 1.0)},
        n_trials=16,
        seed=2,
        sampler="random",
        pruner={"name": name, "kwargs": kwargs},
        progress=quiet(),
    )
    states = [t.state for t in result.trials]
    assert len(states) == 16 and set(states) <= {"complete", "pruned"}
    pruned = [t for t in result.trials if t.state == "pruned"]
    if prunes is True:
        assert pruned, f"{name} pruned nothing"
        # what is pruned is worse, on average, than what completes
        mean = lambda ts: sum(t.params["x"] for t in ts) / len(ts)  # noqa: E731
        complete = [t for t in result.trials if t.state == "complete"]
        assert mean(pruned) > mean(complete)
    elif prunes is False:
        assert not pruned
    assert result.best_trial.state == "complete"


def test_pfl_state_survives_a_resume(workdir: Path) -> None:
    """The seed's PFLPruner restarts its startup count on resume; here the second run sees the
    first run's trials in storage and prunes a bad trial at once."""
    pfl = {"name": "pfl", "kwargs": {"n_startup_trials": 5, "n_warmup_epochs": 2, "top_k": 3}}

    def good(p: dict[str, Any]) -> float:
        return learning_curve({"x": 0.0})

    first = hpsweep.run(
        good, space={"x": Float(0, 1)}, n_trials=5, pruner=pfl, sampler="random", progress=quiet()
    )
    assert [t.state for t in first.trials] == ["complete"] * 5

    def bad(p: dict[str, Any]) -> float:
        return learning_curve({"x": 5.0})

    second = hpsweep.run(
        bad, space={"x": Float(0, 1)}, n_trials=6, pruner=pfl, sampler="random", progress=quiet()
    )
    last = second.trials[-1]
    assert last.state == "pruned"
    assert max(last.intermediate) == 2  # pruned at its third value, the first after warm-up


# ------------------------------------------------------------------ scheduler: (Ray Tune)


def test_scheduler_words_map_onto_pruners() -> None:
    assert from_mapping({"scheduler": "fifo"}).pruner == Algorithm("none")
    assert from_mapping({"scheduler": "ASHA"}).pruner == Algorithm(
        "asha", {"min_resource": 1, "reduction_factor": 4, "max_t": 100}
    )
    config = from_mapping(
        {"scheduler": {"name": "asha", "max_t": 27, "grace_period": 3, "reduction_factor": 3}}
    )
    assert config.pruner == Algorithm(
        "asha", {"min_resource": 3, "reduction_factor": 3, "max_t": 27}
    )
    assert from_mapping({"scheduler": {"name": "hyperband", "max_t": 27}}).pruner == Algorithm(
        "hyperband", {"min_resource": 1, "max_resource": 27, "reduction_factor": 3}
    )
    pruner = make_pruner("asha", config.pruner.kwargs)
    assert isinstance(pruner, CappedPruner) and pruner.max_t == 27
    assert isinstance(pruner.wrapped, optuna.pruners.SuccessiveHalvingPruner)
    # the config round-trips as the pruner it maps to
    assert from_mapping(config.to_mapping()) == config


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"scheduler": "asha", "pruner": "median"}, "give pruner or scheduler"),
        ({"scheduler": "pbt"}, "scheduler must be fifo, asha or hyperband"),
        ({"scheduler": {"name": "asha", "grace": 2}}, "unknown key 'grace'"),
        ({"scheduler": {"name": "asha", "reduction_factor": 1}}, "reduction_factor >= 2"),
        ({"scheduler": {"name": "asha", "max_t": 2, "grace_period": 5}}, "grace_period <= max_t"),
        ({"scheduler": {"max_t": 5}}, "scheduler must be fifo"),
    ],
)
def test_scheduler_errors_are_one_line(document: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        from_mapping(document)
    assert "\n" not in str(caught.value)


def test_capped_asha_never_prunes_at_or_past_max_t() -> None:
    study = optuna.create_study(pruner=make_pruner("asha", {"min_resource": 1, "max_t": 4}))
    for value in (0.1, 0.2, 0.3, 0.4):
        trial = study.ask()
        for step in range(6):
            trial.report(value, step)
            trial.should_prune()  # successive halving records the rungs a trial passed
        study.tell(trial, value)
    worst = study.ask()
    decisions = []
    for step in range(6):
        worst.report(9.0, step)
        decisions.append(worst.should_prune())
    assert decisions[1] is True  # the first rung (step 1) prunes it
    assert decisions[4:] == [False, False]  # no rung at or beyond max_t


def test_scheduler_asha_through_a_yaml_config(workdir: Path) -> None:
    (workdir / "sweep.yaml").write_text(
        "space:\n  x: {type: float, low: 0.0, high: 1.0}\n"
        "scheduler: {name: asha, max_t: 12, grace_period: 1, reduction_factor: 2}\n"
        "sampler: random\nseed: 4\nn_trials: 16\n"
    )
    from hpsweep._config import load_config

    config = load_config(workdir / "sweep.yaml")
    result = run_config(config, objective=learning_curve, progress=quiet())
    assert any(t.state == "pruned" for t in result.trials)


# ------------------------------------------------------------------ samplers


def bowl(p: dict[str, Any]) -> float:
    return (p["x"] - 0.3) ** 2 + (p["n"] - 2) ** 2 + (0.0 if p["opt"] == "b" else 0.5)


MIXED = {"x": Float(0.0, 1.0, step=0.1), "n": Int(0, 4), "opt": Choice(["a", "b"])}
SAMPLER_CASES = [
    "auto",
    "tpe",
    "random",
    pytest.param("gp", marks=pytest.mark.skipif(not HAS_GP, reason="needs torch and scipy")),
    pytest.param("cmaes", marks=pytest.mark.skipif(not HAS_CMAES, reason="needs cmaes")),
    "qmc",
    "grid",
    "nsga2",
    "nsga3",
    "bruteforce",
    "optuna.samplers.TPESampler",
]


@pytest.mark.parametrize("name", SAMPLER_CASES)
def test_each_sampler_by_name_through_run(workdir: Path, name: str) -> None:
    result = hpsweep.run(
        bowl, space=MIXED, n_trials=14, seed=1, sampler=name, pruner="none", progress=quiet()
    )
    assert len(result.trials) == 14
    assert all(t.state == "complete" for t in result.trials)
    assert result.best_value < 1.0


ROUNDED = {"lr": Float(1e-5, 1e-1, log=True, digits=2), "x": Float(-1.0, 1.0, digits=3)}
ROUNDING_CASES = [
    "auto",
    "random",
    "tpe",
    pytest.param({"name": "tpe", "kwargs": {"multivariate": True}}, id="tpe-multivariate"),
    "qmc",
    "nsga2",
    pytest.param("cmaes", marks=pytest.mark.skipif(not HAS_CMAES, reason="needs cmaes")),
    pytest.param("gp", marks=pytest.mark.skipif(not HAS_GP, reason="needs torch and scipy")),
]


@pytest.mark.parametrize("sampler", ROUNDING_CASES)
def test_digits_round_what_every_sampler_proposes(workdir: Path, sampler: Any) -> None:
    """Independent and relative (multivariate TPE, QMC, CMA-ES, GP) proposals alike: the
    trial gets, and the store keeps, the same number with at most ``digits`` digits."""
    given: list[dict[str, Any]] = []

    def objective(params: dict[str, Any]) -> float:
        given.append(dict(params))
        return float((params["x"] - 0.3) ** 2 + params["lr"])

    result = hpsweep.run(
        objective, space=ROUNDED, n_trials=14, seed=3, sampler=sampler, progress=quiet()
    )
    stored = [t.params for t in result.trials]
    assert len(stored) == 14 and given == stored
    for params in stored:
        assert float(f"{params['lr']:.1e}") == params["lr"], params
        assert float(f"{params['x']:.2e}") == params["x"], params
        assert 1e-5 <= params["lr"] <= 1e-1 and -1.0 <= params["x"] <= 1.0
    assert len({p["x"] for p in stored}) > 3


def test_the_rounding_sampler_is_the_base_sampler_to_everything_else() -> None:
    from hpsweep.engine._rounding import RoundingSampler
    from hpsweep.engine._study import make_algorithms

    space = {"lr": {"type": "float", "low": 1e-5, "high": 0.1, "log": True, "digits": 2}}
    config = from_mapping({"space": space, "sampler": "tpe", "seed": 5})
    sampler, _ = make_algorithms(config)
    assert isinstance(sampler, RoundingSampler)
    assert isinstance(sampler.base, optuna.samplers.TPESampler)
    assert sampler._n_startup_trials == 10  # the base sampler's own attributes
    assert str(sampler) == str(sampler.base)
    plain = from_mapping(
        {"space": {"x": {"type": "float", "low": 0, "high": 1}}, "sampler": "tpe"}
    )
    assert isinstance(make_algorithms(plain)[0], optuna.samplers.TPESampler)


def test_sampler_kwargs_and_seed_reach_the_sampler() -> None:
    space = SearchSpace({"x": Float(0, 1)})
    sampler = make_sampler("tpe", {"n_startup_trials": 3}, seed=7, space=space)
    assert isinstance(sampler, optuna.samplers.TPESampler)
    assert sampler._n_startup_trials == 3
    with pytest.raises(ConfigError, match="unknown sampler 'tpee'; did you mean 'tpe'"):
        make_sampler("tpee", {}, seed=None, space=space)
    with pytest.raises(ConfigError, match="check its kwargs"):
        make_sampler("random", {"bogus": 1}, seed=None, space=space)
    with pytest.raises(ConfigError, match="takes no kwargs"):
        make_sampler("auto", {"x": 1}, seed=None, space=space)


@pytest.mark.skipif(not HAS_CMAES, reason="needs cmaes")
def test_single_objective_samplers_refuse_several_directions() -> None:
    space = SearchSpace({"x": Float(0, 1)})
    with pytest.raises(ConfigError, match="optimizes one objective"):
        make_sampler("cmaes", {}, seed=None, space=space, directions=("minimize", "maximize"))


def test_grid_covers_every_value_and_explains_what_it_cannot_grid(workdir: Path) -> None:
    space = SearchSpace(
        {"x": Float(0.0, 0.3, step=0.1), "n": Int(1, 5, step=2), "o": Choice(["a", "b"]), "k": 3}
    )
    assert grid_of(space) == {"x": [0.0, 0.1, 0.2, 0.3], "n": [1, 3, 5], "o": ["a", "b"]}
    result = hpsweep.run(
        lambda p: p["x"] + p["n"] + (p["o"] == "a") + p["k"],
        space=space,
        n_trials=24,
        sampler="grid",
        pruner="none",
        progress=quiet(),
    )
    seen = {(t.params["x"], t.params["n"], t.params["o"]) for t in result.trials}
    assert len(seen) == 24
    # a budget beyond the grid ends with the grid (Optuna's study.stop() needs optimize())
    for name in ("grid", "bruteforce"):
        more = hpsweep.run(
            lambda p: p["x"] + p["n"] + (p["o"] == "a"),
            space=space,
            study=name,
            n_trials=40,
            sampler=name,
            pruner="none",
            progress=quiet(),
        )
        assert len(more.trials) == 24, name
        assert len({tuple(sorted(t.params.items())) for t in more.trials}) == 24
    for bad, message in [
        ({"lr": Float(1e-4, 1e-1, log=True)}, "cannot grid 'lr' \\(float without a step\\)"),
        ({"u": Int(1, 64, log=True)}, "log-scaled int"),
        ({"o": Choice(["a"]), "m": Float(0, 1, step=0.5, when={"o": "a"})}, "conditional"),
        ({"k": Fixed(1)}, "at least one param"),
    ]:
        with pytest.raises(ConfigError, match=message):
            grid_of(SearchSpace(bad))


# ------------------------------------------------------------------ initial points


def test_initial_points_run_first_and_only_once(workdir: Path) -> None:
    points = [{"x": 0.25, "opt": "b"}, {"x": 0.75}]
    config = from_mapping(
        {"study": "s", "n_trials": 5, "sampler": "random", "seed": 3, "initial_points": points}
    )
    config = dataclasses.replace(
        config, space=SearchSpace({"x": Float(0, 1), "opt": Choice(["a", "b"])})
    )
    result = run_config(config, objective=lambda p: p["x"], progress=quiet(), handle_signals=False)
    assert result.trials[0].params == {"x": 0.25, "opt": "b"}
    assert result.trials[1].params["x"] == 0.75
    assert len(result.trials) == 5
    # resuming with a larger budget does not queue them again
    more = run_config(
        dataclasses.replace(config, n_trials=8),
        objective=lambda p: p["x"],
        progress=quiet(),
        handle_signals=False,
    )
    assert len(more.trials) == 8
    assert [t.params["x"] for t in more.trials].count(0.25) == 1
    store = open_store(None)
    study = optuna.load_study(study_name="s", storage=store.storage)
    assert store.storage.get_study_system_attrs(study._study_id)[INITIAL_POINTS_ATTR] == points
    store.close()


@pytest.mark.parametrize(
    ("point", "message"),
    [
        ({"otp": "a"}, "initial_points\\[0\\]: 'otp' is not a param of the space; did you mean"),
        ({"x": 2.0}, "x = 2.0 is not possible; it takes numbers in \\[0.0, 1.0\\]"),
        ({"n": 1.5}, "n = 1.5 is not possible; it takes integers in \\[0, 4\\]"),
        ({"opt": "c"}, "opt = 'c' is not possible; it takes one of 'a', 'b'"),
        ({"k": 2}, "'k' is fixed to 1"),
    ],
)
def test_initial_points_are_checked_against_the_space(point: dict[str, Any], message: str) -> None:
    space = SearchSpace({"x": Float(0, 1), "n": Int(0, 4), "opt": Choice(["a", "b"]), "k": 1})
    with pytest.raises(ConfigError, match=message):
        check_initial_points([point], space)
    assert check_initial_points([{"x": 1, "n": 2}], space) == [{"x": 1.0, "n": 2}]


def test_initial_points_config_errors() -> None:
    with pytest.raises(ConfigError, match="initial_points must be a list"):
        from_mapping({"initial_points": {"x": 1}})
    with pytest.raises(ConfigError, match="is not param: value"):
        from_mapping({"initial_points": [{"x": [1, 2]}]})


# ------------------------------------------------------------------ constraints


def test_constraints_are_stored_and_steer_the_best_trial(workdir: Path) -> None:
    def objective(p: dict[str, Any]) -> dict[str, float]:
        x = p["x"]
        return {"loss": x, "acc": x}  # lower loss means lower accuracy: a trade-off

    config = from_mapping(
        {
            "study": "c",
            "n_trials": 20,
            "seed": 0,
            "sampler": "tpe",
            "pruner": "none",
            "metric": "loss",
            "constraints": ["acc >= 0.5"],
        }
    )
    config = dataclasses.replace(config, space=SearchSpace({"x": Float(0, 1)}))
    shown: list[int] = []

    class Recording(PlainProgress):
        def trial_ended(self, outcome: Any, *, best: Any) -> None:
            shown.append(best.number)

    result = run_config(
        config, objective=objective, progress=Recording(quiet=True), handle_signals=False
    )
    store = open_store(None)
    study = optuna.load_study(study_name="c", storage=store.storage)
    for trial in study.trials:
        assert trial.constraints == {"acc >= 0.5": pytest.approx(0.5 - trial.params["x"])}
    best = study.best_trial
    assert best.params["x"] >= 0.5
    assert any(t.params["x"] < 0.5 for t in study.trials)  # infeasible ones were tried
    trials = study.trials
    store.close()
    # every view of "best" agrees with Optuna's: the API, the run's summary, the fast reader
    assert result.best_trial.number == best.number
    assert result.best_trial.feasible and not all(t.feasible for t in result.trials)
    assert shown[-1] == best.number  # the best the run showed as it went
    assert all(trials[n].params["x"] >= 0.5 for n in shown)
    from hpsweep.results import read_study
    from hpsweep.results import summarize

    for intermediate in (True, False):  # the fast journal reader of info/trials/best
        data = read_study(None, "c", intermediate=intermediate)
        assert summarize(data).best[0].number == best.number
        listed = {r.number: r for r in data.records}
        assert all(listed[t.number].constraints == t.constraints for t in trials)


def test_a_constraint_on_a_missing_metric_fails_the_trial(workdir: Path) -> None:
    config = from_mapping(
        {"study": "m", "n_trials": 2, "pruner": "none", "constraints": ["latency_ms <= 20"]}
    )
    config = dataclasses.replace(config, space=SearchSpace({"x": Float(0, 1)}))
    result = run_config(config, objective=lambda p: p["x"], progress=quiet(), handle_signals=False)
    assert [t.state for t in result.trials] == ["fail", "fail"]
    assert "needs metric 'latency_ms'" in str(result.trials[0].user_attrs["error"])


def test_a_scalar_result_is_the_objective_for_constraints(workdir: Path) -> None:
    config = from_mapping(
        {"study": "o", "n_trials": 3, "pruner": "none", "constraints": ["objective <= 0.5"]}
    )
    config = dataclasses.replace(config, space=SearchSpace({"x": Float(0, 1)}))
    run_config(config, objective=lambda p: p["x"], progress=quiet(), handle_signals=False)
    store = open_store(None)
    study = optuna.load_study(study_name="o", storage=store.storage)
    assert all(
        t.constraints["objective <= 0.5"] == pytest.approx(t.params["x"] - 0.5)
        for t in study.trials
    )
    store.close()


# ------------------------------------------------------------------ multi-objective


def test_two_objectives_through_run_give_a_pareto_front(workdir: Path) -> None:
    def objective(p: dict[str, Any]) -> dict[str, float]:
        return {"loss": p["x"], "acc": p["x"] - (p["x"] - 0.5) ** 2, "extra": 1.0}

    result = _run_two_objectives(objective)
    front = result.best_trials
    assert front and all(t.state == "complete" for t in front)
    for a in front:  # no member of the front dominates another
        for b in front:
            assert not (a.values[0] < b.values[0] and a.values[1] > b.values[1])
    with pytest.raises(ValueError, match="no single best trial"):
        _ = result.best_trial


def _run_two_objectives(objective: Any) -> hpsweep.StudyResult:
    config = from_mapping(
        {
            "study": "mo",
            "n_trials": 15,
            "seed": 2,
            "pruner": "none",
            "directions": ["minimize", "maximize"],
            "metrics": ["loss", "acc"],
        }
    )
    config = dataclasses.replace(config, space=SearchSpace({"x": Float(0, 1)}))
    return run_config(config, objective=objective, progress=quiet(), handle_signals=False)


def test_pfl_prunes_a_nan_at_once_through_run(workdir: Path) -> None:
    def diverges(p: dict[str, Any]) -> float:
        for epoch in range(5):
            client.report(float("nan") if epoch == 2 else 1.0, step=epoch)
            if client.should_prune():
                raise hpsweep.TrialPruned()
        return 1.0

    result = hpsweep.run(
        diverges, space={"x": Float(0, 1)}, n_trials=2, pruner="pfl", progress=quiet()
    )
    assert [t.state for t in result.trials] == ["pruned", "pruned"]
    assert all(sorted(t.intermediate) == [0, 1, 2] for t in result.trials)
