from __future__ import annotations

from pathlib import Path

import pytest

from hpsweep._config import Algorithm
from hpsweep._config import SweepConfig
from hpsweep._config import from_mapping
from hpsweep._config import load_config
from hpsweep._errors import ConfigError
from hpsweep.space import Choice
from hpsweep.space import Float
from hpsweep.space import Int


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


SWEEP = """
study: demo
n_trials: 20
direction: maximize
metric: acc
sampler: {name: tpe, kwargs: {n_startup_trials: 5}}
params: {epochs: 10, model: {depth: 2}}
space:
  lr: {type: float, min: 1e-5, max: 1.0e-1, log: true}
  layers: {type: int, low: 1, high: 4}
"""


def test_yaml_file_is_read_with_numeric_strings_and_synonyms(tmp_path: Path) -> None:
    config = load_config(write(tmp_path / "sweep.yaml", SWEEP), environ={})
    assert config.study == "demo" and config.n_trials == 20
    assert config.directions == ("maximize",) and config.metrics == ("acc",)
    assert config.sampler.name == "tpe" and config.sampler.kwargs == {"n_startup_trials": 5}
    assert config.space["lr"] == Float(1e-5, 1e-1, log=True)
    assert config.space["layers"] == Int(1, 4)


def test_precedence_defaults_file_env_flags(tmp_path: Path) -> None:
    path = write(tmp_path / "sweep.yaml", SWEEP)
    assert load_config(path, environ={}).jobs is None
    assert load_config(path, environ={"HPSWEEP_N_TRIALS": "30"}).n_trials == 30
    config = load_config(path, environ={"HPSWEEP_N_TRIALS": "30"}, flags={"n_trials": 40})
    assert config.n_trials == 40
    # inside a trial, HPSWEEP_* describe the trial and are not settings
    inside = load_config(path, environ={"HPSWEEP_TRIAL_ID": "3", "HPSWEEP_STUDY": "other"})
    assert inside.study == "demo"


def test_set_is_command_line_so_it_wins_over_the_environment(tmp_path: Path) -> None:
    path = write(tmp_path / "sweep.yaml", SWEEP)
    env = {"HPSWEEP_N_TRIALS": "5", "HPSWEEP_PRUNER": "hyperband", "HPSWEEP_SEED": "4"}
    config = load_config(path, sets=["n_trials=2", "pruner.name=percentile"], environ=env)
    assert config.n_trials == 2 and config.pruner.name == "percentile"
    assert config.seed == 4  # a key --set does not name still comes from the environment
    # a param or space param set by --set leaves the environment's settings alone
    config = load_config(path, sets=["epochs=3", "lr=0.1"], environ=env)
    assert config.n_trials == 5 and config.params["epochs"] == 3
    # flags win over both
    config = load_config(path, sets=["n_trials=2"], flags={"n_trials": 3}, environ=env)
    assert config.n_trials == 3
    assert load_config(path, flags={"n_trials": 3}, environ=env).n_trials == 3


def test_a_setting_overrides_its_other_spelling_in_a_lower_layer(tmp_path: Path) -> None:
    path = write(
        tmp_path / "sweep.yaml", "directions: [minimize]\nmetrics: [loss]\nscheduler: asha\n"
    )
    env = {"HPSWEEP_DIRECTION": "maximize", "HPSWEEP_METRIC": "acc", "HPSWEEP_PRUNER": "none"}
    config = load_config(path, environ=env)
    assert config.directions == ("maximize",) and config.metrics == ("acc",)
    assert config.pruner.name == "none"
    sets = ["directions=[minimize, maximize]", "metrics=[loss, acc]"]
    config = load_config(path, sets=sets, environ=env)
    assert config.directions == ("minimize", "maximize") and config.metrics == ("loss", "acc")
    flagged = load_config(path, flags={"direction": "maximize", "pruner": "median"}, environ={})
    assert flagged.directions == ("maximize",) and flagged.pruner.name == "median"


def test_environment_sets_every_scalar_setting(tmp_path: Path) -> None:
    env = {
        "HPSWEEP_STUDY": "1.10",  # names are taken as written, not typed as YAML
        "HPSWEEP_STORAGE": "sqlite:///x.db",
        "HPSWEEP_DIRECTION": "max",
        "HPSWEEP_METRIC": "acc",
        "HPSWEEP_N_TRIALS": "7",
        "HPSWEEP_JOBS": "2",
        "HPSWEEP_GPUS": "0,1",
        "HPSWEEP_PER_GPU": "2",
        "HPSWEEP_GPUS_PER_TRIAL": "1",
        "HPSWEEP_SAMPLER": "{name: tpe, kwargs: {n_startup_trials: 3}}",
        "HPSWEEP_PRUNER": "none",
        "HPSWEEP_SEED": "9",
        "HPSWEEP_OBJECTIVE": "train:objective",
        "HPSWEEP_SHELL": "1",
        "HPSWEEP_TIMEOUT": "60",
        "HPSWEEP_TRIAL_TIMEOUT": "1e1",
        "HPSWEEP_MAX_FAILURES": "4",
        "HPSWEEP_RETRIES": "2",
        "HPSWEEP_GRACE": "3",
        "HPSWEEP_TARGET": "0.5",
        "HPSWEEP_RUN_DIR": "runs",
        "HPSWEEP_TRIAL_CWD": "trial",
        "HPSWEEP_EXECUTOR": "process",
        "HPSWEEP_HEARTBEAT_EXPIRY": "30",
        "HPSWEEP_RAY_ADDRESS": "auto",
    }
    config = load_config(None, environ=env)
    assert (config.study, config.storage) == ("1.10", "sqlite:///x.db")
    assert config.directions == ("maximize",) and config.metrics == ("acc",)
    assert (config.n_trials, config.jobs, config.seed) == (7, 2, 9)
    assert (config.gpus, config.per_gpu, config.gpus_per_trial) == (("0", "1"), 2, 1)
    assert config.sampler == Algorithm("tpe", {"n_startup_trials": 3})
    assert config.pruner == Algorithm("none")
    assert config.objective == "train:objective" and config.shell is True
    assert (config.timeout, config.trial_timeout, config.grace) == (60.0, 10.0, 3.0)
    assert (config.max_failures, config.retries, config.target) == (4, 2, 0.5)
    assert (config.run_dir, config.trial_cwd, config.executor) == ("runs", "trial", "process")
    assert (config.heartbeat_expiry, config.ray_address) == (30.0, "auto")
    # inside a trial the same names describe the trial, so none of them is a setting
    assert load_config(None, environ={**env, "HPSWEEP_TRIAL_ID": "3"}) == load_config(
        None, environ={}
    )


def test_environment_values_that_unset_or_say_none(tmp_path: Path) -> None:
    path = write(tmp_path / "sweep.yaml", SWEEP + "timeout: 60\nshell: true\n")
    config = load_config(path, environ={"HPSWEEP_TIMEOUT": "none", "HPSWEEP_N_TRIALS": ""})
    assert config.timeout is None  # `none` removes the file's timeout
    assert config.n_trials == 20  # an empty variable counts as unset
    for text, shell in (("0", False), ("false", False), ("true", True)):
        assert load_config(path, environ={"HPSWEEP_SHELL": text}).shell is shell


@pytest.mark.parametrize(
    ("variable", "text", "message"),
    [
        ("HPSWEEP_SEED", "abc", "seed must be an integer >= 0, got 'abc'"),
        ("HPSWEEP_N_TRIALS", "0", "n_trials must be an integer >= 1, got 0"),
        ("HPSWEEP_GRACE", "soon", "grace must be a number, got 'soon'"),
        ("HPSWEEP_DIRECTION", "up", "direction must be minimize or maximize, got 'up'"),
        (
            "HPSWEEP_OBJECTIVE",
            "train",
            "objective must be module:function (e.g. train:objective), got 'train'",
        ),
        ("HPSWEEP_SHELL", "maybe", "shell must be true or false, got 'maybe'"),
        (
            "HPSWEEP_TRIAL_CWD",
            "trail",
            "trial_cwd must be one of start, trial, got 'trail'; did you mean 'trial'?",
        ),
        ("HPSWEEP_SAMPLER", "{nme: tpe}", "sampler: unknown key 'nme'; did you mean 'name'?"),
    ],
)
def test_bad_environment_values_name_the_variable(variable: str, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(None, environ={variable: text})
    assert str(info.value) == f"environment variable {variable}: {message}"


def test_set_overrides_config_keys_params_and_space(tmp_path: Path) -> None:
    path = write(tmp_path / "sweep.yaml", SWEEP)
    config = load_config(
        path,
        sets=["n_trials=7", "params.model.depth=5", "epochs=3", "lr=0.01", "sampler.name=random"],
        environ={},
    )
    assert config.n_trials == 7
    assert config.params == {"epochs": 3, "model": {"depth": 5}}
    assert config.space["lr"].value == 0.01  # type: ignore[union-attr]
    assert config.sampler.name == "random"


@pytest.mark.parametrize("item", ["pruner=none", "pruner.name=none", "pruner=None"])
def test_set_takes_names_as_written(tmp_path: Path, item: str) -> None:
    """`none` is YAML's null, which would mean "the default pruner" (median): as a name it is
    the pruner that prunes nothing, which is what the user asked for."""
    path = write(tmp_path / "sweep.yaml", SWEEP)
    config = load_config(path, sets=[item, "study=1.10"], environ={})
    assert config.pruner.name.lower() == "none" and config.study == "1.10"
    assert load_config(path, sets=["epochs=none"], environ={}).params["epochs"] is None


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("n_trails=3", "--set n_trails: unknown key 'n_trails'; did you mean 'n_trials'?"),
        ("noequals", "--set 'noequals': expected KEY=VALUE, e.g. --set params.epochs=3"),
        ("epochs.x=1", "--set epochs.x: 'epochs' is not a mapping, so it has no key 'x'"),
    ],
)
def test_bad_set_items(tmp_path: Path, item: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path / "sweep.yaml", SWEEP), sets=[item], environ={})
    assert str(info.value) == message


def test_study_name_defaults_to_the_file_stem(tmp_path: Path) -> None:
    config = load_config(write(tmp_path / "my-sweep.yaml", "n_trials: 3\n"), environ={})
    assert config.study == "my-sweep"
    assert load_config(None, environ={}).study == "default"


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"n_trial": 3}, "unknown key 'n_trial'; did you mean 'n_trials'?"),
        ({"n_trials": 0}, "n_trials must be an integer >= 1, got 0"),
        ({"n_trials": "many"}, "n_trials must be an integer >= 1, got 'many'"),
        ({"jobs": 1.5}, "jobs must be an integer >= 1, got 1.5"),
        ({"direction": "up"}, "direction must be minimize or maximize, got 'up'"),
        (
            {"directions": ["minimize"], "direction": "minimize"},
            "give direction (one objective) or directions (several), not both",
        ),
        (
            {"directions": ["minimize", "maximize"], "metric": "loss"},
            "1 metric(s) ['loss'] for 2 direction(s); give one metric per direction",
        ),
        ({"timeout": -1}, "timeout must be > 0 seconds, got -1"),
        ({"sampler": {"nme": "tpe"}}, "sampler: unknown key 'nme'; did you mean 'name'?"),
        (
            {"objective": "train"},
            "objective must be module:function (e.g. train:objective), got 'train'",
        ),
        (
            {"command": "python train.py"},
            "command must be a list of arguments, e.g. [python, train.py, --lr, '{lr}'] (a string "
            "is never split; set shell: true to run it through /bin/sh)",
        ),
        (
            {"objective": "a:b", "command": ["x"]},
            "give either objective (a Python function) or command, not both",
        ),
        (
            {"trial_cwd": "trail"},
            "trial_cwd must be one of start, trial, got 'trail'; did you mean 'trial'?",
        ),
    ],
)
def test_invalid_documents(document: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        from_mapping(document, source="sweep.yaml")
    assert str(info.value) == f"sweep.yaml: {message}"


def test_yaml_errors_name_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.yaml", "study: a\nn_trials: 3\nn_trials: 4\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    assert (
        str(info.value) == f"{path}: line 3: duplicate key 'n_trials' (first on line 2); "
        "keep only one"
    )
    broken = write(tmp_path / "broken.yaml", "space: {lr: [1, 2\n")
    with pytest.raises(ConfigError, match=r"broken.yaml: line \d+, column \d+: .*fix the YAML"):
        load_config(broken, environ={})
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "missing.yaml", environ={})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("study: s\n\nn_trails: 3\n", "line 3: unknown key 'n_trails'; did you mean 'n_trials'?"),
        ("# runs\nn_trials: 0\n", "line 2: n_trials must be an integer >= 1, got 0"),
        (
            "space:\n  lr:\n    type: float\n    low: 0\n    high: big\n",
            "line 5: space.lr.high: expected a number, got 'big'",
        ),
        (
            "space:\n  lr:\n    type: float\n    low: 0\n    high: 1\n    lgo: true\n",
            "line 6: space.lr: unknown key 'lgo'; did you mean 'log'?",
        ),
        (
            "space:\n  lr:\n    type: flaot\n    low: 0\n",
            "line 3: space.lr: unknown type 'flaot'; did you mean 'float'?",
        ),
        (
            "space:\n  opt: [adam, sgd]\n  m:\n    type: float\n    low: 0\n    high: 1\n"
            "    when: {opt: rmsprop}\n",
            "line 7: space.m: the condition opt='rmsprop' of 'm' can never hold: 'opt' takes one "
            "of 'adam', 'sgd'; change the condition or the definition of 'opt'",
        ),
        (
            "space:\n  m:\n    type: int\n    low: 0\n    high: 3\n    when: [opt]\n",
            "line 6: space.m.when: expected a mapping of parameter names to required values, e.g."
            " {opt: sgd} or {opt: [adam, adamw]}, but got a list",
        ),
        (
            "sampler:\n  name: tpe\n  kwargs: [1]\n",
            "line 3: sampler.kwargs must be a mapping, got [1]",
        ),
        ("pruner:\n  nme: median\n", "line 2: pruner: unknown key 'nme'; did you mean 'name'?"),
        ("pruner:\n  name: {a: 1}\n", "line 2: pruner.name must be a string, got {'a': 1}"),
        (
            "initial_points:\n  - lr: 0.1\n  - lr: 0.2\n    layers: {n: 2}\n",
            "line 4: initial_points[1]: 'layers': {'n': 2} is not param: value",
        ),
        (
            "constraints:\n  - acc >= 0.9\n  - acc\n",
            "line 3: constraint 'acc' needs exactly one comparison (<= or >=), found 0; write "
            "e.g. 'acc >= 0.9' or 'latency_ms + load_ms <= 20'",
        ),
        (
            "constraints:\n  - acc >= 0.9\n  - acc >= 0.9\n",
            "line 1: constraint 'acc >= 0.9' is given twice; remove one",
        ),
        ("n_trials: 3\nparams: 5\n", "line 2: params must be a mapping of fixed values, got 5"),
        (
            "directions:\n  - minimize\n  - up\n",
            "line 3: direction must be minimize or maximize, got 'up'",
        ),
        (
            "scheduler:\n  name: asha\n  max_t: 0\n",
            "line 3: scheduler.max_t must be an integer >= 1, got 0",
        ),
        (
            "resources_per_trial:\n  cpu: 1\n  gpu: -1\n",
            "line 3: resources_per_trial.gpu must be >= 0, got -1",
        ),
        (
            "objective: a:b\nn_trials: 3\ncommand: [python, t.py]\n",
            "line 3: give either objective (a Python function) or command, not both",
        ),
    ],
)
def test_errors_about_a_yaml_value_name_its_line(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path / "s.yaml", text)
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    assert str(info.value) == f"{path}: {message}"


def test_a_value_that_aliases_repeat_has_its_lines_where_it_is_written(tmp_path: Path) -> None:
    path = write(
        tmp_path / "s.yaml",
        "space:\n  a: &rate {type: float, low: zero, high: 1}\n  b: *rate\n",
    )
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    assert str(info.value) == f"{path}: line 2: space.a.low: expected a number, got 'zero'"
    # written under params first: under space, its keys have the line of the alias
    path = write(
        tmp_path / "s.yaml",
        "params:\n  rate: &rate\n    type: float\n    low: zero\n    high: 1\n"
        "space:\n  lr: *rate\n",
    )
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    assert str(info.value) == f"{path}: line 7: space.lr.low: expected a number, got 'zero'"


def test_values_from_outside_the_file_name_no_line(tmp_path: Path) -> None:
    """A value that --set, a variable or a flag replaced is not on any line of the file."""
    path = write(tmp_path / "s.yaml", "study: s\nn_trials: 5\nsampler: {name: tpe, kwargs: 5}\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, sets=["n_trials=0"], environ={})
    assert str(info.value) == f"{path}: n_trials must be an integer >= 1, got 0"
    with pytest.raises(ConfigError) as info:
        load_config(path, flags={"n_trials": 0}, environ={})
    assert str(info.value) == f"{path}: n_trials must be an integer >= 1, got 0"
    with pytest.raises(ConfigError) as info:
        load_config(path, sets=["sampler.kwargs=[1]"], environ={})
    assert str(info.value) == f"{path}: sampler.kwargs must be a mapping, got [1]"
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={"HPSWEEP_N_TRIALS": "0"})
    assert str(info.value) == (
        "environment variable HPSWEEP_N_TRIALS: n_trials must be an integer >= 1, got 0"
    )
    # the file's other values keep their lines
    with pytest.raises(ConfigError) as info:
        load_config(path, sets=["n_trials=3", "sampler.name=random"], environ={})
    assert str(info.value) == f"{path}: line 3: sampler.kwargs must be a mapping, got 5"


def test_cli_params_merge_over_the_file(tmp_path: Path) -> None:
    config = load_config(
        write(tmp_path / "sweep.yaml", SWEEP),
        environ={},
        cli_space=["layers=int(2,8)", "opt=choice(adam,sgd)"],
    )
    assert config.space["layers"] == Int(2, 8)
    assert config.space["opt"] == Choice(["adam", "sgd"])
    assert config.space.names[0] == "lr"


def test_config_round_trips_through_its_mapping(tmp_path: Path) -> None:
    config = load_config(
        write(tmp_path / "sweep.yaml", SWEEP),
        environ={},
        flags={"retries": 2, "trial_timeout": 30},
    )
    again = from_mapping(config.to_mapping())
    assert (
        again
        == SweepConfig(**{**again.__dict__, "source": None})
        == SweepConfig(**{**config.__dict__, "source": None})
    )


def test_fixing_a_param_drops_the_params_that_can_no_longer_exist(tmp_path: Path) -> None:
    path = write(
        tmp_path / "sweep.yaml",
        """
space:
  optimizer: [adam, sgd]
  momentum: {type: float, low: 0.0, high: 0.99, when: {optimizer: sgd}}
  nesterov: {type: categorical, choices: [true, false], when: {momentum: 0.5}}
  lr: {type: float, low: 1.0e-4, high: 1.0, log: true}
""",
    )
    config = load_config(path, sets=["optimizer=adam"], environ={})
    assert config.space.names == ("optimizer", "lr")
    kept = load_config(path, sets=["optimizer=sgd"], environ={})
    assert kept.space.names == ("optimizer", "momentum", "nesterov", "lr")
