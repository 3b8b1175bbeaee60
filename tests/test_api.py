from __future__ import annotations

import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

import hpsweep
from hpsweep._config import SweepConfig


def test_run_returns_the_best_trial(workdir: Path) -> None:
    result = hpsweep.run(
        lambda p: (p["x"] - 2) ** 2 + p["offset"],
        space={"x": hpsweep.Float(-10, 10)},
        params={"offset": 1.0},
        n_trials=25,
        seed=3,
        sampler="tpe",
        progress=_quiet(),
    )
    assert len(result.trials) == 25
    assert result.best_value == min(t.values[0] for t in result.trials if t.values)
    assert set(result.best_params) == {"x"}
    assert (workdir / "hpsweep.journal").exists()
    # the same call again resumes: the total is reached, nothing new runs
    again = hpsweep.run(
        lambda p: 0.0, space={"x": hpsweep.Float(-10, 10)}, n_trials=25, progress=_quiet()
    )
    assert len(again.trials) == 25 and again.best_value == result.best_value


def _quiet() -> hpsweep._progress.PlainProgress:
    from hpsweep._progress import PlainProgress

    return PlainProgress(quiet=True)


def test_seeded_runs_are_repeatable(workdir: Path) -> None:
    def objective(p: dict[str, float]) -> float:
        return p["x"] ** 2 + p["y"]

    space = {"x": hpsweep.Float(-1, 1), "y": hpsweep.Int(0, 5)}
    first = hpsweep.run(objective, space=space, n_trials=12, seed=5, study="a", progress=_quiet())
    second = hpsweep.run(objective, space=space, n_trials=12, seed=5, study="b", progress=_quiet())
    assert [t.params for t in first.trials] == [t.params for t in second.trials]


def test_objective_gets_fixed_params_and_nested_dotted_names(workdir: Path) -> None:
    seen: list[dict[str, object]] = []

    def objective(cfg: dict[str, object]) -> float:
        seen.append(cfg)
        return 0.0

    hpsweep.run(
        objective,
        space={"optim.lr": hpsweep.Float(0.1, 0.2), "seed": 7},
        params={"optim": {"name": "sgd"}, "epochs": 3},
        n_trials=1,
        progress=_quiet(),
    )
    assert seen[0]["optim"]["name"] == "sgd"  # type: ignore[index]
    assert 0.1 <= seen[0]["optim"]["lr"] <= 0.2  # type: ignore[index,operator]
    assert seen[0]["epochs"] == 3 and seen[0]["seed"] == 7


def test_reports_and_pruning_in_process(workdir: Path) -> None:
    def objective(p: dict[str, float]) -> float:
        for step in range(10):
            hpsweep.report(p["x"] * (10 - step), step=step)
            if hpsweep.should_prune():
                raise hpsweep.TrialPruned()
        return p["x"]

    result = hpsweep.run(
        objective,
        space={"x": hpsweep.Float(0, 1)},
        n_trials=20,
        seed=0,
        pruner={"name": "median", "kwargs": {"n_startup_trials": 3}},
        progress=_quiet(),
    )
    states = [t.state for t in result.trials]
    assert "pruned" in states and "complete" in states
    pruned = [t for t in result.trials if t.state == "pruned"]
    assert all(t.why == "pruned" and len(t.intermediate) < 10 for t in pruned)


def test_exceptions_fail_the_trial_not_the_study(workdir: Path) -> None:
    def objective(p: dict[str, float]) -> float:
        if p["x"] > 0.5:
            raise ValueError(f"x too big: {p['x']:.2f}")
        return p["x"]

    result = hpsweep.run(
        objective, space={"x": hpsweep.Float(0, 1)}, n_trials=10, seed=1, progress=_quiet()
    )
    failed = [t for t in result.trials if t.state == "fail"]
    assert failed and all(
        str(t.user_attrs["error"]).startswith("ValueError: x too big") for t in failed
    )
    assert len(result.trials) == 10


def test_search_decorator_runs_the_study_from_yaml_and_argv(workdir: Path) -> None:
    (workdir / "sweep.yaml").write_text(
        textwrap.dedent("""
        study: deco
        n_trials: 6
        params: {epochs: 2, model: {width: 8}}
        space:
          lr: {type: float, low: 1.0e-3, high: 1.0e-1, log: true}
        """)
    )
    seen: list[dict[str, object]] = []

    @hpsweep.search("sweep.yaml")
    def train(cfg: dict[str, object]) -> float:
        seen.append(cfg)
        return float(cfg["lr"])  # type: ignore[arg-type]

    result = train(["--set", "model.width=16", "-n", "4", "--seed", "2"])
    assert len(result.trials) == 4 and len(seen) == 4
    assert seen[0]["model"] == {"width": 16} and seen[0]["epochs"] == 2
    assert result.best_value == min(float(c["lr"]) for c in seen)  # type: ignore[arg-type]
    with pytest.raises(SystemExit, match="unknown key 'nope'"):
        train(["--set", "nope=1"])
    assert sys.argv  # argv itself is untouched


SEARCH_SWEEP = """
study: flags
n_trials: 6
params: {epochs: 2}
space:
  lr: {type: float, low: 1.0e-3, high: 1.0e-1, log: true}
"""


def _configs_of(
    monkeypatch: pytest.MonkeyPatch, train: Callable[[list[str]], object], argv: list[str]
) -> SweepConfig:
    """The config ``train(argv)`` would run, without running it."""
    seen: list[SweepConfig] = []
    monkeypatch.setattr("hpsweep._api.run_config", lambda config, **_: seen.append(config))
    train(argv)
    return seen[0]


def test_search_decorator_takes_the_run_flags(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (workdir / "sweep.yaml").write_text(SEARCH_SWEEP)

    @hpsweep.search("sweep.yaml")
    def train(cfg: dict[str, object]) -> float:
        return 0.0

    argv = [
        "-p",
        "layers=int(1,4)",
        "--param",
        "opt=choice(adam,sgd)",
        "--direction",
        "maximize",
        "--metric",
        "acc",
        "--trial-timeout",
        "30",
        "--max-failures",
        "2",
        "--retries",
        "1",
        "--grace",
        "5",
        "--target",
        "0.9",
    ]
    config = _configs_of(monkeypatch, train, argv)
    assert config.space.names == ("lr", "layers", "opt")
    assert config.space["layers"] == hpsweep.Int(1, 4)
    assert config.params == {"epochs": 2}  # -p params are space, not the fixed params
    assert config.directions == ("maximize",) and config.metrics == ("acc",)
    assert (config.trial_timeout, config.max_failures, config.retries) == (30.0, 2, 1)
    assert (config.grace, config.target) == (5.0, 0.9)


def test_search_decorator_keyword_defaults_yield_to_argv(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (workdir / "sweep.yaml").write_text(SEARCH_SWEEP)

    @hpsweep.search("sweep.yaml", n_trials=3, retries=2)
    def train(cfg: dict[str, object]) -> float:
        return 0.0

    config = _configs_of(monkeypatch, train, [])
    assert (config.n_trials, config.retries) == (3, 2)
    config = _configs_of(monkeypatch, train, ["-n", "4", "--retries", "0"])
    assert (config.n_trials, config.retries) == (4, 0)


def test_search_decorator_runs_a_space_given_with_p(workdir: Path) -> None:
    (workdir / "sweep.yaml").write_text("study: by-p\nn_trials: 4\n")

    @hpsweep.search("sweep.yaml")
    def train(cfg: dict[str, object]) -> dict[str, float]:
        return {"acc": float(cfg["x"])}  # type: ignore[arg-type]

    result = train(["-p", "x=float(0,1)", "--direction", "maximize", "--metric", "acc"])
    assert len(result.trials) == 4 and result.directions == ("maximize",)
    assert result.best_value == max(t.values[0] for t in result.trials if t.values)


@pytest.mark.parametrize(
    ("argv", "start"),
    [
        (["-n", "many"], "error: train: argument -n/--n-trials: invalid int value: 'many'"),
        (["--grace", "soon"], "error: train: argument --grace: invalid float value: 'soon'"),
        (["--direction", "up"], "error: train: argument --direction: invalid choice: 'up'"),
        (["--bogus"], "error: train: unrecognized arguments: --bogus"),
        (["-p", "x=float(3,1)"], "error: -p 'x=float(3,1)': `low <= high` must hold"),
        (["--retries", "-1"], "error: sweep.yaml: retries must be an integer >= 0, got -1"),
    ],
)
def test_search_decorator_bad_input_is_one_line(
    workdir: Path, argv: list[str], start: str
) -> None:
    (workdir / "sweep.yaml").write_text(SEARCH_SWEEP)

    @hpsweep.search("sweep.yaml")
    def train(cfg: dict[str, object]) -> float:
        return 0.0

    with pytest.raises(SystemExit) as info:
        train(argv)
    message = str(info.value.code)
    assert message.startswith(start) and "\n" not in message, message
    assert not (workdir / "hpsweep.journal").exists()


def test_run_takes_initial_points_scheduler_and_constraints(workdir: Path) -> None:
    seen: list[float] = []

    def objective(p: dict[str, float]) -> dict[str, float]:
        seen.append(p["x"])
        return {"loss": (p["x"] - 0.5) ** 2, "size": p["x"]}

    result = hpsweep.run(
        objective,
        space={"x": hpsweep.Float(0, 1)},
        n_trials=5,
        seed=0,
        metric="loss",
        initial_points=[{"x": 0.25}],
        scheduler={"name": "asha", "grace_period": 1},
        constraints=["size <= 0.9"],
        progress=_quiet(),
    )
    assert seen[0] == 0.25 and len(result.trials) == 5
