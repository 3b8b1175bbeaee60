"""Axect/pytorch_template: its optimize_template.yaml (HEAD and v2025) under `hpsweep run`, and
`hpsweep.compat.axect`'s OptimizeConfig and PFLPruner in the template's own main.py
(seed-systems.md §2, §6 items 11-16)."""

from __future__ import annotations

import re
import runpy
import shutil
import sys
from pathlib import Path
from typing import Any

import optuna
import pytest
import yaml

from hpsweep._errors import ConfigError
from hpsweep.cli import main
from hpsweep.compat.axect import OptimizeConfig
from hpsweep.compat.axect import PFLPruner
from hpsweep.compat.axect import best_trial_text
from hpsweep.compat.axect import gen_group_name
from hpsweep.compat.axect import run_optimize
from hpsweep.dialects._axect import check_optimize_config
from hpsweep.dialects._axect import is_axect_file
from hpsweep.engine._pfl import PFLPruner as EnginePFL
from hpsweep.space import Choice
from hpsweep.space import Float
from hpsweep.space import Int

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "axect"

HEAD = """\
study_name: Optimize_Template
trials: 20
seed: 42
metric: val_loss
direction: minimize

sampler:
  name: optuna.samplers.TPESampler
  #kwargs:
  #  n_startup_trials: 10

pruner:
  name: pruner.PFLPruner
  kwargs:
    n_startup_trials: 10
    n_warmup_epochs: 10
    top_k: 10
    target_epoch: 50

search_space:
  net_config:
    nodes:
      type: categorical
      choices: [32, 64, 128]
    layers:
      type: int
      min: 3
      max: 5
  optimizer_config:
    lr:
      type: float
      min: 1.e-3
      max: 1.e-2
      log: true
  scheduler_config:
    upper_bound:
      type: int
      min: 300
      max: 400
      step: 50
    min_lr:
      type: float
      min: 1.e-7
      max: 1.e-4
      log: true
"""
V2025 = HEAD.replace("min_lr:", "infimum_lr:")


@pytest.fixture
def example(workdir: Path) -> Path:
    """The example project, copied into an empty working directory."""
    for item in EXAMPLE.iterdir():
        if item.suffix in (".py", ".yaml"):
            shutil.copy(item, workdir / item.name)
    return workdir


def write(path: Path, text: str) -> str:
    path.write_text(text)
    return str(path)


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# ------------------------------------------------------------------------ the file


def test_the_head_template_is_read_with_the_templates_names_and_types(workdir: Path) -> None:
    spec = check_optimize_config(yaml.safe_load(HEAD), source="optimize_template.yaml")
    assert [p.name for p in spec.params] == [
        "net_config_nodes",
        "net_config_layers",
        "optimizer_config_lr",
        "scheduler_config_upper_bound",
        "scheduler_config_min_lr",
    ]
    assert spec.space["net_config_nodes"] == Choice([32, 64, 128])
    assert spec.space["net_config_layers"] == Int(3, 5)
    assert spec.space["optimizer_config_lr"] == Float(1e-3, 1e-2, log=True)
    assert spec.space["scheduler_config_upper_bound"] == Int(300, 400, step=50)
    assert spec.space["scheduler_config_min_lr"] == Float(1e-7, 1e-4, log=True)
    assert (spec.sampler, spec.seed, spec.metric, spec.trials) == (
        "optuna.samplers.TPESampler",
        42,
        "val_loss",
        20,
    )
    assert spec.pruner == "pfl"
    assert spec.pruner_kwargs == {
        "n_startup_trials": 10,
        "n_warmup_epochs": 10,
        "top_k": 10,
        "target_epoch": 50,
    }
    assert spec.notes == ()


def test_v2025_file_gets_a_note_unless_the_variant_is_explicit() -> None:
    spec = check_optimize_config(yaml.safe_load(V2025), source="opt.yaml")
    assert "infimum_lr" in spec.notes[0] and "variant is log10" in spec.notes[0]
    explicit = yaml.safe_load(V2025)
    explicit["pruner"]["kwargs"]["variant"] = "log10"
    spec = check_optimize_config(explicit, source="opt.yaml")
    assert spec.notes == () and spec.pruner_kwargs["variant"] == "log10"
    pruner = OptimizeConfig(**explicit).create_pruner()
    assert isinstance(pruner, PFLPruner) and pruner.pruner.variant == "log10"


def test_pyyaml_strings_such_as_1e_3_are_numbers_and_a_missing_pruner_means_none() -> None:
    document = yaml.safe_load(HEAD.replace("1.e-3", "1e-3"))
    assert document["search_space"]["optimizer_config"]["lr"]["min"] == "1e-3"  # YAML 1.1
    del document["pruner"]
    spec = check_optimize_config(document, source=None)
    assert spec.space["optimizer_config_lr"] == Float(1e-3, 1e-2, log=True)
    assert spec.pruner is None


def test_detection_by_key_set(workdir: Path) -> None:
    assert is_axect_file(write(workdir / "opt.yaml", HEAD))
    assert not is_axect_file(write(workdir / "sweep.yaml", "study: s\nspace: {x: [1, 2]}\n"))
    assert not is_axect_file(workdir / "missing.yaml")


# ------------------------------------------------------------------------ OptimizeConfig


def test_optimize_config_round_trips_and_suggests_nested_params(workdir: Path) -> None:
    config = OptimizeConfig.from_yaml(write(workdir / "opt.yaml", HEAD))
    config.to_yaml(workdir / "again.yaml")
    assert "1.0e-07" in (workdir / "again.yaml").read_text()  # a float PyYAML reads back
    assert OptimizeConfig.from_yaml(workdir / "again.yaml") == config
    study = optuna.create_study(sampler=config.create_sampler())
    trial = study.ask()
    params = config.suggest_params(trial)
    assert set(params) == {"net_config", "optimizer_config", "scheduler_config"}
    assert params["scheduler_config"]["upper_bound"] in (300, 350, 400)
    assert trial.params["net_config_nodes"] == params["net_config"]["nodes"]
    assert set(trial.params) == {
        "net_config_nodes",
        "net_config_layers",
        "optimizer_config_lr",
        "scheduler_config_upper_bound",
        "scheduler_config_min_lr",
    }


def test_seed_seeds_the_sampler() -> None:
    config = OptimizeConfig(**yaml.safe_load(HEAD))
    first = [optuna.create_study(sampler=config.create_sampler()).ask() for _ in range(2)]
    values = [config.suggest_params(trial) for trial in first]
    assert values[0] == values[1]


def test_grid_sampler_grids_the_categorical_choices(workdir: Path) -> None:
    document = yaml.safe_load(HEAD)
    document["sampler"] = {"name": "optuna.samplers.GridSampler"}
    document["search_space"] = {"net_config": document["search_space"]["net_config"]}
    document["search_space"]["net_config"]["layers"] = {"type": "categorical", "choices": [3, 4]}
    config = OptimizeConfig(**document)
    assert config.grid_search_space() == {
        "net_config_nodes": [32, 64, 128],
        "net_config_layers": [3, 4],
    }
    sampler = config.create_sampler()
    assert type(sampler).__name__ == "GridSampler"
    assert document["sampler"] == {"name": "optuna.samplers.GridSampler"}  # not modified
    non_grid = OptimizeConfig(**yaml.safe_load(HEAD))
    with pytest.raises(ValueError, match="^Unsupported grid search space type: int$"):
        non_grid.grid_search_space()


def test_gen_group_name_is_the_templates() -> None:
    config = {
        "net": "model.MLP",
        "optimizer": "splus.SPlus",
        "scheduler": "hyperbolic_lr.ExpHyperbolicLRScheduler",
        "net_config": {"nodes": 64, "layers": 4},
        "optimizer_config": {"lr": 1e-3, "eps": 1e-10},
        "scheduler_config": {"total_steps": 50, "upper_bound": 250, "min_lr": 1e-5},
    }
    assert gen_group_name(config) == (
        "MLP_n_64_l_4_SP_l_1.0000e-03_e_1.0000e-10_EHLRS_t_50_u_250_m_1.0000e-05"
    )


def test_best_trial_text_is_the_templates_printout() -> None:
    text = best_trial_text(0.008, {"net_config_nodes": 128, "optimizer_config_lr": 0.001}, "p[2]")
    assert text == (
        "Best trial:\n  Value: 0.008\n  Params: \n    net_config_nodes: 128\n"
        "    optimizer_config_lr: 0.001\n  Path: p[2]\n"
    )


# ------------------------------------------------------------------------ PFLPruner


def loss_curve(scale: float, epochs: int = 6) -> list[float]:
    return [scale * (0.5 + 2.0 / (1 + e)) for e in range(epochs)]


def drive(study: optuna.Study, pruner: PFLPruner, scale: float, seeds: int = 1) -> str:
    """One trial as the template's run() drives it: PRUNED or COMPLETE."""
    trial = study.ask()
    pruner.register_trial(trial.number)
    try:
        finals = []
        for seed in range(seeds):
            for epoch, loss in enumerate(loss_curve(scale)):
                pruner.report(trial.number, 89 + seed, epoch, loss)
                if pruner.should_prune():
                    study.tell(trial, state=optuna.trial.TrialState.PRUNED)
                    return "pruned"
            finals.append(loss)
        study.tell(trial, sum(finals) / len(finals))
        return "complete"
    finally:
        pruner.complete_trial(trial.number)


def test_pfl_protocol_stores_seeds_as_steps_and_its_state_survives_a_new_process(
    workdir: Path,
) -> None:
    document = yaml.safe_load(HEAD)
    document["pruner"]["kwargs"] = {
        "n_startup_trials": 2,
        "n_warmup_epochs": 3,
        "top_k": 2,
        "target_epoch": 6,
    }
    config = OptimizeConfig(**document)
    pruner = config.create_pruner()  # before the study, as main.py does
    assert isinstance(pruner, PFLPruner)
    study = config.create_study(project="Demo_Opt")
    assert (workdir / "Demo_Opt.db").exists()
    assert drive(study, pruner, 1.0, seeds=2) == "complete"
    assert drive(study, pruner, 1.1) == "complete"
    stored = study.trials[0].intermediate_values
    assert sorted(stored) == [0, 1, 2, 3, 4, 5, 1000, 1001, 1002, 1003, 1004, 1005]
    # A resumed run: a fresh config, pruner and study object, the same stored trials.
    again = OptimizeConfig(**document)
    resumed = again.create_study(project="Demo_Opt")
    late = again.create_pruner()
    assert isinstance(late, PFLPruner)
    assert drive(resumed, late, 5.0) == "pruned"  # worse than every top-k prediction
    assert drive(resumed, late, 0.5) == "complete"
    assert len(resumed.trials) == 4


def test_pfl_pruner_protocol_needs_a_study() -> None:
    pruner = PFLPruner()
    assert isinstance(pruner.pruner, EnginePFL) and pruner.pruner.variant == "raw"
    assert pruner.should_prune() is False  # nothing registered, as in the template
    pruner.register_trial(0)
    with pytest.raises(ConfigError, match="create_study"):
        pruner.report(0, 89, 0, 1.0)


def run_main_py(example: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(example))
    argv = ["main.py", "--run_config", "run_template.yaml"]
    monkeypatch.setattr(sys, "argv", [*argv, "--optimize_config", "optimize_template.yaml"])
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    runpy.run_path(str(example / "main.py"), run_name="__main__")


def test_main_py_runs_unchanged_but_for_the_imports_and_agrees_with_hpsweep_run(
    example: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The template's main.py on the compat classes, and `hpsweep run` on train.py: the same
    seed gives the same params, the same PFL decisions and the same best trial."""
    text = (example / "optimize_template.yaml").read_text().replace("trials: 6", "trials: 3")
    write(example / "optimize_template.yaml", text)
    run_main_py(example, monkeypatch)
    out = capsys.readouterr().out
    assert out.startswith("Best trial:\n  Value: ")
    assert "\n  Params: \n    net_config_nodes: " in out
    assert re.search(r"\n  Path: runs/Axect_Example_Opt/MLP_n_\d+_l_\d_SP_l_.*\[\d\]\n$", out)
    storage = "sqlite:///Axect_Example_Opt.db"
    study = optuna.load_study(study_name="Optimize_Template", storage=storage)
    assert len(study.trials) == 3
    assert all("group_name" in t.user_attrs for t in study.trials)
    code, hpsweep_out, err = run_cli(
        capsys,
        "run",
        "optimize_template.yaml",
        "--set",
        "run_config=run_template.yaml",
        "--objective",
        "train:train",
        "--storage",
        "hpsweep.journal",
        "-q",
    )
    assert code == 0, err
    assert hpsweep_out == out


# ------------------------------------------------------------------------ hpsweep run


def test_hpsweep_run_reads_the_template_and_each_run_adds_trials(
    example: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["run", "optimize_template.yaml", "--set", "run_config=run_template.yaml"]
    argv += ["--objective", "train:train", "-q"]
    code, out, err = run_cli(capsys, *argv, "--set", "trials=2")
    assert code == 0, err
    assert (example / "Axect_Example_Opt.db").exists()  # sqlite:///{project}_Opt.db
    lines = out.splitlines()
    assert lines[:3] == ["Best trial:", lines[1], "  Params: "]
    assert re.fullmatch(r"  Value: 0\.\d+", lines[1])
    assert [line.split(":")[0] for line in lines[3:8]] == [
        "    net_config_nodes",
        "    net_config_layers",
        "    optimizer_config_lr",
        "    scheduler_config_upper_bound",
        "    scheduler_config_min_lr",
    ]
    assert re.fullmatch(r"  Path: runs/Axect_Example_Opt/MLP_n_\d+_l_\d_SP_l_.*\[\d\]", lines[8])
    assert "2 in the study" in err
    code, out, err = run_cli(capsys, *argv, "--set", "trials=1")  # `trials` more, not a total
    assert code == 0, err
    assert "3 in the study" in err and out.startswith("Best trial:\n")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ((), "nothing to run: give an objective"),
        (("--objective", "train:train", "--sampler", "tpee"), "unknown sampler 'tpee'"),
    ],
)
def test_bad_input_leaves_no_store_behind(
    example: Path, capsys: pytest.CaptureFixture[str], extra: tuple[str, ...], message: str
) -> None:
    argv = ["run", "optimize_template.yaml", "--set", "run_config=run_template.yaml", *extra]
    before = sorted(p.name for p in example.iterdir())
    code, _, err = run_cli(capsys, *argv)
    assert code == 2 and message in err
    assert sorted(p.name for p in example.iterdir()) == before  # no Axect_Example_Opt.db


def test_run_optimize_from_python(example: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sys.path.insert(0, str(example))
    try:
        from train import train
    finally:
        sys.path.remove(str(example))
    result = run_optimize(
        "optimize_template.yaml",
        train,
        run_config="run_template.yaml",
        storage="study.journal",
    )
    assert len(result.trials) == 6
    assert set(result.best_params) == {
        "net_config_nodes",
        "net_config_layers",
        "optimizer_config_lr",
        "scheduler_config_upper_bound",
        "scheduler_config_min_lr",
    }
    assert capsys.readouterr().out.startswith("Best trial:\n")


def test_objective_gets_the_run_config_with_params_nested(
    example: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seen: list[dict[str, Any]] = []

    def record(config: dict[str, Any]) -> float:
        seen.append(config)
        return 1.0

    run_optimize(
        "optimize_template.yaml", record, run_config="run_template.yaml", storage="x.journal"
    )
    config = seen[0]
    assert config["project"] == "Axect_Example_Opt"  # as the template's objective sets it
    assert config["seeds"] == [89, 231] and config["optimizer_config"]["eps"] == 1e-10
    assert set(config["net_config"]) == {"nodes", "layers"}
    assert config["net_config"]["nodes"] in (8, 16, 32)
    assert "net_config_nodes" not in config


# ------------------------------------------------------------------------ malformed input


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda t: t + "epochs: 3\n", r"opt\.yaml: unknown key 'epochs'.*takes study_name"),
        (
            lambda t: t + "trails: 3\n",
            r"opt\.yaml: unknown key 'trails'; did you mean 'trials'\?",
        ),
        (
            lambda t: t + "seed: 1\n",
            r"opt\.yaml: line \d+: duplicate key 'seed' \(first on line 3\); keep only one",
        ),
        (
            lambda t: t.replace("seed: 42\n", ""),
            r"opt\.yaml: missing key 'seed'; add it, e\.g\. seed: 42",
        ),
        (
            lambda t: t.replace("trials: 20", "trials: twenty"),
            r"trials must be a whole number >= 1",
        ),
        (
            lambda t: t.replace("direction: minimize", "direction: minimise"),
            r"did you mean 'minimize'",
        ),
        (
            lambda t: t.replace("type: int\n      min: 3", "type: integer\n      min: 3"),
            r"search_space\.net_config\.layers\.type is 'integer'; it must be int, float or "
            r"categorical; did you mean 'int'\?",
        ),
        (
            lambda t: t.replace("min: 3\n", "lower: 3\n"),
            r"search_space\.net_config\.layers: unknown key 'lower' for type int",
        ),
        (
            lambda t: t.replace("choices: [32, 64, 128]", "choices: 32"),
            r"search_space\.net_config\.nodes\.choices must be a non-empty list",
        ),
        (
            lambda t: t.replace("min: 1.e-3", "min: small"),
            r"optimizer_config\.lr\.min must be a number",
        ),
        (
            lambda t: t.replace("min: 3\n      max: 5", "min: 5\n      max: 3"),
            r"search_space\.net_config\.layers: `low <= high` must hold",
        ),
        (
            lambda t: t.replace("top_k: 10", "topk: 10"),
            r"pruner\.kwargs\.topk: PFLPruner takes no 'topk'; did you mean 'top_k'\?",
        ),
        (
            lambda t: t.replace("top_k: 10", "variant: v2026"),
            r"pruner\.kwargs\.variant must be raw .* or log10",
        ),
        (
            lambda t: t.replace(
                "name: optuna.samplers.TPESampler", "name: optuna.samplers.GridSampler"
            ),
            r"search_space\.net_config\.layers: Unsupported grid search space type: int; "
            "GridSampler grids only categorical params",
        ),
        (
            lambda t: t.replace("sampler:\n  name", "sampler:\n  nmae"),
            r"sampler: unknown key 'nmae'; did you mean 'name'\?",
        ),
        (
            lambda t: t.replace(
                "  scheduler_config:\n",
                "  net:\n    config_nodes: {type: int, min: 1, max: 2}\n  scheduler_config:\n",
            ),
            r"search_space\.net\.config_nodes and search_space\.net_config\.nodes are both "
            "searched as 'net_config_nodes'",
        ),
    ],
)
def test_malformed_files_fail_in_one_line_naming_file_key_and_fix(
    workdir: Path, capsys: pytest.CaptureFixture[str], change: Any, expected: str
) -> None:
    write(workdir / "opt.yaml", change(HEAD))
    code, out, err = run_cli(capsys, "run", "opt.yaml", "--objective", "x:y")
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("hpsweep: error: ")
    assert re.search(expected, err), err


@pytest.mark.parametrize(
    ("sets", "expected"),
    [
        (["trails=3"], r"--set trails: opt\.yaml has no key 'trails'; did you mean 'trials'\?"),
        (["project"], r"--set 'project': expected KEY=VALUE"),
        (["seed.value=1"], r"--set seed\.value: 'seed' is not a mapping in opt\.yaml"),
        (["run_config=missing.yaml"], r"config file missing\.yaml does not exist"),
    ],
)
def test_malformed_sets_fail_in_one_line(
    workdir: Path, capsys: pytest.CaptureFixture[str], sets: list[str], expected: str
) -> None:
    write(workdir / "opt.yaml", HEAD)
    argv = ["run", "opt.yaml", "--objective", "x:y"]
    for item in sets:
        argv += ["--set", item]
    code, out, err = run_cli(capsys, *argv)
    assert code == 2 and err.count("\n") == 1
    assert re.search(expected, err), err


def test_constructing_a_bad_optimize_config_fails_in_one_line() -> None:
    document = yaml.safe_load(HEAD)
    document["direction"] = "up"
    with pytest.raises(ConfigError, match="^direction must be minimize or maximize, got 'up'$"):
        OptimizeConfig(**document)
    with pytest.raises(TypeError):  # unknown fields stay a TypeError, as with the template
        OptimizeConfig(**yaml.safe_load(HEAD), epochs=3)  # type: ignore[call-arg]
