"""hpsweep.compat.speechbrain: SpeechBrain's hpopt API, point by point (seed-systems.md §1, §6
items 1-9), and SpeechBrain scripts run by hpsweep."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from hpsweep import client
from hpsweep._errors import ConfigError
from hpsweep.compat import speechbrain as hp

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
TIMESTAMP = dt.datetime(2021, 1, 3)


@pytest.fixture(autouse=True)
def clean(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Iterator[None]:
    """A fresh process, as far as the module is concerned: no context, nothing reported to
    Oríon, no HPSWEEP_*/ORION_*/LOCAL_RANK variables, an empty working directory."""
    monkeypatch.chdir(tmp_path)
    for key in list(os.environ):
        if key.startswith(("HPSWEEP_", "ORION_")) or key == "LOCAL_RANK":
            monkeypatch.delenv(key)
    monkeypatch.setattr(hp, "_orion_reported", False)
    hp._context["current"] = None
    yield
    hp._context["current"] = None


@pytest.fixture
def no_hyperpyyaml(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hp, "_hyperpyyaml", lambda: None)


@pytest.fixture(params=["hyperpyyaml", "plain"])
def loader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each parsing test runs with HyperPyYAML and with the PyYAML fallback."""
    if request.param == "hyperpyyaml":
        pytest.importorskip("hyperpyyaml")
    else:
        monkeypatch.setattr(hp, "_hyperpyyaml", lambda: None)
    return str(request.param)


def parse(argv: list[str], **kwargs: Any) -> tuple[str, dict[str, Any], dict[str, Any]]:
    with hp.hyperparameter_optimization(objective_key="error", output=io.StringIO()) as ctx:
        result = ctx.parse_arguments(argv, **kwargs)
        hp.report_result({"error": 0.0})
    return result


HPOPT_YAML = """\
number_of_epochs: 1
ckpt_enable: False
trial_id: hpfit
output_folder: !ref ./results/speaker_id/<trial_id>
"""


# ------------------------------------------------------------------------ 1. the API


def test_public_names_are_sorted_and_complete() -> None:
    assert hp.__all__ == sorted(hp.__all__)
    assert set(hp.__all__) <= set(vars(hp))
    defined_here = {
        name
        for name, value in vars(hp).items()
        if not name.startswith("_") and getattr(value, "__module__", None) == hp.__name__
    }
    assert defined_here <= set(hp.__all__)


def test_module_constants_are_speechbrains() -> None:
    assert hp.MODULE_ORION == "orion.client"
    assert hp.FORMAT_TIMESTAMP == "%Y%m%d%H%M%S%f"
    assert hp.DEFAULT_TRIAL_ID == "hpopt"
    assert hp.DEFAULT_REPORTER == "generic"
    assert hp.ORION_TRIAL_ID_ENV == [
        "ORION_EXPERIMENT_NAME",
        "ORION_EXPERIMENT_VERSION",
        "ORION_TRIAL_ID",
    ]
    assert (hp.KEY_HPOPT, hp.KEY_HPOPT_MODE, hp.KEY_TRIAL_ID) == (
        "hpopt",
        "hpopt_mode",
        "trial_id",
    )
    assert hp.HPOPT_KEYS == ["hpopt", "hpopt_mode"]


def test_context_arguments_go_to_the_reporter() -> None:
    output = io.StringIO()
    with hp.hyperparameter_optimization(objective_key="error", output=output) as ctx:
        assert isinstance(ctx, hp.HyperparameterOptimizationContext)
        assert (ctx.enabled, ctx.reporter, ctx.result) == (False, None, None)
        ctx.parse_arguments(["train.yaml", "--hpopt=True"])
        assert isinstance(ctx.reporter, hp.GenericHyperparameterOptimizationReporter)
        assert ctx.reporter.objective_key == "error"
        assert ctx.reporter.output is output
        hp.report_result({"error": 0.5})
    assert output.getvalue() == '{"error": 0.5, "objective": 0.5}'


def test_hpopt_mode_registers_a_reporter() -> None:
    seen: list[object] = []

    @hp.hpopt_mode("raw")
    class Raw(hp.HyperparameterOptimizationReporter):
        def report_objective(self, result: Any) -> None:
            seen.append(result[self.objective_key])

    try:
        assert isinstance(hp.get_reporter("raw", objective_key="error"), Raw)
        with hp.hyperparameter_optimization(objective_key="error") as ctx:
            ctx.parse_arguments(["train.yaml", "--hpopt", "yes", "--hpopt_mode", "raw"])
            hp.report_result({"error": 1.5})
        assert seen == [1.5]
    finally:
        del hp._hpopt_modes["raw"]


def test_base_reporter() -> None:
    reporter = hp.HyperparameterOptimizationReporter("error")
    assert reporter.is_available is True
    assert reporter.trial_id == "hpopt"
    assert reporter.report_objective({"error": 1}) is NotImplemented


# ------------------------------------------------------- 2. only the CLI enables hpopt


@pytest.mark.parametrize(
    ("argv", "enabled"),
    [
        (["train.yaml"], False),
        (["train.yaml", "--hpopt=True"], True),
        (["train.yaml", "--hpopt", "true"], True),
        (["train.yaml", "--hpopt", "hpopt.yaml"], True),
        (["train.yaml", "--hpopt", "missing.yaml"], True),
        (["train.yaml", "--hpopt", "1"], True),
        (["train.yaml", "--hpopt", "False"], False),
        (["train.yaml", "--hpopt", "0"], False),
        (["train.yaml", "--hpopt", "null"], False),
        (["train.yaml", "--hpopt"], False),  # `hpopt:` is YAML null
        (["train.yaml", "--hpopt_mode", "orion"], False),
    ],
)
def test_hpopt_is_enabled_only_by_a_truthy_command_line_hpopt(
    argv: list[str], enabled: bool, loader: str
) -> None:
    Path("hpopt.yaml").write_text("hpopt: true\nnumber_of_epochs: 1\n")
    with hp.hyperparameter_optimization(objective_key="error", output=io.StringIO()) as ctx:
        ctx.parse_arguments(argv)
        assert ctx.enabled is enabled
        assert (ctx.reporter is not None) is enabled
        hp.report_result({"error": 0.0})


def test_an_hpopt_key_in_the_hpopt_file_does_not_enable_anything(loader: str) -> None:
    Path("hpopt.yaml").write_text("hpopt: true\n")
    _, _, overrides = parse(["train.yaml", "--x", "1"])
    assert overrides == {"x": 1}


# ---------------------------------------------------------------------------- 3. modes


def test_generic_is_the_default_mode() -> None:
    with hp.hyperparameter_optimization(objective_key="error") as ctx:
        ctx.parse_arguments(["train.yaml", "--hpopt=True"])
        assert type(ctx.reporter) is hp.GenericHyperparameterOptimizationReporter
        ctx.result = None  # report nothing


def test_unknown_mode_falls_back_to_generic_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger=hp.__name__):
        reporter = hp.get_reporter("json", objective_key="error")
    assert type(reporter) is hp.GenericHyperparameterOptimizationReporter
    assert caplog.messages == ["hpopt_mode json is not supported, reverting to generic"]


def test_orion_without_orion_variables_falls_back_to_generic(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger=hp.__name__):
        reporter = hp.get_reporter("orion", objective_key="error")
    assert type(reporter) is hp.GenericHyperparameterOptimizationReporter
    assert caplog.messages == ["Reverting to a generic reporter"]


def test_orion_is_available_with_any_orion_id_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORION_TRIAL_ID", "abc")
    assert type(hp.get_reporter("orion", objective_key="error")) is (
        hp.OrionHyperparameterOptimizationReporter
    )


def test_orion_reporter_ignores_generic_reporter_arguments(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ORION_TRIAL_ID", "abc")  # SpeechBrain: TypeError for output=
    reporter = hp.get_reporter("orion", objective_key="error", output=io.StringIO())
    assert type(reporter) is hp.OrionHyperparameterOptimizationReporter


# ------------------------------------------------------------------- 4. the hpopt file


def test_hpopt_file_is_merged_under_the_command_line_and_its_keys_stripped(
    loader: str,
) -> None:
    Path("hpopt.yaml").write_text("number_of_epochs: 1\nlr: 0.5\nckpt_enable: False\n")
    argv = ["train.yaml", "--hpopt", "hpopt.yaml", "--hpopt_mode", "generic", "--lr", "0.1"]
    _, _, overrides = parse(argv)
    # trial_id stays with pass_trial_id=True (the main YAML must then declare it)
    assert overrides == {
        "number_of_epochs": 1,
        "lr": 0.1,
        "ckpt_enable": False,
        "trial_id": overrides["trial_id"],
    }
    _, _, overrides = parse(argv, pass_trial_id=False)
    assert "trial_id" not in overrides


def test_pass_hpopt_args_keeps_those_keys(loader: str) -> None:
    Path("hpopt.yaml").write_text("x: 1\n")
    argv = ["train.yaml", "--hpopt", "hpopt.yaml", "--hpopt_mode", "generic"]
    _, _, overrides = parse(argv, pass_hpopt_args=["hpopt_mode", "trial_id"], pass_trial_id=False)
    assert overrides == {"x": 1, "hpopt_mode": "generic", "trial_id": overrides["trial_id"]}


@pytest.mark.parametrize("flag", [["--hpopt=True"], ["--hpopt", "missing.yaml"]])
def test_without_an_hpopt_file_nothing_is_stripped(flag: list[str], loader: str) -> None:
    _, _, overrides = parse(["train.yaml", *flag, "--hpopt_mode", "generic"], pass_trial_id=False)
    assert set(overrides) == {"hpopt", "hpopt_mode"}


def test_trial_id_of_the_hpopt_file_is_the_trial_s_and_refs_resolve() -> None:
    pytest.importorskip("hyperpyyaml")
    Path("hpopt.yaml").write_text(HPOPT_YAML)
    with hp.hyperparameter_optimization(
        objective_key="error", reference_date=TIMESTAMP, output=io.StringIO()
    ) as ctx:
        _, _, overrides = ctx.parse_arguments(["train.yaml", "--hpopt", "hpopt.yaml"])
        hp.report_result({"error": 0.0})
    assert overrides["trial_id"] == "20210103000000000000"
    assert overrides["output_folder"] == "./results/speaker_id/20210103000000000000"


def test_trial_id_is_added_even_when_the_hpopt_file_lacks_it(loader: str) -> None:
    Path("hpopt.yaml").write_text("x: 1\n")
    with hp.hyperparameter_optimization(
        objective_key="error", reference_date=TIMESTAMP, output=io.StringIO()
    ) as ctx:
        _, _, overrides = ctx.parse_arguments(["train.yaml", "--hpopt", "hpopt.yaml"])
        hp.report_result({"error": 0.0})
    assert overrides == {"x": 1, "trial_id": "20210103000000000000"}


def test_hpopt_file_with_tags_needs_hyperpyyaml(no_hyperpyyaml: None) -> None:
    Path("hpopt.yaml").write_text(HPOPT_YAML)
    with pytest.raises(ConfigError) as error:
        parse(["train.yaml", "--hpopt", "hpopt.yaml"])
    assert str(error.value) == (
        "hpopt.yaml uses the HyperPyYAML tag !ref, which needs HyperPyYAML; install it with: "
        "pip install 'hpsweep[speechbrain]'"
    )


# -------------------------------------------------------------------------- 5. trial ids


def test_trial_id_outside_a_context_is_hpopt() -> None:
    assert hp.get_trial_id() == "hpopt"


def test_trial_id_in_a_context_without_hpopt_is_hpopt() -> None:
    with hp.hyperparameter_optimization(objective_key="error") as ctx:
        ctx.parse_arguments(["train.yaml"])
        assert hp.get_trial_id() == "hpopt"  # SpeechBrain: AttributeError
        ctx.result = None


def test_generic_trial_id_is_a_timestamp_fixed_per_reporter() -> None:
    reporter = hp.GenericHyperparameterOptimizationReporter(objective_key="error")
    assert len(reporter.trial_id) == 20 and reporter.trial_id.isdigit()
    assert reporter.trial_id == reporter.trial_id
    dated = hp.GenericHyperparameterOptimizationReporter(TIMESTAMP, objective_key="error")
    assert dated.trial_id == "20210103000000000000"


def test_generic_trial_id_under_hpsweep_names_the_trial_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HPSWEEP_STUDY", "speaker-id")
    monkeypatch.setenv("HPSWEEP_TRIAL_DIR", str(tmp_path / "hpsweep-runs/speaker-id/trial-3"))
    reporter = hp.GenericHyperparameterOptimizationReporter(objective_key="error")
    assert reporter.trial_id == "speaker-id-trial-3"
    dated = hp.GenericHyperparameterOptimizationReporter(TIMESTAMP, objective_key="error")
    assert dated.trial_id == "20210103000000000000"  # an explicit date still wins


def test_orion_trial_id_joins_the_orion_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORION_EXPERIMENT_NAME", "speaker-id")
    monkeypatch.setenv("ORION_TRIAL_ID", "c1a71e09")
    reporter = hp.OrionHyperparameterOptimizationReporter("error")
    assert reporter.trial_id == "speaker-id--c1a71e09"  # a missing version is empty
    with hp.hyperparameter_optimization(objective_key="error") as ctx:
        ctx.parse_arguments(["train.yaml", "--hpopt=True", "--hpopt_mode", "orion"])
        assert hp.get_trial_id() == "speaker-id--c1a71e09"
        ctx.result = None


# ------------------------------------------------------------------- 6. reporting at exit


def test_the_last_result_is_reported_once_without_a_newline(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with hp.hyperparameter_optimization(objective_key="error") as ctx:
        ctx.parse_arguments(["train.yaml", "--hpopt=True"])
        hp.report_result({"loss": 0.9, "error": 0.3})
        hp.report_result({"loss": 0.93, "error": 0.21})
        assert capsys.readouterr().out == ""
    assert capsys.readouterr().out == '{"loss": 0.93, "error": 0.21, "objective": 0.21}'


def test_json_is_printed_also_outside_hpopt_mode(capsys: pytest.CaptureFixture[str]) -> None:
    with hp.hyperparameter_optimization(objective_key="error") as ctx:
        ctx.parse_arguments(["train.yaml"])
        hp.report_result({"error": 0.5})
    assert capsys.readouterr().out == '{"error": 0.5, "objective": 0.5}'


def test_nothing_is_reported_when_an_exception_escapes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(RuntimeError):
        with hp.hyperparameter_optimization(objective_key="error"):
            hp.report_result({"error": 0.5})
            raise RuntimeError("boom")
    assert capsys.readouterr() == ("", "")
    assert hp._context["current"] is None


def test_report_result_outside_a_context_does_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    hp.report_result({"error": 1.0})
    assert capsys.readouterr() == ("", "")


def test_numpy_style_scalars_are_written_as_numbers(capsys: pytest.CaptureFixture[str]) -> None:
    class Scalar:  # what torch and numpy scalars look like to json
        def item(self) -> float:
            return 0.25

    with hp.hyperparameter_optimization(objective_key="error"):
        hp.report_result({"error": Scalar()})
    assert json.loads(capsys.readouterr().out) == {"error": 0.25, "objective": 0.25}


# --------------------------------------------------------------------- 7. speechbrain#2358


def test_nothing_reported_is_a_message_not_a_key_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with hp.hyperparameter_optimization(objective_key="error"):
        pass
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        "hpsweep.compat.speechbrain: nothing reported: report_result() was never called inside "
        "the hyperparameter_optimization() block (SpeechBrain would raise KeyError here, "
        "speechbrain#2358)\n"
    )


def test_the_objective_placeholder_is_never_reported(capsys: pytest.CaptureFixture[str]) -> None:
    with hp.hyperparameter_optimization(objective_key="objective"):
        pass  # SpeechBrain reports {"objective": 0.0} here
    assert capsys.readouterr().out == ""


def test_a_result_without_the_objective_key_is_a_message(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with hp.hyperparameter_optimization(objective_key="error"):
        hp.report_result({"loss": 1.0})
    out, err = capsys.readouterr()
    assert out == ""
    assert "the last reported result has no objective key 'error' (its keys: loss)" in err


def test_a_result_that_is_not_a_dict_is_a_message(capsys: pytest.CaptureFixture[str]) -> None:
    with hp.hyperparameter_optimization(objective_key="error"):
        hp.report_result(0.5)  # type: ignore[arg-type]
    assert "report_result() needs a dict of metrics, but got 0.5" in capsys.readouterr().err


# ------------------------------------------------------------------------ 8. orion mode


def test_orion_reporter_logs_and_writes_the_results_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    results = tmp_path / "results.json"
    monkeypatch.setenv("ORION_RESULTS_PATH", str(results))
    monkeypatch.setenv("ORION_TRIAL_ID", "7")
    with caplog.at_level(logging.INFO, logger=hp.__name__):
        with hp.hyperparameter_optimization(objective_key="error") as ctx:
            ctx.parse_arguments(["train.yaml", "--hpopt=True", "--hpopt_mode", "orion"])
            hp.report_result({"loss": 0.9, "error": 0.2})
    assert caplog.messages == ["Hyperparameter fit: loss = 0.9, error = 0.2"]
    assert json.loads(results.read_text()) == [
        {"name": "objective", "type": "objective", "value": 0.2}
    ]


def test_orion_reports_once_per_process(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ORION_RESULTS_PATH", str(tmp_path / "results.json"))
    reporter = hp.OrionHyperparameterOptimizationReporter("error")
    reporter.report_objective({"error": 1.0})
    with pytest.raises(RuntimeWarning, match="Has already reported evaluation results once"):
        reporter.report_objective({"error": 2.0})


def test_orion_outside_orion_prints_the_results(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    hp.OrionHyperparameterOptimizationReporter("error").report_objective({"error": 1.0})
    assert capsys.readouterr().out == (
        "[{'name': 'objective', 'type': 'objective', 'value': 1.0}]\n"
    )


# ------------------------------------------------------------- 9. command-line overrides


def test_run_options_and_yaml_typed_overrides(loader: str) -> None:
    argv = [
        "train.yaml",
        "--device",
        "cpu",
        "--debug",
        "--max_grad_norm=2.5",
        "--emb_dim",
        "128",
        "--lr=1e-3",
        "--dropout",
        ".5",
        "--ckpt_enable",
        "False",
        "--name",
        "speaker",
        "--layers",
        "[1, 2]",
        "--verbose",
    ]
    hparams_file, run_opts, overrides = parse(argv)
    assert hparams_file == "train.yaml"
    assert run_opts["device"] == "cpu"
    assert run_opts["debug"] is True
    assert run_opts["max_grad_norm"] == 2.5
    assert run_opts["debug_batches"] == 2  # defaults are there, options not given are not
    assert "precision" not in run_opts
    assert overrides == {
        "emb_dim": 128,
        "lr": 0.001,  # YAML 1.2, as HyperPyYAML reads it (PyYAML alone gives '1e-3')
        "dropout": 0.5,
        "ckpt_enable": False,
        "name": "speaker",
        "layers": [1, 2],
        "verbose": None,
    }


def test_every_speechbrain_run_option_is_known() -> None:
    known = {action.dest for action in hp._run_options_parser()._actions if action.dest != "help"}
    assert known == {
        "param_file",
        "test_only",
        "debug",
        "debug_batches",
        "debug_epochs",
        "debug_persistently",
        "log_config",
        "device",
        "data_parallel_backend",
        "distributed_backend",
        "find_unused_parameters",
        "jit",
        "jit_module_keys",
        "compile",
        "compile_module_keys",
        "compile_mode",
        "compile_using_fullgraph",
        "compile_using_dynamic_shape_tracing",
        "precision",
        "eval_precision",
        "auto_mix_prec",
        "bfloat16_mix_prec",
        "max_grad_norm",
        "skip_nonfinite_grads",
        "nonfinite_patience",
        "noprogressbar",
        "ckpt_interval_minutes",
        "ckpt_interval_steps",
        "grad_accumulation_factor",
        "optimizer_step_limit",
        "tqdm_colored_bar",
        "remove_vector_weight_decay",
        "profile_training",
        "profile_warmup",
        "profile_steps",
    }


def test_local_rank_picks_the_cuda_device(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCAL_RANK", "3")
    assert parse(["train.yaml"])[1]["device"] == "cuda:3"
    assert parse(["train.yaml", "--device", "cpu"])[1]["device"] == "cpu"


def test_equals_in_a_value_becomes_a_space_with_a_warning(
    loader: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger=hp.__name__):
        _, _, overrides = parse(["train.yaml", "--expr=a=b", "--path", "x=y"])
    assert overrides == {"expr": "a b", "path": "x y"}  # SpeechBrain's _convert_to_yaml
    assert len(caplog.messages) == 2
    assert "reads '=' inside a command-line value as a space" in caplog.messages[0]


def test_convert_to_yaml_is_speechbrains() -> None:
    assert hp._convert_to_yaml(["--emb_dim", "128", "--hpopt", "hpopt.yaml"]) == (
        "emb_dim: 128\nhpopt: hpopt.yaml"
    )
    assert hp._convert_to_yaml(["--a=1", "--b", "x y"]) == "a: 1\nb: x y"
    assert hp._convert_to_yaml([]) == ""


PLAIN_YAML_SCALARS = [
    "1e-3",
    "1E3",
    "yes",
    "on",
    "NO",
    "true",
    "TRUE",
    "null",
    "~",
    "0x10",
    "017",
    "0o17",
    "1_000",
    ".5",
    "+1",
    "-.inf",
    "1:20",
    "2021-01-01",
    "12e",
    "[1, 2]",
    "{a: 1}",
    "'q'",
    "1.",
    "-0",
    "0b101",
]


@pytest.mark.parametrize("text", PLAIN_YAML_SCALARS)
def test_the_fallback_loader_types_values_as_hyperpyyaml_does(text: str) -> None:
    hyperpyyaml = pytest.importorskip("hyperpyyaml")
    expected = hyperpyyaml.load_hyperpyyaml(f"k: {text}")["k"]
    got = hp._load_plain_yaml(f"k: {text}", "test")["k"]
    assert (type(got), got) == (type(expected), expected)


# -------------------------------------------------------------------- malformed input


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["train.yaml", "--name", "foo: bar"],
            "the command-line overrides: 'name: foo: bar' is not valid YAML",
        ),
        (
            ["train.yaml", "--layers", "[1, 2"],
            "the command-line overrides: 'layers: [1, 2' is not valid YAML",
        ),
        (["train.yaml", "extra", "--lr", "1"], "unexpected argument 'extra' after the hparams"),
        (["train.yaml", "-x", "1"], "unexpected argument '-x' after the hparams file"),
    ],
)
def test_malformed_overrides_are_one_line_errors(
    argv: list[str], message: str, loader: str
) -> None:
    with pytest.raises(ConfigError) as error:
        parse(argv)
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_a_key_given_twice_is_an_error(loader: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse(["train.yaml", "--lr", "1", "--lr", "2"])
    assert "\n" not in str(error.value)
    assert "lr" in str(error.value) and "once" in str(error.value)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("- 1\n- 2\n", "hpopt.yaml: an hpopt file must be a mapping of overrides"),
        ("a: [1\n", "hpopt.yaml"),
        ("a: " + "[" * 5000 + "\n", "hpopt.yaml: brackets nest more than 100 levels deep"),
        ("a: !ref <nope>\n", "hpopt.yaml"),
        ("a: !new:nomodule.X\n", "hpopt.yaml"),
    ],
)
def test_malformed_hpopt_files_are_one_line_errors(
    content: str, message: str, loader: str
) -> None:
    Path("hpopt.yaml").write_text(content)
    with pytest.raises(ConfigError) as error:
        parse(["train.yaml", "--hpopt", "hpopt.yaml"])
    assert str(error.value).startswith(message)
    assert "\n" not in str(error.value)


def test_deeply_nested_overrides_are_one_line_errors(loader: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse(["train.yaml", "--x", "[" * 3000])
    assert str(error.value).endswith("brackets nest more than 100 levels deep; flatten it")


def test_an_hpopt_path_that_is_not_a_file_is_an_error(loader: str) -> None:
    with pytest.raises(ConfigError, match=r"^\.: cannot read the hpopt file: Is a directory$"):
        parse(["train.yaml", "--hpopt", "."])


def test_a_bad_run_option_value_is_argparses_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parse(["train.yaml", "--debug_batches", "many"])
    assert exit_info.value.code == 2
    assert "--debug_batches: invalid int value: 'many'" in capsys.readouterr().err


# --------------------------------------------------------------------- under hpsweep


class FakeChannel:
    """What a trial's channel to the controller records (hpsweep.client.Channel)."""

    def __init__(self, prune_after: int | None = None) -> None:
        self.params: dict[str, Any] = {}
        self.trial_dir: Path | None = None
        self.number: int | None = 0
        self.reports: list[tuple[float, int | None]] = []
        self.finals: list[object] = []
        self.prune_after = prune_after

    def report(self, value: float, step: int | None) -> None:
        self.reports.append((value, step))

    def should_prune(self) -> bool:
        return self.prune_after is not None and len(self.reports) > self.prune_after

    def report_final(self, result: object) -> None:
        self.finals.append(result)


def test_under_hpsweep_results_travel_over_the_channel(
    capsys: pytest.CaptureFixture[str],
) -> None:
    channel = FakeChannel()
    with client.bound(channel):
        with hp.hyperparameter_optimization(objective_key="error") as ctx:
            ctx.parse_arguments(["train.yaml", "--hpopt=True"])
            for error in (0.5, 0.3, 0.4):
                hp.report_result({"loss": 1.0, "error": error})
    assert channel.reports == [(0.5, None), (0.3, None), (0.4, None)]
    assert channel.finals == [{"loss": 1.0, "error": 0.4, "objective": 0.4}]
    assert capsys.readouterr().out == '{"loss": 1.0, "error": 0.4, "objective": 0.4}'


def test_under_hpsweep_a_pruned_trial_ends_with_trial_pruned(
    capsys: pytest.CaptureFixture[str],
) -> None:
    channel = FakeChannel(prune_after=1)
    with client.bound(channel), pytest.raises(client.TrialPruned):
        with hp.hyperparameter_optimization(objective_key="error"):
            for error in (0.5, 0.3, 0.4):
                hp.report_result({"error": error})
    assert channel.reports == [(0.5, None), (0.3, None)]
    assert channel.finals == []
    assert capsys.readouterr().out == ""


def test_under_hpsweep_values_that_are_not_numbers_are_not_intermediate_values() -> None:
    channel = FakeChannel()
    with client.bound(channel):
        with hp.hyperparameter_optimization(objective_key="error", output=io.StringIO()):
            hp.report_result({"error": "n/a"})
            hp.report_result({"error": float("nan")})
            hp.report_result({"loss": 1.0})
            hp.report_result({"error": 0.1})
    assert channel.reports == [(0.1, None)]


def test_importing_it_loads_neither_yaml_nor_optuna() -> None:
    code = (
        "import sys, hpsweep.compat.speechbrain; "
        "print(sorted(m for m in ('yaml', 'optuna', 'hyperpyyaml', 'argparse') "
        "if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


# ------------------------------------------------- SpeechBrain scripts run by hpsweep


def hpsweep_cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HPSWEEP_", "ORION_"))}
    return subprocess.run(
        [sys.executable, "-m", "hpsweep", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_speechbrains_own_generic_json_works_as_a_run_command(tmp_path: Path) -> None:
    """A script that keeps `from speechbrain.utils import hpopt` prints what sb_generic.py
    prints; `hpsweep run` reads it."""
    result = hpsweep_cli(
        tmp_path,
        "run",
        "--study",
        "sb",
        "-n",
        "3",
        "-p",
        "lr=float(1e-4,1e-1,log)",
        "--",
        sys.executable,
        str(EXAMPLES / "speechbrain" / "sb_generic.py"),
        "--lr",
        "{lr}",
    )
    assert result.returncode == 0, result.stderr
    assert "3 complete" in result.stderr
    log = (tmp_path / "hpsweep-runs" / "sb" / "trial-0" / "stdout.log").read_text()
    assert log.startswith("epoch 1: error") and log.endswith("}")  # no final newline


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.text(max_size=20), max_size=6))
def test_any_command_line_parses_or_fails_cleanly(no_hyperpyyaml: None, argv: list[str]) -> None:
    """Overrides are YAML, so the fallback loader reads them (HyperPyYAML's tags would run
    code); argparse's own usage errors exit with 2 and asking for help exits with 0, as in
    SpeechBrain."""
    try:
        parse(["train.yaml", *argv])
    except ConfigError:
        pass
    except SystemExit as error:
        asked_for_help = any(
            arg.startswith("-h") or (len(arg) >= 3 and "--help".startswith(arg)) for arg in argv
        )
        assert error.code == (0 if asked_for_help and error.code == 0 else 2)


def test_the_recipe_under_hpsweep_run(capsys: pytest.CaptureFixture[str]) -> None:
    """coming-from-speechbrain.md's `hpsweep run` command line."""
    pytest.importorskip("hyperpyyaml")
    from hpsweep.cli import main

    for name in ("train.py", "train.yaml", "hpopt.yaml"):
        shutil.copy(EXAMPLES / "speechbrain" / name, Path.cwd())
    space = ["-p", "emb_dim=choice(128,256)", "-p", "lr=float(1e-4,1e-1,log)"]
    command = [sys.executable, "train.py", "train.yaml", "--hpopt", "hpopt.yaml"]
    argv = ["run", "--study", "speaker-id", "-n", "3", "-q", *space, "--", *command]
    assert main([*argv, "--emb_dim", "{emb_dim}", "--lr", "{lr}"]) == 0
    assert "study 'speaker-id': 3 complete this run" in capsys.readouterr().err
    folders = sorted(p.name for p in Path("results/speaker_id").iterdir())
    assert folders == ["speaker-id-trial-0", "speaker-id-trial-1", "speaker-id-trial-2"]
