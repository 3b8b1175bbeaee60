"""The Oríon dialect: the prior grammar, `hpsweep hunt` (command rewriting, the config file) and
`hpsweep info --name` (seed-systems.md §1.6, §6 item 10), down to SpeechBrain's tutorial
command lines run end to end."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from hpsweep._errors import ConfigError
from hpsweep._errors import SpaceError
from hpsweep.cli import main
from hpsweep.cli._hunt import OrionStats
from hpsweep.cli._hunt import render_orion_stats
from hpsweep.cli._hunt import split_command
from hpsweep.dialects import HuntOptions
from hpsweep.dialects import Prior
from hpsweep.dialects import hunt_config
from hpsweep.dialects import parse_prior
from hpsweep.dialects import prior_to_param
from hpsweep.results import read_study
from hpsweep.space import Choice
from hpsweep.space import Fixed
from hpsweep.space import Float
from hpsweep.space import Int

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
PYTHON = sys.executable


@pytest.fixture
def here(workdir: Path) -> Path:
    """An empty working directory holding a train.py, the script every command runs."""
    (workdir / "train.py").write_text("")
    return workdir


def hunt(*command: str, config: str | None = None, **options: Any) -> Any:
    return hunt_config(list(command), HuntOptions(name="exp", config=config, **options))


def error_of(*command: str, config: str | None = None, **options: Any) -> str:
    with pytest.raises(ConfigError) as error:
        hunt(*command, config=config, **options)
    message = str(error.value)
    assert "\n" not in message
    return message


# ------------------------------------------------------------------------ the grammar


@pytest.mark.parametrize(
    ("text", "prior"),
    [
        ("uniform(0, 1)", Prior("uniform", (0, 1))),
        ("uniform(-5,+5.)", Prior("uniform", (-5, 5.0))),
        ("loguniform(1e-4,1e-1)", Prior("loguniform", (1e-4, 1e-1))),
        ("loguniform(1E-4, 1_000)", Prior("loguniform", (1e-4, 1000))),
        ("uniform(1, 10, discrete=True)", Prior("uniform", (1, 10), {"discrete": True})),
        ("normal(0, .5)", Prior("normal", (0, 0.5))),
        ("choices([128,256,512,768,1024])", Prior("choices", ([128, 256, 512, 768, 1024],))),
        ("choices(['relu', \"tanh\"])", Prior("choices", (["relu", "tanh"],))),
        ("choices({'a': 0.2, 'b': 0.8})", Prior("choices", ({"a": 0.2, "b": 0.8},))),
        ("choices([True, None, 1.5, 'x'])", Prior("choices", ([True, None, 1.5, "x"],))),
        ("choices((1, 2),)", Prior("choices", ([1, 2],))),
        ("choices('a', 'b')", Prior("choices", ("a", "b"))),
        ("choices(['it\\'s', 'a\\nb'])", Prior("choices", (["it's", "a\nb"],))),
        ("fidelity(1, 16, base=4)", Prior("fidelity", (1, 16), {"base": 4})),
        ("  uniform ( 0 , 1 , )  ", Prior("uniform", (0, 1))),
        (
            "uniform(0, 1, default_value=0.5, precision=2)",
            Prior("uniform", (0, 1), {"default_value": 0.5, "precision": 2}),
        ),
    ],
)
def test_valid_priors(text: str, prior: Prior) -> None:
    assert parse_prior(text) == prior


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("uniform(0, 1", "ends too early"),
        ("uniform(0, 1))", "after the closing parenthesis"),
        ("uniform(0 1)", "expected ','"),
        ("uniform", "is not a prior; write it as a call"),
        ("", "ends too early"),
        ("choices([relu, tanh])", "'relu' in 'choices([relu, tanh])' is not a value; quote"),
        ("uniform(low=0, 1)", "positional argument after a keyword argument"),
        ("uniform(0, 1, discrete=True, discrete=False)", "gives discrete= twice"),
        ("uniform(0, 1); import os", "unexpected ';'"),
        ("uniform(1e999, 2)", "out of range"),
        ("uniform(-'a', 1)", "needs a number"),
        ("choices({[1]: 0.5})", "a list or dict as a dict key"),
        ("choices(" + "[" * 40 + "]" * 40 + ")", "nests brackets too deeply"),
        ("uniform(0, 1)~x", "unexpected '~'"),
    ],
)
def test_invalid_priors_are_one_line_errors(text: str, message: str) -> None:
    with pytest.raises(SpaceError) as error:
        parse_prior(text)
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_priors_are_never_evaluated() -> None:
    prior = parse_prior("__import__('os')")  # a call shape, but only parsed
    assert prior == Prior("__import__", ("os",))
    with pytest.raises(SpaceError, match="unknown prior __import__"):
        prior_to_param("x", prior)
    with pytest.raises(SpaceError):
        parse_prior("uniform(0, __import__('os').getpid())")


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=60))
def test_any_text_parses_or_fails_with_a_space_error(text: str) -> None:
    try:
        parse_prior(text)
    except SpaceError:
        pass


GRAMMAR_CHARS = st.sampled_from(list("uniformchoes(),[]{}:='\"-+.0123456789eE_ TrueFalsNn\\"))


@settings(max_examples=400, deadline=None)
@given(st.text(GRAMMAR_CHARS, max_size=40))
def test_near_miss_priors_parse_or_fail_with_a_space_error(text: str) -> None:
    try:
        prior = parse_prior(text)
    except SpaceError:
        return
    try:
        prior_to_param("x", prior)
    except SpaceError:
        pass


@settings(max_examples=200, deadline=None)
@given(
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.floats(allow_nan=False, allow_infinity=False, width=64),
)
def test_numbers_come_back_exactly(low: float, high: float) -> None:
    assert parse_prior(f"uniform({low!r}, {high!r})").args == (low, high)


# ----------------------------------------------------------------------- priors → params


@pytest.mark.parametrize(
    ("text", "param", "default"),
    [
        ("uniform(-50, 50)", Float(-50.0, 50.0, digits=4), None),
        ("uniform(1, 10, discrete=True)", Int(1, 10), None),
        ("uniform(0.5, 10.5, discrete=True)", Int(1, 10), None),
        ("loguniform(1e-4, 1e-1)", Float(1e-4, 1e-1, log=True, digits=4), None),
        ("loguniform(1, 1024, discrete=True)", Int(1, 1024, log=True), None),
        ("normal(0, 1)", Float(-3.0, 3.0, digits=4), None),
        ("gaussian(10, 2, discrete=True)", Int(4, 16), None),
        ("choices([128, 256])", Choice([128, 256]), None),
        ("choices('adam', 'sgd')", Choice(["adam", "sgd"]), None),
        ("choices('adam')", Choice(["adam"]), None),
        ("choices({'a': 0.2, 'b': 0.8, 'c': 0})", Choice(["a", "b"]), None),
        ("fidelity(1, 16, base=4)", Fixed(16), None),
        ("fidelity(1, 16)", Fixed(16), None),
        ("uniform(0, 1, default_value=0.25)", Float(0.0, 1.0, digits=4), 0.25),
        ("uniform(0, 1, default_value=1)", Float(0.0, 1.0, digits=4), 1.0),
        ("choices([128, 256], default_value=256)", Choice([128, 256]), 256),
        ("uniform(0, 1, precision=2, shape=None)", Float(0.0, 1.0, digits=2), None),
        ("normal(0, 1, precision=7)", Float(-3.0, 3.0, digits=7), None),
        ("uniform(0, 1, precision=40)", Float(0.0, 1.0, digits=17), None),
        ("uniform(0, 9, discrete=True, precision=2)", Int(0, 9), None),
    ],
)
def test_priors_become_params(text: str, param: object, default: object) -> None:
    assert prior_to_param("x", parse_prior(text)) == (param, default)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("randint(1, 10)", "`randint` is not supported. Use uniform(discrete=True) instead."),
        ("beta(2, 5)", "unknown prior beta(); hpsweep supports uniform, loguniform, normal"),
        ("unifrom(0, 1)", "did you mean uniform()?"),
        ("uniform(1, 0)", "uniform() needs low < high, but got low=1, high=0; swap the bounds"),
        ("uniform(0, 1, 2)", "uniform() takes 2 numbers (low, high), but got 3 argument(s)"),
        ("uniform('a', 1)", "uniform() takes numbers (low, high), but got 'a'"),
        (
            "loguniform(0, 1)",
            "loguniform() needs low > 0, but got low=0; start it above 0, e.g. "
            "loguniform(1e-06, 1), or use uniform()",
        ),
        ("loguniform(-2, -1)", "use uniform(): a log scale needs bounds above 0"),
        ("uniform(1, 1)", "needs low < high, but got low=1, high=1; widen the range"),
        ("uniform(0.2, 0.8, discrete=True)", "holds no whole number"),
        ("normal(0, -1)", "normal() needs scale > 0"),
        ("uniform(0, 1, discrete='yes')", "discrete= must be True or False"),
        ("uniform(0, 1, precision=0)", "precision= must be a whole number >= 1"),
        ("uniform(0, 1, shape=2)", "shape=2 (a vector of values) is not supported"),
        ("uniform(0, 1, default_value=2)", "default_value=2 is not a value uniform() can take"),
        ("uniform(0, 1, step=0.1)", "uniform() takes no step=; it takes discrete"),
        ("choices([])", "`choices` must not be empty"),
        ("choices([1, 1])", "must be distinct"),
        ("choices([[1, 2], [3]])", "must be str, int, float, bool or None"),
        ("choices({'a': 0.5, 'b': 0.4})", "must sum to 1, but they sum to 0.9"),
        ("choices({'a': -1, 'b': 2})", "needs probabilities >= 0"),
        ("choices()", "choices() needs the categories"),
        ("choices([1, 2], discrete=True)", "choices() takes no discrete="),
        ("fidelity(0, 10)", "fidelity() needs 0 < low <= high"),
        ("fidelity(1, 10, base=0.5)", "fidelity() needs base >= 1"),
        ("fidelity(1, 10, 2, base=3)", "fidelity() takes (low, high, base=2)"),
        ("fidelity(1, 10, default_value=2)", "fidelity() takes no default_value="),
    ],
)
def test_priors_without_an_optuna_counterpart_are_rejected(text: str, message: str) -> None:
    with pytest.raises(SpaceError) as error:
        prior_to_param("x", parse_prior(text))
    assert message in str(error.value)
    assert "\n" not in str(error.value)


# ------------------------------------------------------------------- command rewriting


def test_priors_become_placeholders_in_two_argv_items(here: Path) -> None:
    config = hunt(
        "python",
        "train.py",
        "--emb_dim~choices([128,256])",
        "--lr=~loguniform(1e-4, 1e-1)",
        "--drop",
        "orion~uniform(0, 0.5)",
        "--wd=orion~loguniform(1e-6, 1e-2)",
        "--act",
        "act~choices(['relu', 'tanh'])",
    ).config
    assert config.command == (
        "python",
        str(here / "train.py"),
        "--emb_dim",
        "{emb_dim}",
        "--lr",
        "{lr}",
        "--drop",
        "{drop}",
        "--wd",
        "{wd}",
        "--act",
        "{act}",
    )
    assert list(config.space) == ["emb_dim", "lr", "drop", "wd", "act"]
    assert config.space["act"] == Choice(["relu", "tanh"])


def test_positional_priors_are_named_by_their_prefix(here: Path) -> None:
    config = hunt("python", "train.py", "x~uniform(0, 1)", "orion~uniform(0, 2)").config
    assert config.command[2:] == ("{x}", "{_pos_3}")
    assert config.space["_pos_3"] == Float(0.0, 2.0, digits=4)


def test_a_one_letter_long_option_is_passed_short_as_orion_does(here: Path) -> None:
    config = hunt("python", "train.py", "--x~uniform(-50, 50)", "--y", "1", "--z=2").config
    assert config.command[2:] == ("-x", "{x}", "-y", "1", "--z", "2")


def test_key_value_arguments_become_two_items_keeping_every_equals(here: Path) -> None:
    config = hunt("python", "train.py", "--expr=a=b", "--lr~uniform(0, 1)").config
    # Oríon keeps only what follows the last `=` ("b"); the whole value is kept here
    assert config.command[2:4] == ("--expr", "a=b")


def test_existing_relative_paths_become_absolute(here: Path) -> None:
    (here / "hpopt.yaml").write_text("")
    (here / "data").mkdir()
    config = hunt(
        "python",
        "train.py",
        "train.yaml",
        "--hpopt",
        "hpopt.yaml",
        "--data=data",
        "--out",
        "missing/dir",
        "--lr~uniform(0, 1)",
    ).config
    assert config.command == (
        "python",
        str(here / "train.py"),
        "train.yaml",  # not there: left as is
        "--hpopt",
        str(here / "hpopt.yaml"),
        "--data",
        str(here / "data"),
        "--out",
        "missing/dir",
        "--lr",
        "{lr}",
    )


def test_tilde_before_a_path_or_nothing_is_not_a_prior(here: Path) -> None:
    config = hunt("python", "train.py", "--home~/data", "--lr~uniform(0, 1)", "--keep~").config
    assert config.command[2:] == ("--home~/data", "--lr", "{lr}", "--keep~")
    assert list(config.space) == ["lr"]


def test_negative_numbers_are_values(here: Path) -> None:
    command = ("python", "train.py", "--aa", "-1", "--bb", "-2.5e-3", "--lr~uniform(0, 1)")
    assert hunt(*command).config.command[2:6] == ("--aa", "-1", "--bb", "-2.5e-3")


def test_orion_templates_become_hpsweep_placeholders(here: Path) -> None:
    config = hunt(
        "python",
        "train.py",
        "--out={exp.working_dir}/{trial.id}",
        "--ckpt",
        "{trial.working_dir}/ckpt-{trial.hash_params}",
        "--tag",
        "{exp.name}-v{exp.version}-{exp.id}",
        "--json",
        '{{"a": 1}}',
        "--lr~uniform(0, 1)",
        working_dir="runs",
    ).config
    runs = here / "runs" / "exp"
    assert config.command[2:10] == (
        "--out",
        f"{runs}/{{trial.id}}",
        "--ckpt",
        "{trial.dir}/ckpt-{trial.params_hash}",
        "--tag",
        "{study.name}-v1-{study.name}",
        "--json",
        '{{"a": 1}}',  # Oríon's str.format makes {{ a literal {; so does hpsweep's templating
    )
    assert config.run_dir == "runs"


def test_literal_braces_survive_hpsweep_s_templating(here: Path) -> None:
    from hpsweep.runner._template import CommandTemplate

    config = hunt("python", "train.py", "--json", '{{"a": 1}}', "--lr~uniform(0, 1)").config
    rendered = CommandTemplate(config.command).render({"lr": 0.5})
    assert rendered[2:] == ["--json", '{"a": 1}', "--lr", "0.5"]


def test_the_command_may_hold_a_double_dash(here: Path) -> None:
    config = hunt("python", "train.py", "--lr~uniform(0, 1)", "--", "--not-an-option").config
    assert config.command[-2:] == ("--", "--not-an-option")


def test_defaults_become_the_first_trial(here: Path) -> None:
    config = hunt(
        "python",
        "train.py",
        "--lr~loguniform(1e-5, 1, default_value=0.001)",
        "--layers~uniform(1, 4, discrete=True, default_value=2)",
        "--act~choices(['relu', 'tanh'])",
    ).config
    assert config.initial_points == ({"lr": 0.001, "layers": 2},)


def test_notes_say_what_is_mapped_loosely(here: Path) -> None:
    notes = hunt(
        "python",
        "train.py",
        "--w~normal(0, 2)",
        "--lr~loguniform(1e-5, 1, precision=2)",
        "--opt~choices({'adam': 0.7, 'sgd': 0.3})",
    ).notes
    assert notes == (
        "/w: normal(0, 2) is searched uniformly over [-6, 6] (mean ± 3 scales): Optuna has no "
        "normal prior",
        "the probabilities of choices() are ignored: Optuna samples categories without weights "
        "(categories with probability 0 are left out)",
    )


def test_oriоn_defaults_random_three_broken_minimize_no_pruning(here: Path) -> None:
    config = hunt("python", "train.py", "--lr~uniform(0, 1)").config
    assert config.study == "exp"
    assert config.directions == ("minimize",)
    assert (config.sampler.name, config.pruner.name) == ("random", "none")
    assert (config.n_trials, config.max_failures, config.jobs, config.storage) == (
        None,
        3,
        None,
        None,
    )


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (
            ["python", "train.py", "--lr~uniform(0, 1)", "--lr", "2"],
            "Conflict: two arguments have the same name: lr",
        ),
        (
            ["python", "train.py", "-x~uniform(0, 1)", "--x~uniform(0, 2)"],
            "Conflict: two arguments have the same name: x",
        ),
        (
            ["python", "train.py", "--lr~uniform(0, 1"],
            "argument '--lr~uniform(0, 1': 'uniform(0, 1' ends too early",
        ),
        (
            ["python", "train.py", "--lr~randint(1, 5)"],
            "argument '--lr~randint(1, 5)': `randint` is not supported. Use "
            "uniform(discrete=True) instead.",
        ),
        (["python", "train.py", "--lr=0.1"], "the command holds no prior; mark the arguments"),
        (["python", "trian.py", "--lr~uniform(0, 1)"], "the script 'trian.py' does not exist"),
        (
            ["python", "train.py", "--lr=x~uniform(0, 1)"],
            "a prior goes right after the option name; write --lr~'uniform(0, 1)'",
        ),
        (
            ["python", "train.py", "--lr", "1", "orion~uniform(0, 1)"],
            "a prior must be the only value of its option",
        ),
        (
            ["python", "train.py", "--out={trial.idd}", "--lr~uniform(0, 1)"],
            "unknown template {trial.idd}; Oríon's templates are {trial.id}",
        ),
        (
            ["python", "train.py", "--out={trial.id", "--lr~uniform(0, 1)"],
            "argument '--out={trial.id': expected '}' before end of string",
        ),
        (
            ["python", "train.py", "--lr~-uniform(0, 1)"],
            "experiment-branching marker '-', which hpsweep does not support",
        ),
        (
            ["python", "train.py", "1x~uniform(0, 1)"],
            "'1x' cannot name a param",
        ),
        (
            ["python", "train.py", "--e~fidelity(1, 4)", "--f~fidelity(1, 8)"],
            "only one fidelity() prior is allowed, but /e, /f are fidelities",
        ),
        ([], "hunt needs the command to run after its options"),
    ],
)
def test_malformed_commands_are_one_line_errors(
    here: Path, command: list[str], message: str
) -> None:
    assert message in error_of(*command)


def test_priors_in_the_script_s_config_file_are_refused(here: Path) -> None:
    (here / "script.yaml").write_text("lr: 'orion~loguniform(1e-5, 1.0)'\n")
    message = error_of("python", "train.py", "--config", "script.yaml", "--x~uniform(0, 1)")
    assert message.startswith("script.yaml: priors inside the script's --config file are not")


def test_a_missing_name_is_an_error(here: Path) -> None:
    with pytest.raises(ConfigError, match="hunt needs the experiment's name: -n NAME"):
        hunt_config(["python", "train.py", "--lr~uniform(0, 1)"], HuntOptions())


def test_bad_hunt_option_values_are_errors(here: Path) -> None:
    assert error_of("python", "train.py", "--lr~uniform(0, 1)", n_workers=0) == (
        "--n-workers must be >= 1, got 0"
    )


# ---------------------------------------------------------------------- the config file

TUTORIAL_CONFIG = """\
experiment:
    max_trials: 1000
    max_broken: 1000
    algorithms:
        tpe:
            seed: 42
            n_initial_points: 5
"""


def write(path: Path, text: str) -> str:
    path.write_text(text)
    return str(path.name)


def test_speechbrain_tutorial_config(here: Path) -> None:
    config = hunt(
        "python",
        "train.py",
        "--lr~uniform(0, 1)",
        config=write(here / "orion.yaml", TUTORIAL_CONFIG),
    ).config
    assert (config.n_trials, config.max_failures, config.seed) == (1000, 1000, 42)
    assert config.sampler.name == "tpe"
    assert dict(config.sampler.kwargs) == {"n_startup_trials": 5}
    assert config.source == "orion.yaml"


@pytest.mark.parametrize(
    ("algorithm", "sampler", "kwargs", "seed"),
    [
        ("algorithm: random", "random", {}, None),
        ("algorithm: TPE", "tpe", {"n_startup_trials": 20}, None),  # Oríon's default 20
        ("algorithm: {tpe: {n_initial_points: 1}}", "tpe", {"n_startup_trials": 2}, None),
        (
            "algorithm: {tpe: {n_initial_points: 3, n_ei_candidates: 48, prior_weight: 2}}",
            "tpe",
            {"n_startup_trials": 3, "n_ei_candidates": 48, "prior_weight": 2.0},
            None,
        ),
        ("algorithms: {random: {seed: 7}}", "random", {}, 7),
        ("algorithms: {random: {seed: None}}", "random", {}, None),
        ("algorithms: {tpe: null}", "tpe", {"n_startup_trials": 20}, None),
    ],
)
def test_algorithms(
    here: Path, algorithm: str, sampler: str, kwargs: dict[str, Any], seed: int | None
) -> None:
    path = write(here / "orion.yaml", f"experiment:\n  {algorithm}\n")
    config = hunt("python", "train.py", "--lr~uniform(0, 1)", config=path).config
    assert (config.sampler.name, dict(config.sampler.kwargs), config.seed) == (
        sampler,
        kwargs,
        seed,
    )


def test_asha_and_hyperband_prune_on_the_fidelity(here: Path) -> None:
    path = write(
        here / "orion.yaml", "experiment:\n  algorithm: {asha: {seed: 1, num_rungs: 3}}\n"
    )
    result = hunt(
        "python", "train.py", "--lr~uniform(0, 1)", "--epochs~fidelity(1, 16, base=4)", config=path
    )
    config = result.config
    assert config.space["epochs"] == Fixed(16)
    assert config.command[-2:] == ("--epochs", "{epochs}")
    assert (config.sampler.name, config.pruner.name, config.seed) == ("random", "asha", 1)
    assert dict(config.pruner.kwargs) == {"min_resource": 1, "reduction_factor": 4, "max_t": 16}
    assert "experiment.algorithm.asha.num_rungs is ignored (no Optuna counterpart)" in (
        " ".join(result.notes)
    )
    path = write(here / "orion.yaml", "experiment:\n  algorithm: hyperband\n")
    config = hunt(
        "python", "train.py", "--lr~uniform(0, 1)", "--epochs~fidelity(2, 32)", config=path
    ).config
    assert (config.pruner.name, dict(config.pruner.kwargs)) == (
        "hyperband",
        {"min_resource": 2, "max_resource": 32, "reduction_factor": 2},
    )


def test_options_override_the_config_file(here: Path) -> None:
    path = write(here / "orion.yaml", TUTORIAL_CONFIG + "worker:\n  n_workers: 3\n")
    config = hunt(
        "python",
        "train.py",
        "--lr~uniform(0, 1)",
        config=path,
        exp_max_trials=5,
        exp_max_broken=2,
        n_workers=4,
        storage="other.journal",
    ).config
    assert (config.n_trials, config.max_failures, config.jobs, config.storage) == (
        5,
        2,
        4,
        "other.journal",
    )
    assert hunt("python", "train.py", "--lr~uniform(0, 1)", config=path).config.jobs == 3


def test_old_top_level_settings_and_dashes_are_read(here: Path) -> None:
    path = write(
        here / "orion.yaml",
        "name: from-file\nmax-trials: 7\nmax_broken: 2\nalgorithms: random\nn_workers: 2\n",
    )
    result = hunt_config(["python", "train.py", "--lr~uniform(0, 1)"], HuntOptions(config=path))
    assert result.config.study == "from-file"
    assert (result.config.n_trials, result.config.max_failures, result.config.jobs) == (7, 2, 2)
    assert "orion.yaml: top-level max_trials is read as experiment.max_trials" in result.notes


def test_deprecated_max_trials_option(here: Path) -> None:
    result = hunt("python", "train.py", "--lr~uniform(0, 1)", max_trials=4)
    assert result.config.n_trials == 4
    assert "--max-trials is deprecated in Oríon; read as --exp-max-trials" in result.notes


def test_settings_without_a_counterpart_are_noted(here: Path) -> None:
    path = write(
        here / "orion.yaml",
        "experiment: {strategy: MaxParallelStrategy}\nworker: {heartbeat: 120}\n"
        "database: {type: pickleddb, host: db.pkl}\nevc: {enable: false}\n",
    )
    notes = hunt(
        "python", "train.py", "--lr~uniform(0, 1)", config=path, worker_max_trials=3
    ).notes
    assert notes == (
        "ignored (no hpsweep counterpart): experiment.strategy, worker.heartbeat, database, evc, "
        "--worker-max-trials",
    )


def test_a_space_in_the_config_file(here: Path) -> None:
    path = write(
        here / "orion.yaml",
        "space:\n  /lr: 'orion~loguniform(1e-5, 1.0)'\n  layers: 'uniform(1, 4, discrete=True)'\n",
    )
    config = hunt("python", "train.py", "--lr={lr}", "--layers", "{layers}", config=path).config
    assert config.space["lr"] == Float(1e-5, 1.0, log=True, digits=4)
    assert config.command[2:] == ("--lr", "{lr}", "--layers", "{layers}")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("experiments: {max_trials: 3}\n", "orion.yaml: unknown key 'experiments'; did you mean"),
        ("experiment: {max_trails: 3}\n", "orion.yaml: unknown key experiment.max_trails; did "),
        ("experiment: {max_trials: ten}\n", "orion.yaml: experiment.max_trials must be a whole "),
        ("experiment: {max_trials: 0}\n", "experiment.max_trials must be a whole number >= 1"),
        ("experiment: {max_broken: 2.5}\n", "experiment.max_broken must be a whole number >= 1"),
        ("experiment: 5\n", "orion.yaml: experiment must be a mapping of settings"),
        ("- 1\n", "orion.yaml: the top level must be a mapping"),
        ("experiment: {algorithm: bohb}\n", "experiment.algorithm: 'bohb' has no hpsweep "),
        ("experiment: {algorithm: {tpe: {seed: 1}, random: {}}}\n", "must name one algorithm"),
        ("experiment: {algorithm: {tpe: {n_initial: 5}}}\n", "unknown setting 'n_initial'"),
        ("experiment: {algorithm: {tpe: {seed: -1}}}\n", "tpe.seed must be a whole number >= 0"),
        ("experiment: {algorithm: {tpe: {prior_weight: x}}}\n", "prior_weight must be a number"),
        ("experiment: {algorithm: {tpe: 3}}\n", "must be {name: {settings}}"),
        ("experiment: {algorithm: asha}\n", "asha needs a fidelity prior (the budget, such as"),
        ("experiment: {algorithm: random, algorithms: tpe}\n", "give experiment.algorithm or "),
        ("experiment: {name: [a]}\n", "experiment.name must be a non-empty string"),
        ("worker: {n_workers: many}\n", "worker.n_workers must be a whole number >= 1"),
        ("space: [lr]\n", "orion.yaml: space must map names to priors"),
        ("space: {lr: 1}\n", "orion.yaml: space.lr must be a prior such as 'uniform(0, 1)'"),
        ("space: {x: 'uniform(0, 1)'}\n", "Conflict: definition of same prior in commandline"),
        ("space: {y: 'uniform(1, 0)'}\n", "orion.yaml: space.y: uniform() needs low < high"),
        ("experiment: {max_trials: 1}\nexperiment: {}\n", "duplicate key 'experiment'"),
        ("experiment: [\n", "orion.yaml: line 2"),
    ],
)
def test_malformed_config_files_are_one_line_errors(here: Path, text: str, message: str) -> None:
    path = write(here / "orion.yaml", text)
    assert message in error_of("python", "train.py", "--x~uniform(0, 1)", config=path)


def test_a_missing_config_file_is_an_error(here: Path) -> None:
    assert "config file nope.yaml does not exist" in error_of(
        "python", "train.py", "--x~uniform(0, 1)", config="nope.yaml"
    )


def test_asha_needs_a_whole_fidelity_base(here: Path) -> None:
    path = write(here / "orion.yaml", "experiment: {algorithm: asha}\n")
    message = error_of("python", "train.py", "--e~fidelity(1, 8, base=1.5)", config=path)
    assert "fidelity() of /e must be a whole number >= 1, got 1.5" in message


# ---------------------------------------------------------------------------- the CLI


@pytest.mark.parametrize(
    ("argv", "options", "command"),
    [
        (["-n", "x", "python", "t.py", "-n", "3"], ["-n", "x"], ["python", "t.py", "-n", "3"]),
        (["--name=x", "-cfg.yaml", "python"], ["--name=x", "-cfg.yaml"], ["python"]),
        (
            ["-n", "x", "--n-workers", "2", "-q", "./t.sh"],
            ["-n", "x", "--n-workers", "2", "-q"],
            ["./t.sh"],
        ),
        (["-n", "x", "--", "-weird"], ["-n", "x"], ["-weird"]),
        (["-n", "x", "--bogus", "python"], ["-n", "x", "--bogus"], ["python"]),
        (["-n", "x"], ["-n", "x"], []),
    ],
)
def test_split_command(argv: list[str], options: list[str], command: list[str]) -> None:
    assert split_command(argv) == (options, command)


def test_an_unknown_hunt_option_is_a_usage_error(
    here: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["hunt", "-n", "x", "--n-worker", "2", "python", "train.py", "--lr~uniform(0,1)"])
    assert code == 2
    assert capsys.readouterr().err == (
        "hpsweep: error: hpsweep hunt: unrecognized arguments: --n-worker; did you mean "
        "--n-workers? (see `hpsweep hunt --help`)\n"
    )


def test_a_malformed_prior_through_the_cli(here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["hunt", "-n", "x", "python", "train.py", "--lr~uniform(1,0)"]) == 2
    assert capsys.readouterr().err == (
        "hpsweep: error: argument '--lr~uniform(1,0)': uniform() needs low < high, but got "
        "low=1, high=0; swap the bounds\n"
    )


def test_render_orion_stats_is_orions_block() -> None:
    stats = OrionStats(
        is_done=False,
        trials_completed=4,
        best_id=7,
        best_evaluation=0.2384105920791626,
        best_params={"/tdnn_channels": 128, "/emb_dim": 128},
        start_time=dt.datetime(2021, 11, 14, 21, 1, 12, 760704),
        finish_time=dt.datetime(2021, 11, 14, 21, 13, 25, 43336),
    )
    assert render_orion_stats(stats) == (
        "Stats\n"
        "=====\n"
        "completed: False\n"
        "trials completed: 4\n"
        "best trial:\n"
        "  id: 7\n"
        "  evaluation: 0.2384105920791626\n"
        "  params:\n"
        "    /emb_dim: 128\n"
        "    /tdnn_channels: 128\n"
        "start time: 2021-11-14 21:01:12.760704\n"
        "finish time: 2021-11-14 21:13:25.043336\n"
        "elapsed_time: 0:12:12.282632\n"
    )
    assert render_orion_stats(None) == "Stats\n=====\nNo trials executed...\n"


# ------------------------------------------------------------------------ end to end


def test_hunt_then_info_on_orions_black_box(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(EXAMPLES / "orion" / "black_box.py", workdir)
    shutil.copy(EXAMPLES / "orion" / "orion.yaml", workdir)
    argv = ["hunt", "-n", "black-box", "-c", "orion.yaml", "-q", PYTHON, "black_box.py"]
    assert main([*argv, "-x~uniform(-50, 50, default_value=30)"]) == 0
    err = capsys.readouterr().err
    assert "study 'black-box': 6 complete this run" in err
    first = read_study(None, "black-box").records[0]
    assert first.params == {"x": 30.0}  # the default_value ran first
    assert first.values == ((30.0 - 34.56789) ** 2 + 23.4,)
    assert main(["info", "--name", "black-box"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[:5] == ["Stats", "=====", "completed: True", "trials completed: 6", "best trial:"]
    assert out[5].startswith("  id: ") and out[7] == "  params:"
    best_x = float(out[8].removeprefix("    /x: "))
    assert out[6] == "  evaluation: " + str((best_x - 34.56789) ** 2 + 23.4)
    assert [line.split(":")[0] for line in out[9:]] == [
        "start time",
        "finish time",
        "elapsed_time",
    ]
    assert main(["info", "-n", "black-box"]) == 0
    assert capsys.readouterr().out.splitlines() == out


def test_reals_are_rounded_to_their_precision(workdir: Path) -> None:
    """Oríon keeps 4 significant digits of a real unless precision= says otherwise; the script
    gets the same rounded number that is stored and that the sampler learns from."""
    (workdir / "echo.py").write_text(
        "import json, os, sys\n"
        "x, lr = float(sys.argv[2]), float(sys.argv[4])\n"
        "print(sys.argv[2], sys.argv[4], file=sys.stderr)\n"
        "json.dump([{'type': 'objective', 'value': x * lr}],"
        " open(os.environ['ORION_RESULTS_PATH'], 'w'))\n"
    )
    argv = ["hunt", "-n", "digits", "--exp-max-trials", "12", "-q", PYTHON, "echo.py"]
    assert main([*argv, "--x~uniform(0, 100)", "--lr~loguniform(1e-5, 1, precision=2)"]) == 0
    records = read_study(None, "digits").records
    assert len(records) == 12
    for record in records:
        x, lr = record.params["x"], record.params["lr"]
        assert float(f"{x:.3e}") == x and float(f"{lr:.1e}") == lr, record.params
        given = workdir / "hpsweep-runs" / "digits" / f"trial-{record.number}" / "stderr.log"
        assert [float(text) for text in given.read_text().split()] == [x, lr]
    assert len({r.params["x"] for r in records}) > 1  # rounded, not collapsed


def test_info_when_no_trial_completed(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (workdir / "fail.py").write_text("raise SystemExit(3)\n")
    assert main(["hunt", "-n", "broken", "-q", PYTHON, "fail.py", "--x~uniform(0, 1)"]) == 1
    capsys.readouterr()
    assert main(["info", "--name", "broken"]) == 0
    assert capsys.readouterr().out == "Stats\n=====\nNo trials executed...\n"
    assert main(["info", "--name", "nope"]) == 2


def speaker_id(workdir: Path) -> list[str]:
    pytest.importorskip("hyperpyyaml")
    for name in ("train.py", "train.yaml", "hpopt.yaml", "orion.yaml"):
        shutil.copy(EXAMPLES / "speechbrain" / name, workdir)
    return [PYTHON, "train.py", "train.yaml", "--hpopt", "hpopt.yaml"]


PRIORS = ["--emb_dim~choices([128,256])", "--lr~loguniform(1e-4,1e-1)"]


def test_speechbrain_tutorial_hunt_with_the_orion_reporter(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    command = speaker_id(workdir)
    argv = ["hunt", "-n", "speaker-id", "-c", "orion.yaml", "-q", *command]
    assert main([*argv, "--hpopt_mode", "orion", *PRIORS]) == 0
    assert "study 'speaker-id': 4 complete this run" in capsys.readouterr().err
    runs = workdir / "hpsweep-runs" / "speaker-id"
    # the orion reporter wrote $ORION_RESULTS_PATH; its trial id names the output folder
    assert (runs / "trial-0" / "orion-results.json").exists()
    assert (runs / "trial-0" / "stdout.log").read_text() == ""
    folders = sorted(p.name for p in (workdir / "results" / "speaker_id").iterdir())
    assert folders == [f"speaker-id-1-{n}" for n in range(4)]
    # hpopt.yaml's number_of_epochs: 1 and ckpt_enable: False reached the recipe
    assert not (workdir / "results" / "speaker_id" / "speaker-id-1-0" / "save").exists()
    assert main(["info", "--name", "speaker-id"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[2:4] == ["completed: True", "trials completed: 4"]
    assert [line.split(":")[0] for line in out[8:10]] == ["    /emb_dim", "    /lr"]


def test_speechbrain_tutorial_hunt_with_the_generic_reporter(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    command = speaker_id(workdir)
    argv = ["hunt", "-n", "speaker-id", "-c", "orion.yaml", "--n-workers", "2", "-q", *command]
    assert main([*argv, *PRIORS]) == 0
    assert "study 'speaker-id': 4 complete this run" in capsys.readouterr().err
    stdout = (workdir / "hpsweep-runs" / "speaker-id" / "trial-0" / "stdout.log").read_text()
    assert stdout.startswith('{"loss": ') and stdout.endswith("}")  # SpeechBrain's JSON
    folders = sorted(p.name for p in (workdir / "results" / "speaker_id").iterdir())
    assert folders == [f"speaker-id-trial-{n}" for n in range(4)]
    assert main(["info", "--name", "speaker-id"]) == 0
    assert "trials completed: 4" in capsys.readouterr().out


def test_a_recipe_run_directly_still_works(workdir: Path) -> None:
    """Outside hpsweep and without --hpopt the recipe trains as usual and, like SpeechBrain's,
    still prints its last result as JSON."""
    import subprocess

    command = speaker_id(workdir)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HPSWEEP_", "ORION_"))}
    done = subprocess.run(
        [command[0], "train.py", "train.yaml", "--number_of_epochs", "2"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.startswith('{"loss": ') and "Test error" in done.stderr
    assert (workdir / "results" / "speaker_id" / "1986" / "save" / "CKPT-epoch-2.txt").exists()


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.text(max_size=40), max_size=6))
def test_any_command_gives_a_study_or_a_config_error(here: Path, arguments: list[str]) -> None:
    try:
        hunt("python", "train.py", *arguments)
    except ConfigError:
        pass


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.sampled_from(
            [
                "--lr~",
                "--lr",
                "=",
                "orion~",
                "x~",
                "uniform(0, 1)",
                "{",
                "}",
                "{trial.id}",
                "-",
                "--",
                "choices([1, 2])",
                "/p",
                "a",
            ]
        ),
        max_size=8,
    ).map("".join)
)
def test_near_miss_arguments_give_a_study_or_a_config_error(here: Path, argument: str) -> None:
    try:
        hunt("python", "train.py", argument, "--ok~uniform(0, 1)")
    except ConfigError:
        pass


def test_hunt_passes_double_dash_and_debug_to_the_command(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workdir / "argv.py").write_text(
        "import json, os, sys\n"
        "open(os.path.join(os.environ['ORION_WORKING_DIR'], 'argv.json'), 'w').write("
        "json.dumps(sys.argv[1:]))\n"
        "json.dump([{'type': 'objective', 'value': 1.0}], open(os.environ['ORION_RESULTS_PATH'], "
        "'w'))\n"
    )
    argv = ["hunt", "-n", "x", "--exp-max-trials", "1", "-q", PYTHON, "argv.py"]
    assert main([*argv, "--", "--debug", "--lr~uniform(2, 3)"]) == 0
    sent = json.loads((workdir / "hpsweep-runs" / "x" / "trial-0" / "argv.json").read_text())
    assert sent[:3] == ["--", "--debug", "--lr"] and 2 <= float(sent[3]) <= 3
    assert "Traceback" not in capsys.readouterr().err


def test_info_takes_the_study_once(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", "--name", "a", "--study", "b"]) == 2
    assert capsys.readouterr().err == (
        "hpsweep: error: give the study once: --name a or --study b, not both\n"
    )
