"""Property tests of the dialects' readers (fuzz/fuzz_dialects.py checks the same properties,
coverage-guided): Axect's optimize config and its ``--set``, the ``@hparam_search`` YAML and its
``--set``, Oríon's ``hunt -c`` config, SpeechBrain's hpopt file and ``--key value`` overrides
(with HyperPyYAML and with its fallback) and AutoGluon's search spaces. Any input gives a valid
result or one line of error: never another exception, never a hang, never an eval.

Each file reader gets random bytes, and documents of its dialect (from examples/) with random
mutations: wrong types, unknown and renamed keys, huge numbers, non-ASCII and control
characters, duplicate keys, deep nesting, YAML aliases that stand for billions of values."""

from __future__ import annotations

import copy
import functools
import math
import time
from collections.abc import Callable
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import oracle
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from hpsweep import tune
from hpsweep._errors import ConfigError
from hpsweep.compat import speechbrain
from hpsweep.dialects import HuntOptions
from hpsweep.dialects import hunt_config
from hpsweep.dialects._autogluon import TUNE_KEYS
from hpsweep.dialects._autogluon import autogluon_plan
from hpsweep.dialects._axect import read_optimize_file
from hpsweep.dialects._hparam_search import hparam_search_plan

from .test_parsers import PROPERTY
from .test_parsers import odd_text
from .test_parsers import values
from .test_parsers import yaml_values

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def example(path: str) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((EXAMPLES / path).read_text())
    return document


AXECT = [example("axect/optimize_template.yaml")]
HPARAM_SEARCH = [example("hparam_search/config/config.yaml")]
ORION = [
    example("orion/orion.yaml"),
    {
        **example("speechbrain/orion.yaml"),
        "space": {"lr": "loguniform(1e-5, 1)", "/layers": "uniform(1, 4, discrete=True)"},
    },
    {
        "name": "exp",  # a top-level setting, as Oríon 0.1 files have them
        "experiment": {"algorithms": {"asha": {"seed": 1}}, "working_dir": "runs"},
        "worker": {"n_workers": 2, "max_broken": 3},
        "space": {"epochs": "fidelity(1, 16, base=4)", "optimizer": "orion~choices(['a', 'b'])"},
        "database": {"type": "pickleddb"},
    },
]
# examples/speechbrain/hpopt.yaml without its tag, which the tags below add back
HPOPT = [{"number_of_epochs": 1, "ckpt_enable": False, "trial_id": "hpfit", "lr": 0.01}]

# HyperPyYAML tags that import and call only harmless things: its tags run code by design
# (docs/reliability.md), so these tests never write one that names anything else.
HYPERPYYAML_LINES = [
    "output_folder: !ref ./results/speaker_id/<trial_id>",
    "epochs_twice: !ref <number_of_epochs> * 2",
    "ratio: !ref <number_of_epochs> / 0",
    "missing: !ref <no_such_key>",
    "loop: !ref <loop>",
    "attribute: !ref <trial_id.upper>",
    "copied: !copy <trial_id>",
    "placeholder: !PLACEHOLDER",
    "pair: (1, 2)",
    "bad_tuple: !tuple (1, [2)",
    "counter: !new:collections.Counter {a: 1}",
    "root: !apply:math.sqrt [-1]",
    "sqrt: !name:math.sqrt",
    "module: !module:math",
    "nothing: !new:no.such.Thing",
    "applied: !applyref:math.sqrt 4",
    "included: !include:no_such_file.yaml",
    "length: !!python/name:builtins.len",
]

# -- strategies ----------------------------------------------------------------------------------

ALIAS_BOMB = "ALIAS_BOMB_MARK"
DEEP_FLOW = "DEEP_FLOW_MARK"
HUGE = 10**400  # past a float, and within Python's 4300 digits (past them: a test below)


def aliases(levels: int) -> str:
    """A flow list whose YAML aliases stand for 9**levels values."""
    anchors = ["&a0 [x, x, x, x, x, x, x, x, x]"] + [
        f"&a{level} [{', '.join([f'*a{level - 1}'] * 9)}]" for level in range(1, levels + 1)
    ]
    return f"[{', '.join(anchors)}]"


wrong_types = st.one_of(
    st.sampled_from([None, True, [], {}, [1, 2], ["a", None], {"a": 1}, {"type": "int"}]),
    st.sampled_from([ALIAS_BOMB, DEEP_FLOW]),
    st.integers(1, 150).map(lambda depth: functools.reduce(lambda v, _: [v], range(depth), 1)),
)
odd_numbers = st.one_of(
    st.sampled_from([HUGE, -HUGE, 2**63, float("inf"), float("nan"), 1e-320, 0, -1, 1.5]),
    st.integers(),
    st.floats(),
)
odd_strings = st.one_of(
    st.sampled_from(
        [
            "",
            "é日本",
            "a\nb",
            "\x07",
            "\u2028",
            "1e-3",
            "1e400",
            "minimize",
            "int",
            "categorical",
            "loguniform(1e-5, 1)",
            "orion~uniform(0, 1)",
            "{trial.id}",
        ]
    ),
    st.text(max_size=8),
)
# Copies: a mutation must not change a value sampled_from hands out again.
odd_values = st.one_of(wrong_types, odd_numbers, odd_strings).map(copy.deepcopy)
odd_keys = st.one_of(
    st.sampled_from(
        ["studyname", "trial", "serach_space", "Type", "x-y", "max-trials", "1", "", "é", "\x07"]
    ),
    st.text(max_size=6),
    st.integers(),
    st.booleans(),
    st.none(),
)


def containers(document: Any) -> list[Any]:
    """Every dict and list in ``document``, ``document`` first."""
    found: list[Any] = []
    stack = [document]
    while stack:
        value = stack.pop()
        if isinstance(value, (dict, list)):
            found.append(value)
            stack.extend(value.values() if isinstance(value, dict) else value)
    return found


@st.composite
def mutated_document(draw: Any, bases: list[dict[str, Any]]) -> Any:
    """A copy of one of ``bases`` with a few values replaced (by wrong types, odd numbers or
    strings), removed or renamed, or unknown keys and items added."""
    document = copy.deepcopy(draw(st.sampled_from(bases)))
    for _ in range(draw(st.integers(0, 4))):
        # Every key and index is as likely a target as any other, however deep it is.
        slots = [
            (container, key)
            for container in containers(document)
            for key in (list(container) if isinstance(container, dict) else range(len(container)))
        ]
        action = draw(st.sampled_from(["set", "set", "set", "drop", "rename", "add"]))
        if action == "add" or not slots:
            container = draw(st.sampled_from(containers(document)))
            if isinstance(container, dict):
                container[draw(odd_keys)] = draw(odd_values)
            else:
                container.append(draw(odd_values))
            continue
        container, key = draw(st.sampled_from(slots))
        if action == "set":
            container[key] = draw(odd_values)
        elif action == "drop":
            del container[key]
        elif isinstance(container, dict):
            container[draw(odd_keys)] = container.pop(key)
    return document


@st.composite
def near_valid(draw: Any, bases: list[dict[str, Any]], extra_lines: Sequence[str] = ()) -> bytes:
    """A document of the dialect (``bases``) with random mutations, as YAML text, itself then
    perhaps cut, prefixed, given a duplicate line, a stray character or deep nesting."""
    text = yaml.safe_dump(
        draw(mutated_document(bases)),
        allow_unicode=draw(st.booleans()),
        sort_keys=False,
        default_flow_style=draw(st.sampled_from([False, None, True])),
    )
    text += "".join(f"{line}\n" for line in draw(st.lists(st.sampled_from(extra_lines or [""]))))
    text = text.replace(ALIAS_BOMB, aliases(9)).replace(DEEP_FLOW, "[" * 120 + "]" * 120)
    lines = text.splitlines(keepends=True)
    change = draw(
        st.sampled_from(["none", "none", "duplicate", "insert", "cut", "prefix", "deep"])
    )
    if change == "duplicate" and lines:
        line = draw(st.integers(0, len(lines) - 1))
        text = "".join(lines[: line + 1] + lines[line:])
    elif change == "insert":
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(odd_text) + text[at:]
    elif change == "cut":
        text = text[: draw(st.integers(0, len(text)))]
    elif change == "prefix":
        text = draw(st.sampled_from(["\ufeff", "---\n", "%YAML 1.1\n---\n", "--- !!map\n"])) + text
    elif change == "deep":  # block nesting, which no bracket count sees
        text += "zz_deep:\n  " + "- " * draw(st.sampled_from([10, 300, 3000])) + "1\n"
    return text.encode("utf-8", "surrogatepass")


def items(keys: list[str], values: st.SearchStrategy[str]) -> st.SearchStrategy[list[str]]:
    """Command-line ``KEY=VALUE`` items, some of them malformed."""
    item = st.one_of(
        st.builds(
            lambda key, sep, value: key + sep + value,
            st.one_of(st.sampled_from(keys), odd_text),
            st.sampled_from(["=", "=", "", " = ", "=="]),
            values,
        ),
        odd_text,
    )
    return st.lists(item, max_size=3)


set_values = st.one_of(
    yaml_values,
    odd_text,
    st.sampled_from(
        [
            "log10",
            "v2025",
            "optuna.samplers.GridSampler",
            "pruner.PFLPruner",
            "{type: int, min: 1, max: 3}",
            "9" * 400,
            "-" + "9" * 400,
            "False",
            "0x10",
            "nan",
            "-inf",
            "{'a': 1}",
            "(1,)",
            "{1, 2}",
            "1j",
            "b'x'",
            "'quoted'",
            "__import__('os').system('false')",
            "[" * 200,
            "-" * 500 + "1",
            "(" * 150 + ")" * 150,
        ]
    ),
)
axect_sets = items(
    [
        "study_name",
        "trials",
        "seed",
        "direction",
        "sampler.name",
        "sampler.kwargs.n_startup_trials",
        "pruner.kwargs.variant",
        "pruner.kwargs.top_k",
        "search_space.net_config.layers.max",
        "search_space.net_config.nodes.choices",
        "search_space.new.p.type",
        "trials.x",
        "project",
        "run_config",
    ],
    set_values,
)
hparam_search_sets = items(
    [
        "n_trials",
        "n_jobs",
        "direction",
        "experiment_name",
        "model.first_layer.bias",
        "model.first_layer",
        "hidden_layers.x",
        "sampler.n_startup_trials",
        "sweep_parameters.learning_rate.low",
        "sweep_parameters.optimizer.choices",
        "sweep_parameters.num_epochs.type",
        "missing.key",
    ],
    set_values,
)
orion_arguments = st.lists(
    st.one_of(
        st.sampled_from(
            [
                "--lr~loguniform(1e-5, 1.0)",
                "--lr~uniform(0, 1)",
                "--x~choices(['a', 'b'])",
                "--epochs~fidelity(1, 16, base=4)",
                "--w~+uniform(0, 1)",
                "--w~-uniform(0, 1)",
                "--w~>x",
                "lr~normal(0, 1)",
                "--lr",
                "0.1",
                "-1",
                "--config",
                "{trial.id}",
                "{exp.working_dir}",
                "{x}",
                "{",
                "--name=x",
                "--home~/x",
            ]
        ),
        odd_text,
    ),
    max_size=4,
)
speechbrain_overrides = st.lists(
    st.one_of(
        st.sampled_from(
            [
                "--lr",
                "0.1",
                "--lr=0.1",
                "--emb_dim",
                "[128, 256]",
                "{a: 1}",
                "'a: b'",
                "a: b",
                "- 1",
                "--number_of_epochs",
                "--trial_id",
                "--hpopt_mode",
                "orion",
                "--hpopt",
                "0",
                "--x=a=b",
                "--device",
                "cpu",
                "--debug",
                "--debug_batches",
                "two",
                "-x",
                "--",
                "--=",
                # No --seed comes with it: an override that interpolates itself twice
                # (--lr '!ref <lr>' '!ref <lr>') makes HyperPyYAML expand it without end.
                "!ref <seed>",
                "!PLACEHOLDER",
                "\n  " + "- " * 3000 + "1",
                "[" * 120,
                "9" * 400,
                "-.inf",
            ]
        ),
        odd_text,
    ),
    max_size=6,
)

numbers = st.one_of(st.integers(), st.floats(), st.sampled_from([HUGE, -HUGE, 2**63, 0, 1e-9]))
autogluon_spaces = st.one_of(
    values,
    st.builds(
        oracle.tune_space,
        st.sampled_from(list(oracle.TUNE_ARITY)),
        st.lists(numbers, min_size=3, max_size=3),
    ),
    st.builds(
        lambda data, default: oracle.autogluon_space("Categorical", data=data, default=default),
        st.lists(values, max_size=4),
        values,
    ),
    st.builds(
        lambda kind, lower, upper, default, log: oracle.autogluon_space(
            kind, lower=lower, upper=upper, default=default, log=log
        ),
        st.sampled_from(["Real", "Int", "Bool"]),
        st.one_of(numbers, values),
        st.one_of(numbers, values),
        st.one_of(st.none(), numbers, values),
        st.one_of(st.booleans(), values),
    ),
    st.just({"grid_search": [1, 2]}),
)
hyperparameters = st.one_of(
    st.dictionaries(
        st.one_of(
            st.sampled_from(["optim.lr", "model.hidden", "optim", "optim.lr.x", "a b", ""]),
            st.text(max_size=6),
        ),
        autogluon_spaces,
        max_size=5,
    ),
    values,
)
tune_kwargs = st.one_of(
    st.sampled_from([None, "auto", "random", "bayes", "Bayes", 3, []]),
    st.dictionaries(
        st.sampled_from([*TUNE_KEYS, "max_t"]),
        st.one_of(
            values,
            st.sampled_from(
                [
                    "bayes",
                    "random",
                    "ASHA",
                    "fifo",
                    ["bayes"],
                    {"n_initial_points": 3, "random_state_seed": HUGE},
                    {"random_state": 1},
                    {"max_t": 10, "grace_period": 1, "reduction_factor": 3},
                    {"time_attr": "epoch", "brackets": 2},
                    {"num_cpus": 1},
                ]
            ),
        ),
        max_size=4,
    ),
)
with_and_without_hyperpyyaml = pytest.mark.parametrize(
    "hyperpyyaml", [True, False], ids=["hyperpyyaml", "fallback"], indirect=True
)


@pytest.fixture
def hyperpyyaml(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    """Whether SpeechBrain's files are read by HyperPyYAML (installed) or by the fallback."""
    if request.param:
        pytest.importorskip("hyperpyyaml")
    else:
        monkeypatch.setattr(speechbrain, "_hyperpyyaml", lambda: None)
    return bool(request.param)


# -- properties ----------------------------------------------------------------------------------


@PROPERTY
@given(st.binary(max_size=300), axect_sets)
def test_axect_files_of_random_bytes(data: bytes, sets: list[str]) -> None:
    oracle.check_axect_file(data, sets)


@PROPERTY
@given(near_valid(AXECT), axect_sets)
def test_axect_optimize_configs(data: bytes, sets: list[str]) -> None:
    oracle.check_axect_file(data, sets)


@PROPERTY
@given(st.binary(max_size=300), hparam_search_sets)
def test_hparam_search_files_of_random_bytes(data: bytes, sets: list[str]) -> None:
    oracle.check_hparam_search_file(data, sets)


@PROPERTY
@given(near_valid(HPARAM_SEARCH), hparam_search_sets)
def test_hparam_search_configs(data: bytes, sets: list[str]) -> None:
    oracle.check_hparam_search_file(data, sets)


@PROPERTY
@given(st.one_of(set_values, st.text()))
def test_hparam_search_set_values(text: str) -> None:
    oracle.check_hparam_search_value(text)


@PROPERTY
@given(st.binary(max_size=300), orion_arguments)
def test_orion_config_files_of_random_bytes(data: bytes, arguments: list[str]) -> None:
    oracle.check_orion_config(data, arguments)


@PROPERTY
@given(near_valid(ORION), orion_arguments)
def test_orion_config_files(data: bytes, arguments: list[str]) -> None:
    oracle.check_orion_config(data, arguments)


@with_and_without_hyperpyyaml
@PROPERTY
@given(st.binary(max_size=300), speechbrain_overrides)
def test_speechbrain_files_of_random_bytes(
    hyperpyyaml: bool, data: bytes, overrides: list[str]
) -> None:
    oracle.check_speechbrain(data, overrides, hyperpyyaml=hyperpyyaml)


@with_and_without_hyperpyyaml
@PROPERTY
@given(near_valid(HPOPT, HYPERPYYAML_LINES), speechbrain_overrides)
def test_speechbrain_hpopt_files(hyperpyyaml: bool, data: bytes, overrides: list[str]) -> None:
    oracle.check_speechbrain(data, overrides, hyperpyyaml=hyperpyyaml)


@PROPERTY
@given(
    hyperparameters,
    tune_kwargs,
    st.one_of(st.sampled_from(["accuracy", "roc_auc", "rmse", "log_loss"]), st.text(max_size=6)),
    st.sampled_from([None, "min", "max", "maximize", ""]),
    st.one_of(st.none(), numbers, values),
)
def test_autogluon_search_spaces(
    hyperparameters: Any, tune_kwargs: Any, eval_metric: str, mode: str | None, time_limit: Any
) -> None:
    oracle.check_autogluon(
        hyperparameters, tune_kwargs, eval_metric=eval_metric, mode=mode, time_limit=time_limit
    )


# -- known inputs that once escaped --------------------------------------------------------------

PAST_A_FLOAT = 10**400
AXECT_HEAD = "study_name: s\ntrials: 2\nseed: 1\nmetric: val_loss\ndirection: minimize\n"
AXECT_SPACE = "search_space: {c: {p: {type: int, min: 1, max: 2}}}\n"


def one_line_error(call: Callable[[], object]) -> str:
    with pytest.raises(ConfigError) as caught:
        call()
    oracle.assert_one_line(caught.value)
    return str(caught.value)


def fast_one_line_error(call: Callable[[], object]) -> str:
    started = time.perf_counter()
    message = one_line_error(call)
    assert time.perf_counter() - started < 2.0
    return message


@pytest.mark.parametrize(
    "param, message",
    [
        ("{type: [int], min: 1, max: 2}", "search_space.c.p.type is ['int']; it must be int,"),
        (f"{{type: float, min: 0, max: {PAST_A_FLOAT}}}", "search_space.c.p: `high` must be"),
    ],
    ids=["type-is-a-list", "bound-past-a-float"],
)
def test_axect_params_of_the_wrong_type_or_size(tmp_path: Path, param: str, message: str) -> None:
    """Before: TypeError (unhashable type: 'list'), OverflowError (int too large for a float)."""
    path = tmp_path / "optimize.yaml"
    path.write_text(f"{AXECT_HEAD}search_space:\n  c:\n    p: {param}\n")
    assert message in one_line_error(lambda: read_optimize_file(path))


@pytest.mark.parametrize(
    "param, message",
    [
        ("{type: [float], low: 0, high: 1}", "sweep_parameters.p.type is ['float']; it must be"),
        (f"{{type: float, low: 0, high: {PAST_A_FLOAT}}}", "sweep_parameters.p: `high` must be"),
    ],
    ids=["type-is-a-list", "bound-past-a-float"],
)
def test_hparam_search_params_of_the_wrong_type_or_size(param: str, message: str) -> None:
    """Before: TypeError (unhashable type: 'list'), OverflowError (int too large for a float)."""
    config = yaml.safe_load(f"n_jobs: 1\nn_trials: 2\nsweep_parameters:\n  p: {param}\n")
    error = one_line_error(
        lambda: hparam_search_plan(config, source="config.yaml", save_db_directory=".")
    )
    assert message in error


def test_orion_numbers_past_a_float() -> None:
    """Before: OverflowError (math.isfinite of a count, float() of a default_value, each an int
    too large for a float)."""
    data = f"experiment:\n  algorithm:\n    tpe: {{n_initial_points: {PAST_A_FLOAT}}}\n"
    hunt: Any = oracle.check_orion_config(data.encode(), ["--lr~uniform(0, 1)"])
    assert hunt.config.sampler.kwargs["n_startup_trials"] == PAST_A_FLOAT
    prior = f"--lr~uniform(0, 1, default_value={PAST_A_FLOAT})"
    assert oracle.check_orion_config(b"", [prior]) is None


@pytest.mark.parametrize("where", ["experiment:\n  name", "experiment:\n  max_trials", "space"])
def test_orion_config_alias_bombs_fail_fast(tmp_path: Path, where: str) -> None:
    """Before: minutes (an error message quoting a value that stands for 9**9 values)."""
    path = tmp_path / "orion.yaml"
    path.write_text(f"{where}: {aliases(9)}\n")
    options = HuntOptions(name="exp", config=str(path))
    error = fast_one_line_error(
        lambda: hunt_config(["python", "-c", "pass", "--lr~uniform(0, 1)"], options)
    )
    assert "orion.yaml: the config stands for more than 100000 values" in error


def test_orion_command_arguments_too_long_to_name_a_file(tmp_path: Path) -> None:
    """Before: OSError (File name too long) from Path.exists, which hunt asks of every argument
    (Oríon makes those that name a file absolute) and of the script."""
    hunt: Any = oracle.check_orion_config(b"", ["--lr~uniform(0, 1)", "--note", "x" * 300])
    assert hunt.config.command[-1] == "x" * 300
    error = one_line_error(
        lambda: hunt_config(["x" * 300, "--lr~uniform(0, 1)"], HuntOptions(name="exp"))
    )
    assert "does not exist and is not a command on PATH" in error


def test_autogluon_values_of_the_wrong_type_or_size() -> None:
    """Before: TypeError (unhashable type: 'list'), OverflowError (float() of the time limit, and
    of a default, each an int too large for a float)."""
    space = {"optim.lr": tune.uniform(0, 1)}
    error = one_line_error(
        lambda: autogluon_plan(space, {"searcher": ["bayes"]}, eval_metric="f1")
    )
    assert "searcher must be 'random' or 'bayes', got 'list'" in error
    error = one_line_error(
        lambda: autogluon_plan(space, None, eval_metric="f1", time_limit=PAST_A_FLOAT)
    )
    assert "time_limit must be a number of seconds > 0" in error
    real = oracle.autogluon_space("Real", lower=0, upper=1, default=PAST_A_FLOAT, log=False)
    error = one_line_error(lambda: autogluon_plan({"optim.lr": real}, None, eval_metric="f1"))
    assert "hyperparameters['optim.lr']: default 1000" in error


@pytest.mark.parametrize(
    "check, text, items",
    [
        (oracle.check_axect_file, AXECT_HEAD + AXECT_SPACE, ["0\x850=1"]),
        (
            oracle.check_axect_file,
            AXECT_HEAD + AXECT_SPACE + 'pruner: {name: pruner.PFLPruner, kwargs: {"a\\nb": 1}}',
            [],
        ),
        (oracle.check_hparam_search_file, '"\\r": 1\nn_jobs: 1\nn_trials: 1\n', ["no.key=1"]),
        (oracle.check_orion_config, 'worker: {"\\r": 1}\n', ["--lr~uniform(0, 1)"]),
        (oracle.check_orion_config, 'space: {"a\\nb": 1}\n', []),
        (oracle.check_orion_config, "", ["--a\nb", "1", "lr~uniform(0, 1)"]),
        (oracle.check_orion_config, "", ["--a\nb=1~uniform(0, 1)"]),
        (oracle.check_orion_config, "", ["--lr~uniform(0, 1)", "--a\nb", "1", "--a\nb", "2"]),
        (oracle.check_orion_config, "", ["{a\nb}", "--lr~uniform(0, 1)"]),
    ],
    ids=[
        "axect-set",
        "axect-pfl-kwargs",
        "hparam_search-set",
        "orion-worker",
        "orion-space",
        "hunt-prior-and-value",
        "hunt-prior-after-equals",
        "hunt-option-twice",
        "hunt-template",
    ],
)
def test_keys_and_options_with_line_breaks_are_shown_escaped(
    check: Callable[[bytes, list[str]], object], text: str, items: list[str]
) -> None:
    """Before: the key (in the file or typed) or the hunt command's option was printed as it
    is, its line break splitting the error over two lines."""
    assert check(text.encode(), items) is None


def parse_arguments(*argv: str) -> Callable[[], object]:
    """SpeechBrain's ``train.yaml ARGV`` through hpsweep.compat.speechbrain, to call."""
    context = speechbrain.HyperparameterOptimizationContext(
        reporter_kwargs={"objective_key": "error"}
    )
    return lambda: context.parse_arguments(["train.yaml", *argv])


@with_and_without_hyperpyyaml
def test_speechbrain_block_nesting_fails_fast(hyperpyyaml: bool, tmp_path: Path) -> None:
    """Before: RecursionError from the hpopt file (both loaders) and the overrides (the
    fallback): nested brackets were refused, nested blocks were not."""
    deep = "\n  " + "- " * 3000 + "1\n"
    (tmp_path / "hpopt.yaml").write_text(f"x:{deep}")
    error = fast_one_line_error(parse_arguments("--hpopt", str(tmp_path / "hpopt.yaml")))
    assert error.endswith("hpopt.yaml: the YAML nests too deeply; flatten it")
    error = fast_one_line_error(parse_arguments("--y", deep))
    assert error == "the command-line overrides: the YAML nests too deeply; flatten it"


@with_and_without_hyperpyyaml
def test_speechbrain_alias_bombs_fail_fast(hyperpyyaml: bool, tmp_path: Path) -> None:
    """Before: HyperPyYAML walks a value again for each alias of it: 9**7 values took 12 s, and
    each further level multiplies that by 9 (a recipe's own load_hyperpyyaml walks the
    overrides again)."""
    (tmp_path / "hpopt.yaml").write_text(f"x: {aliases(9)}\n")
    error = fast_one_line_error(parse_arguments("--hpopt", str(tmp_path / "hpopt.yaml")))
    assert "hpopt.yaml: the YAML stands for more than 100000 values" in error
    error = fast_one_line_error(parse_arguments("--y", aliases(9)))
    assert "overrides: the YAML stands for more than 100000 values" in error


@pytest.mark.parametrize("hyperpyyaml", [False], ids=["fallback"], indirect=True)
@pytest.mark.parametrize(
    "value, message",
    [
        ("a\x07b", "overrides: ReaderError: unacceptable character #x0007"),
        ("9" * 5000, "the integer 99999999999999999999... has 5000 digits"),
    ],
    ids=["control-character", "5000-digits"],
)
def test_speechbrain_fallback_errors_are_one_line(
    hyperpyyaml: bool, value: str, message: str
) -> None:
    """Before: two lines (PyYAML's ReaderError text), ValueError (int() of 5000 digits)."""
    assert message in one_line_error(parse_arguments("--x", value))


@pytest.mark.parametrize("hyperpyyaml", [True], ids=["hyperpyyaml"], indirect=True)
def test_hyperpyyaml_errors_without_a_message_are_one_line(
    hyperpyyaml: bool, tmp_path: Path
) -> None:
    """Before: IndexError (HyperPyYAML's !applyref raises a ValueError without a message)."""
    (tmp_path / "hpopt.yaml").write_text("x: !applyref:math.sqrt 4\n")
    error = one_line_error(parse_arguments("--hpopt", str(tmp_path / "hpopt.yaml")))
    assert error.endswith("hpopt.yaml: ValueError: HyperPyYAML gives no reason; check the tags")


@pytest.mark.parametrize("hyperpyyaml", [True], ids=["hyperpyyaml"], indirect=True)
def test_hyperpyyaml_problems_quoting_line_breaks_are_one_line(
    hyperpyyaml: bool, tmp_path: Path
) -> None:
    """Before: two lines (ruamel's problem quotes the duplicate key as it is)."""
    (tmp_path / "hpopt.yaml").write_text('"\\x1e": 1\n"\\x1e": 2\n')
    error = one_line_error(parse_arguments("--hpopt", str(tmp_path / "hpopt.yaml")))
    assert "found duplicate key" in error


# -- found here and fixed in the readers that every config shares ------------------------------


@pytest.mark.parametrize(
    "check, text, items",
    [
        (oracle.check_axect_file, AXECT_HEAD + AXECT_SPACE, [f"seed={PAST_A_FLOAT}"]),
        (oracle.check_hparam_search_file, f"n_jobs: 1\nn_trials: {PAST_A_FLOAT}\n", []),
        (
            oracle.check_orion_config,
            f"experiment: {{max_trials: {PAST_A_FLOAT}}}\n",
            ["--x~uniform(0, 1)"],
        ),
    ],
    ids=["axect-seed", "hparam_search-n_trials", "orion-max_trials"],
)
def test_integers_past_a_float_are_one_line(
    check: Callable[[bytes, list[str]], object], text: str, items: list[str]
) -> None:
    check(text.encode(), items)


@pytest.mark.parametrize(
    "check, text, items",
    [
        (oracle.check_axect_file, f"trials: {'9' * 5000}\n", []),
        (oracle.check_axect_file, AXECT_HEAD + AXECT_SPACE, [f"trials={'9' * 5000}"]),
        (oracle.check_hparam_search_file, f"n_trials: {'9' * 5000}\n", []),
        (oracle.check_orion_config, f"experiment: {{max_trials: {'9' * 5000}}}\n", []),
    ],
    ids=["axect", "axect-set", "hparam_search", "orion"],
)
def test_integers_of_more_than_4300_digits_are_one_line(
    check: Callable[[bytes, list[str]], object], text: str, items: list[str]
) -> None:
    check(text.encode(), items)


@pytest.mark.parametrize(
    "numbers",
    [(math.inf, 1, 1), (math.nan, 1, 1), (0, PAST_A_FLOAT, 1)],
    ids=["inf", "nan", "huge"],
)
def test_tune_quniform_of_bounds_that_are_no_float_is_one_line(numbers: tuple[float, ...]) -> None:
    oracle.tune_space("quniform", numbers)
