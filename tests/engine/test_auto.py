"""``sampler: auto``: the rule (a function of the space, the directions and the budget) and the
GP-then-CMA-ES sampler it picks for small numeric spaces."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path
from typing import Any

import optuna
import pytest

import hpsweep
from hpsweep._progress import PlainProgress
from hpsweep.engine import _auto
from hpsweep.engine._algorithms import make_sampler
from hpsweep.engine._auto import GP_ONLY_BUDGET
from hpsweep.engine._auto import GP_TRIALS
from hpsweep.engine._auto import GPThenCmaEs
from hpsweep.engine._auto import choose_sampler
from hpsweep.space import Choice
from hpsweep.space import Float
from hpsweep.space import Int
from hpsweep.space import SearchSpace

HAS_GP = all(importlib.util.find_spec(m) for m in ("torch", "scipy", "cmaes"))
NUMERIC = SearchSpace({"lr": Float(1e-4, 1e-1, log=True), "layers": Int(1, 4), "seed": 7})


@pytest.fixture
def gp_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_auto, "gp_available", lambda: True)
    monkeypatch.setattr(_auto, "cmaes_available", lambda: True)


@pytest.mark.usefixtures("gp_installed")
def test_small_numeric_spaces_get_the_gp() -> None:
    assert choose_sampler(NUMERIC, ["minimize"], None).name == "gp+cmaes"
    assert choose_sampler(NUMERIC, ["minimize"], 500).name == "gp+cmaes"
    assert choose_sampler(NUMERIC, ["maximize"], GP_ONLY_BUDGET).name == "gp"
    assert choose_sampler(NUMERIC, ["minimize"], GP_ONLY_BUDGET + 1).name == "gp+cmaes"


@pytest.mark.usefixtures("gp_installed")
def test_everything_else_gets_tpe() -> None:
    conditional = SearchSpace(
        {"opt": Choice(["sgd", "adam"]), "momentum": Float(0, 1, when={"opt": "sgd"})}
    )
    wide = SearchSpace({f"x{i}": Float(0, 1) for i in range(11)})
    categorical = SearchSpace({"x": Float(0, 1), "act": Choice(["relu", "tanh"])})
    assert choose_sampler(conditional, ["minimize"], 50).name == "tpe-group"
    assert choose_sampler(wide, ["minimize"], 50).name == "tpe"
    assert choose_sampler(categorical, ["minimize"], 50).name == "tpe"
    assert choose_sampler(NUMERIC, ["minimize", "maximize"], 50).name == "tpe"
    assert choose_sampler(SearchSpace({"k": 1}), ["minimize"], 5).name == "tpe"


def test_without_torch_auto_is_tpe(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_auto, "gp_available", lambda: False)
    choice = choose_sampler(NUMERIC, ["minimize"], 100)
    assert choice.name == "tpe" and "pip install hpsweep[gp]" in choice.reason


@pytest.mark.usefixtures("gp_installed")
def test_auto_builds_what_it_chose() -> None:
    def build(space: SearchSpace, directions: tuple[str, ...], n: int | None) -> object:
        return make_sampler("auto", {}, seed=1, space=space, directions=directions, n_trials=n)

    assert isinstance(build(NUMERIC, ("minimize",), None), GPThenCmaEs)
    assert isinstance(build(NUMERIC, ("minimize",), 20), optuna.samplers.GPSampler)
    conditional = SearchSpace({"o": Choice(["a", "b"]), "m": Float(0, 1, when={"o": "a"})})
    tpe = build(conditional, ("minimize",), None)
    assert isinstance(tpe, optuna.samplers.TPESampler) and tpe._group_decomposed_search_space
    mo = build(NUMERIC, ("minimize", "maximize"), None)
    assert isinstance(mo, optuna.samplers.TPESampler)


def branin(p: dict[str, Any]) -> float:
    x1, x2 = p["x1"], p["x2"]
    b, c, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
    return float((x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10)


@pytest.mark.skipif(not HAS_GP, reason="needs torch, scipy and cmaes")
def test_gp_then_cmaes_switches_phase_from_stored_trials() -> None:
    sampler = GPThenCmaEs(seed=0, gp_trials=12)
    study = optuna.create_study(sampler=sampler)

    def objective(trial: optuna.Trial) -> float:
        return branin(
            {"x1": trial.suggest_float("x1", -5, 10), "x2": trial.suggest_float("x2", 0, 15)}
        )

    study.optimize(objective, n_trials=30)
    attrs = [t.system_attrs for t in study.trials]
    assert not any(k.startswith("cma:") for a in attrs[:12] for k in a)
    assert all(any(k.startswith("cma:") for k in a) for a in attrs[12:])
    assert study.best_value < 5.0
    # a new sampler on the same stored trials (a resume) is in the CMA-ES phase at once
    again = GPThenCmaEs(seed=1, gp_trials=12)
    resumed = optuna.load_study(study_name=study.study_name, storage=study._storage, sampler=again)
    resumed.optimize(objective, n_trials=1)
    assert any(k.startswith("cma:") for k in resumed.trials[-1].system_attrs)


@pytest.mark.skipif(not HAS_GP, reason="needs torch, scipy and cmaes")
@pytest.mark.slow
def test_auto_through_run_beats_random_on_branin(workdir: Path) -> None:
    space = {"x1": Float(-5, 10), "x2": Float(0, 15)}
    quiet = PlainProgress(quiet=True)
    auto = hpsweep.run(branin, space=space, n_trials=GP_TRIALS + 10, seed=0, progress=quiet)
    rand = hpsweep.run(
        branin,
        space=space,
        n_trials=GP_TRIALS + 10,
        seed=0,
        sampler="random",
        study="r",
        progress=quiet,
    )
    assert auto.best_value - 0.397887 < 0.01 < rand.best_value - 0.397887 + 0.01
    assert auto.best_value < rand.best_value
