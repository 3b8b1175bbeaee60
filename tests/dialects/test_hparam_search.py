"""The @hparam_search decorator: its YAML, `--set` casts and printouts, parallel trials that need
no pickling, failures that do not stop the study, and an exact study total (seed-systems.md §4,
§6 items 22-26)."""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import optuna
import pytest

from hpsweep._errors import ConfigError
from hpsweep.compat import hparam_search
from hpsweep.dialects._hparam_search import apply_overrides
from hpsweep.dialects._hparam_search import convert_string_to_type
from support import clean_env

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "hparam_search"

CONFIG = """\
experiment_name: "exp"
tag: "t"
hidden_layers: 8
model: {first_layer: {bias: true}}
direction: "minimize"
n_jobs: 1
n_trials: 5
sampler:
  n_startup_trials: 3
sweep_parameters:
  learning_rate: {type: "float", low: 5.0e-5, high: 1.0e-2, log: true}
  num_epochs: {type: "int", low: 10, high: 100, step: 10}
  optimizer: {type: "categorical", choices: ["Adam", "RMSprop", "SGD"]}
"""


BOMB = "".join(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}' if i else 'x'] * 10)}]\n" for i in range(6))
"""Six levels of YAML aliases, ten each: a million values in a few lines."""


@pytest.fixture
def project(workdir: Path) -> Path:
    (workdir / "config").mkdir()
    (workdir / "config" / "config.yaml").write_text(CONFIG)
    return workdir


def stored(path: str) -> optuna.Study:
    name = Path(path).stem
    return optuna.load_study(study_name=name, storage=f"sqlite:///{path}")


# ------------------------------------------------------------------------ --set


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("None", None),
        (" none ", None),
        ("TRUE", True),
        ("false", False),
        ("42", 42),
        (" 7 ", 7),
        ("1_000", 1000),
        ("1e-3", 0.001),
        ("inf", math.inf),
        ("[1, 2]", [1, 2]),
        ("{'a': 1}", {"a": 1}),
        ("(1, 'x')", (1, "x")),
        ("'q'", "q"),
        ("0x10", 16),
        ("adam", "adam"),
        ("__import__('os').getcwd()", "__import__('os').getcwd()"),  # no code runs
        ("[" * 5000, "[" * 5000),  # too deep for the parser: stays a string
    ],
)
def test_set_values_are_cast_in_the_decorators_order(text: str, value: Any) -> None:
    result = convert_string_to_type(text)
    assert result == value and type(result) is type(value)


def test_nan_is_a_float() -> None:
    assert math.isnan(convert_string_to_type("nan"))


def test_overrides_set_nested_keys_and_refuse_missing_paths() -> None:
    config: dict[str, Any] = {"model": {"first_layer": {"bias": True}}, "n_trials": 5}
    applied = apply_overrides(
        config, ["n_trials=200", "model.first_layer.bias=False", "tag=x=y"], source="c.yaml"
    )
    assert applied == [("n_trials", 200), ("model.first_layer.bias", False), ("tag", "x=y")]
    assert config["model"]["first_layer"]["bias"] is False and config["tag"] == "x=y"
    for item, expected in (
        ("model.second_layer.bias=1", r"'model\.second_layer' has no key c\.yaml.*first_layer"),
        ("n_trials.x=1", r"'n_trials' is not a mapping in c\.yaml"),
        ("n_trials", r"--set 'n_trials': expected KEY=VALUE"),
    ):
        with pytest.raises(ConfigError, match=expected):
            apply_overrides(config, [item], source="c.yaml")


# ------------------------------------------------------------------------ in this process


def test_one_job_runs_in_this_process_and_prints_as_the_decorator(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seen: list[dict[str, Any]] = []

    @hparam_search("config.yaml", save_db_directory="./studies")
    def train(config: dict[str, Any]) -> float:
        seen.append(config)
        if config["optimizer"] == "SGD":
            raise ValueError("CUDA out of memory")
        return float(config["learning_rate"] * config["num_epochs"])

    result = train(["--set", "n_trials=6", "model.first_layer.bias=False"])
    out = capsys.readouterr().out
    url = "sqlite:///./studies/exp_t.db"
    assert out.startswith(
        "Applying 2 command-line overrides...\n"
        "  - Overrode 'n_trials' to '6'\n"
        "  - Overrode 'model.first_layer.bias' to 'False'\n"
        "\n" + "=" * 50 + "\n"
        "Starting Hyperparameter Search\n"
        "Study Name: exp_t\n"
        f"Storage URL: {url}\n"
        "Total Trials: 6\n"
        "Parallel Jobs: 1\n" + "=" * 50 + "\n\n"
        f"Initializing study 'exp_t' at {url}...\n"
        f"Worker process (PID: {os.getpid()}) started.\n"
    )
    assert out.endswith(
        "\n" + "=" * 50 + "\nHyperparameter search complete.\n"
        f"Results are stored in: {url}\n" + "=" * 50 + "\n"
    )
    assert len(result.trials) == 6 and len(seen) == 6
    failed = [t for t in result.trials if t.state == "fail"]
    for trial in failed:  # recorded as FAIL, as the decorator's trials end up
        assert (
            f"Trial {trial.number} failed with exception: CUDA out of memory. Pruning trial.\n"
            in out
        )
        assert trial.user_attrs["error"] == "ValueError: CUDA out of memory"
    config = seen[0]
    assert config["model"]["first_layer"]["bias"] is False and config["n_jobs"] == 1
    assert "sweep_parameters" in config and config["hidden_layers"] == 8
    assert {c["num_epochs"] % 10 for c in seen} == {0}  # `step` is honoured
    assert (project / "studies" / "exp_t.db").exists()


def test_the_study_total_holds_across_runs(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    @hparam_search("config.yaml", save_db_directory="db")
    def train(config: dict[str, Any]) -> float:
        return float(config["learning_rate"])

    assert len(train(["--set", "n_trials=3"]).trials) == 3
    assert len(train([]).trials) == 5  # the same study resumed up to its n_trials
    assert len(train([]).trials) == 5
    assert "Total Trials: 5" in capsys.readouterr().out


def test_direction_and_startup_trials(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    @hparam_search("config.yaml")
    def train(config: dict[str, Any]) -> float:
        return float(config["num_epochs"])

    result = train(["--set", "direction=maximize", "n_trials=2"])
    assert result.directions == ("maximize",)
    assert (project / "exp_t.db").exists()  # save_db_directory defaults to "."
    study = stored("exp_t.db")
    assert study.user_attrs["hpsweep.config"]["sampler"] == {
        "name": "tpe",
        "kwargs": {"n_startup_trials": 3},
    }


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda t: t.replace("n_jobs: 1\n", ""),
            r"config/config\.yaml: missing key 'n_jobs'; add it",
        ),
        (
            lambda t: t.replace("n_trials: 5", "n_trials: ten"),
            r"n_trials must be a whole number >= 1",
        ),
        (
            lambda t: t.replace('type: "int"', 'type: "integer"'),
            r"sweep_parameters\.num_epochs\.type is 'integer'; it must be float, int or "
            r"categorical.*skipped other types silently",
        ),
        (
            lambda t: t.replace("low: 10,", "lo: 10,"),
            r"sweep_parameters\.num_epochs: unknown key 'lo' for type int; did you mean 'low'\?",
        ),
        (
            lambda t: t.replace("n_startup_trials: 3", "n_startup: 3"),
            r"sampler: unknown key 'n_startup'; the sampler \(TPE\) takes only n_startup_trials",
        ),
        (
            lambda t: t + "n_jobs: 2\n",
            r"line 14: duplicate key 'n_jobs' \(first on line 6\); keep only one",
        ),
        (lambda t: t.replace('direction: "minimize"', "direction: min"), r"direction must be"),
        (
            lambda t: t.replace('choices: ["Adam", "RMSprop", "SGD"]', "choices: Adam"),
            r"sweep_parameters\.optimizer\.choices must be a non-empty list",
        ),
        (lambda t: t.replace("high: 100", "high: 5"), r"num_epochs: `low <= high` must hold"),
        (lambda t: t + BOMB, r"the config stands for more than 100000 values"),
    ],
)
def test_malformed_configs_fail_in_one_line_naming_file_key_and_fix(
    project: Path, capsys: pytest.CaptureFixture[str], change: Callable[[str], str], expected: str
) -> None:
    (project / "config" / "config.yaml").write_text(change(CONFIG))

    @hparam_search("config.yaml")
    def train(config: dict[str, Any]) -> float:
        return 0.0

    with pytest.raises(SystemExit) as exit_:
        train([])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and err.count("\n") == 1
    assert err.startswith("hparam_search: error: config/config.yaml: ")
    assert re.search(expected, err), err


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--set", "model.second.bias=1"], r"'model\.second' has no key config/config\.yaml"),
        (["--set", "n_trials"], r"--set 'n_trials': expected KEY=VALUE"),
        (["--config", "x"], r"unrecognized arguments: --config x"),
    ],
)
def test_malformed_command_lines_exit_2(
    project: Path, capsys: pytest.CaptureFixture[str], argv: list[str], expected: str
) -> None:
    @hparam_search("config.yaml")
    def train(config: dict[str, Any]) -> float:
        return 0.0

    with pytest.raises(SystemExit) as exit_:
        train(argv)
    assert exit_.value.code == 2
    assert re.search(expected, capsys.readouterr().err)


def test_a_missing_config_file_is_one_line(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    @hparam_search("missing.yaml")
    def train(config: dict[str, Any]) -> float:
        return 0.0

    with pytest.raises(SystemExit):
        train([])
    assert capsys.readouterr().err == (
        "hparam_search: error: config file config/missing.yaml does not exist; check the path\n"
    )


def test_a_dict_runs_one_trial(capsys: pytest.CaptureFixture[str]) -> None:
    @hparam_search("config.yaml")
    def train(config: dict[str, Any]) -> float:
        return float(config["x"])

    assert train({"x": 2}) == 2.0
    assert capsys.readouterr().out == f"Worker process (PID: {os.getpid()}) started.\n"


# ------------------------------------------------------------------------ worker processes


def run_script(directory: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "your_script.py", *argv],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=120,
        env=clean_env(),
    )


def test_jobs_run_in_worker_processes_that_import_the_function(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "trainmod.py").write_text(
        "import multiprocessing\n"
        "import os\n"
        "from hpsweep.compat import hparam_search\n"
        "multiprocessing.set_start_method('spawn', force=True)\n\n"
        "@hparam_search('config.yaml')\n"
        "def train(config):\n"
        "    return float(os.getpid())\n"
    )
    monkeypatch.syspath_prepend(str(project))
    from trainmod import train  # type: ignore[import-not-found]

    result = train(["--set", "n_jobs=2", "n_trials=3"])
    pids = {t.value for t in result.trials}
    assert len(pids) == 3 and os.getpid() not in pids  # one fresh process per trial
    assert "Worker process (PID: " not in capsys.readouterr().out  # they print in their logs
    log = project / "hpsweep-runs" / "exp_t" / "trial-0" / "stdout.log"
    assert log.read_text().startswith("Worker process (PID: ")


def test_a_script_without_a_main_guard_runs_its_jobs_in_worker_processes(
    project: Path,
) -> None:
    """Workers import the script, which calls train() at the top level: that call must not
    start a study inside each worker (it would read the worker's own command line)."""
    (project / "noguard.py").write_text(
        "import os\n"
        "from hpsweep.compat import hparam_search\n\n"
        "@hparam_search('config.yaml')\n"
        "def train(config):\n"
        "    return float(os.getpid())\n\n"
        "train()\n"
    )
    done = subprocess.run(
        [sys.executable, "noguard.py", "--set", "n_jobs=2", "n_trials=4"],
        cwd=project,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    study = stored(str(project / "exp_t.db"))
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.COMPLETE] * 4
    assert len({t.value for t in study.trials}) == 4  # four worker processes


@pytest.mark.slow  # two interpreters and their worker processes: 3 s idle, 9 s under -n 8
def test_the_example_runs_jobs_in_worker_processes_under_spawn(workdir: Path) -> None:
    shutil.copytree(EXAMPLE / "config", workdir / "config")
    script = (EXAMPLE / "your_script.py").read_text()
    # The decorator's own workers could not pickle the decorated function under `spawn`
    # (macOS, Windows); hpsweep's worker processes import it instead.
    spawn = "multiprocessing.set_start_method('spawn', force=True)\n"
    spawned = script.replace(
        "from typing import Any\n", f"import multiprocessing\nfrom typing import Any\n\n{spawn}"
    )
    assert spawned != script
    (workdir / "your_script.py").write_text(spawned)
    done = run_script(
        workdir, "--set", "n_trials=3", "tag=second_sweep", "model.first_layer.bias=False"
    )
    assert done.returncode == 0, done.stderr
    assert "Study Name: ImageNet_exp_second_sweep\n" in done.stdout
    assert "Parallel Jobs: 2\n" in done.stdout
    database = "optuna_studies/ImageNet_exp_second_sweep.db"
    study = stored(database)
    assert len(study.trials) == 3  # n_jobs * ceil(n_trials / n_jobs) = 4 with the decorator
    failed = [t.number for t in study.trials if t.state == optuna.trial.TrialState.FAIL]
    for number in failed:  # SGD without a bias fails; the study goes on
        assert (
            f"Trial {number} failed with exception: SGD needs the bias. Pruning trial."
            in done.stdout
        )
    logs = workdir / "optuna_studies" / "hpsweep-runs" / "ImageNet_exp_second_sweep"
    assert "Worker process (PID: " in (logs / "trial-0" / "stdout.log").read_text()
    assert "--- Starting Trial ---" in (logs / "trial-0" / "stdout.log").read_text()
    again = run_script(workdir, "--set", "n_trials=4", "tag=second_sweep")
    assert again.returncode == 0, again.stderr
    assert len(stored(database).trials) == 4


def test_a_function_no_process_can_import_runs_its_jobs_in_threads(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def make() -> Any:
        @hparam_search("config.yaml")
        def train(config: dict[str, Any]) -> float:
            return float(config["learning_rate"])

        return train

    result = make()(["--set", "n_jobs=2", "n_trials=4"])
    assert len(result.trials) == 4 and {t.state for t in result.trials} == {"complete"}
    assert f"Worker process (PID: {os.getpid()}) started." in capsys.readouterr().out


def test_top_level_n_startup_trials_is_read_with_a_note(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = CONFIG.replace("sampler:\n  n_startup_trials: 3\n", "n_startup_trials: 20\n")
    (project / "config" / "config.yaml").write_text(text)

    @hparam_search("config.yaml")
    def train(config: dict[str, Any]) -> float:
        return 0.0

    train(["--set", "n_trials=1"])
    err = capsys.readouterr().err
    assert (
        "note: config/config.yaml: top-level n_startup_trials (20) configures the sampler" in err
    )
    kwargs = stored("exp_t.db").user_attrs["hpsweep.config"]["sampler"]["kwargs"]
    assert kwargs == {"n_startup_trials": 20}


@pytest.mark.parametrize(
    "module",
    ["hpsweep.compat", "hpsweep.compat.axect", "hpsweep.compat.autogluon", "hpsweep.tune"],
)
def test_trial_side_modules_import_neither_yaml_nor_optuna(module: str) -> None:
    code = (
        f"import sys, {module}; "
        "print(sorted(m for m in ('yaml', 'optuna', 'argparse', 'ray') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
