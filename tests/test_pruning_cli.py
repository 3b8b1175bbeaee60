"""Pruning, Ray Tune's ``scheduler:`` and several objectives through the CLI, on command trials
(`hpsweep run -- python train.py`) whose script reports with ``hpsweep.client``."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import optuna
import pytest

from hpsweep.engine import open_store
from support import hpsweep
from support import stored_trials as stored

# A training script: its loss curve is worse (higher floor, slower decay) for larger lr, and it
# runs `seeds` seeds one after the other, reporting seed k's epoch e as step k * 1000 + e.
TRAIN = textwrap.dedent("""
    import math, sys
    from hpsweep import client

    p = client.params()
    lr, epochs, seeds = p["lr"], p["epochs"], p.get("seeds", 1)
    finals = []
    for seed in range(seeds):
        for epoch in range(epochs):
            loss = (1 + lr) * math.exp(-0.3 * epoch / (1 + 4 * lr)) + lr + 0.01 * seed
            client.report(loss, step=seed * 1000 + epoch)
            if client.should_prune():
                sys.exit(0)
        finals.append(loss)
    client.report_final({"loss": sum(finals) / len(finals), "acc": 0.5 + lr / 2, "lr": lr})
    """)


def run_train(cwd: Path, n: int, *settings: str, epochs: int = 12) -> None:
    (cwd / "train.py").write_text(TRAIN)
    hpsweep(
        cwd,
        "run",
        "-n",
        str(n),
        "-p",
        "lr=float(0.0,1.0)",
        "--sampler",
        "random",
        "--seed",
        "5",
        "--metric",
        "loss",
        "--set",
        f"params.epochs={epochs}",
        *[item for setting in settings for item in ("--set", setting)],
        "--",
        sys.executable,
        "train.py",
    )


@pytest.mark.slow
def test_pfl_prunes_command_trials_and_keeps_its_state_across_runs(tmp_path: Path) -> None:
    # a warm-up of 9 epochs: from the 10th value on, PFL fits the curve (fewer give the last)
    pfl = "pruner={name: pfl, kwargs: {n_startup_trials: 4, n_warmup_epochs: 9, top_k: 2}}"
    run_train(tmp_path, 4, pfl)
    first = stored(tmp_path)
    assert [t.state.name for t in first] == ["COMPLETE"] * 4  # startup: nothing pruned
    # a second `run` (a new process, a new pruner) sees the four finished trials in storage
    run_train(tmp_path, 14, pfl)
    later = stored(tmp_path)[4:]
    pruned = [t for t in later if t.state.name == "PRUNED"]
    assert pruned, [t.state.name for t in later]
    for trial in pruned:
        assert trial.user_attrs["why"] == "pruned"
        assert 10 <= len(trial.intermediate_values) < 12
    # a lower lr gives a lower loss: PFL never prunes a trial better than every one it kept
    best_kept = min(t.params["lr"] for t in stored(tmp_path) if t.state.name == "COMPLETE")
    assert all(t.params["lr"] > best_kept for t in pruned)


@pytest.mark.slow
def test_pfl_with_several_seeds_per_trial(tmp_path: Path) -> None:
    pfl = (
        "pruner={name: pfl, kwargs: {n_startup_trials: 3, n_warmup_epochs: 3, top_k: 2, "
        "variant: log10}}"
    )
    run_train(tmp_path, 10, pfl, "params.seeds=2", epochs=6)
    trials = stored(tmp_path)
    complete = [t for t in trials if t.state.name == "COMPLETE"]
    assert complete and all(
        sorted(t.intermediate_values) == [*range(6), *range(1000, 1006)] for t in complete
    )
    assert any(t.state.name == "PRUNED" for t in trials)


def test_asha_scheduler_prunes_command_trials(tmp_path: Path) -> None:
    run_train(
        tmp_path,
        10,
        "scheduler={name: asha, max_t: 12, grace_period: 1, reduction_factor: 2}",
    )
    trials = stored(tmp_path)
    pruned = [t for t in trials if t.state.name == "PRUNED"]
    complete = [t for t in trials if t.state.name == "COMPLETE"]
    assert pruned and complete
    assert all(len(t.intermediate_values) < 12 for t in pruned)
    assert all(len(t.intermediate_values) == 12 for t in complete)


def test_scheduler_and_pruner_together_is_a_one_line_error(tmp_path: Path) -> None:
    (tmp_path / "sweep.yaml").write_text(
        "space:\n  lr: {type: float, low: 0.0, high: 1.0}\n"
        "scheduler: asha\npruner: median\ncommand: [python, train.py]\n"
    )
    result = hpsweep(tmp_path, "run", "sweep.yaml", check=False)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "give pruner or scheduler" in lines[0]


def test_bad_constraint_is_a_one_line_error(tmp_path: Path) -> None:
    (tmp_path / "sweep.yaml").write_text(
        "space:\n  lr: {type: float, low: 0.0, high: 1.0}\n"
        "constraints: ['acc >= __import__']\ncommand: [python, train.py]\n"
    )
    result = hpsweep(tmp_path, "run", "sweep.yaml", check=False)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "must compare metric names with one number" in lines[0]


def test_two_objectives_and_best_shows_the_pareto_front(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text(TRAIN)
    (tmp_path / "sweep.yaml").write_text(
        textwrap.dedent(f"""
        space:
          lr: {{type: float, low: 0.0, high: 1.0}}
        params: {{epochs: 3}}
        directions: [minimize, maximize]
        metrics: [loss, acc]
        constraints: ["lr <= 0.8"]
        initial_points: [{{lr: 0.9}}, {{lr: 0.05}}]
        n_trials: 8
        seed: 1
        pruner: none
        command: [{json.dumps(sys.executable)}, train.py]
        """)
    )
    hpsweep(tmp_path, "run", "sweep.yaml")
    trials = stored(tmp_path, "sweep")
    assert [t.params["lr"] for t in trials[:2]] == [0.9, 0.05]  # the initial points first
    assert trials[0].constraints == {"lr <= 0.8": pytest.approx(0.1)}
    # Optuna's own front leaves the infeasible trial (lr 0.9 > 0.8) out
    store = open_store(str(tmp_path / "hpsweep.journal"), readonly=True)
    study = optuna.load_study(study_name="sweep", storage=store.storage)
    feasible_front = {t.number for t in study.best_trials}
    store.close()
    assert feasible_front and 0 not in feasible_front
    front = json.loads(hpsweep(tmp_path, "best", "--format", "json").stdout)
    members = front if isinstance(front, list) else [front]
    assert len(members) > 1  # loss and acc trade off: a front, not one trial
    numbers = {m["number"] for m in members}
    assert numbers == feasible_front  # as Optuna's: the infeasible trial 0 is left out
    assert all(m["constraints"]["lr <= 0.8"] <= 0 for m in members)
    complete = [t for t in trials if t.state.name == "COMPLETE" and t.params["lr"] <= 0.8]
    for trial in complete:  # a member is dominated by no feasible complete trial
        if trial.number in numbers:
            assert not any(
                o.values[0] < trial.values[0] and o.values[1] > trial.values[1] for o in complete
            )
