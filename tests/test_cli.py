"""The CLI end to end, through real subprocesses."""

from __future__ import annotations

import argparse
import csv
import io
import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import yaml

from hpsweep.cli._main import _parser
from support import clean_env
from support import hpsweep
from support import stored_trials

OBJECTIVE = textwrap.dedent("""
    import hpsweep

    def score(p):
        for step in range(3):
            hpsweep.report(p["x"] ** 2 + 1 - step, step=step)
        return (p["x"] - 1) ** 2 + p["y"]

    def broken(p):
        raise RuntimeError("no GPU here")
    """)


def setup(tmp_path: Path) -> Path:
    (tmp_path / "objectives.py").write_text(OBJECTIVE)
    return tmp_path


def test_run_with_flags_then_inspect(tmp_path: Path) -> None:
    cwd = setup(tmp_path)
    result = hpsweep(
        cwd,
        "run",
        "-n",
        "8",
        "-p",
        "x=float(-3,3)",
        "-p",
        "y=int(0,2)",
        "--objective",
        "objectives:score",
        "--seed",
        "1",
    )
    assert "8 complete this run; 8 in the study" in result.stderr
    trials = stored_trials(cwd)
    assert len(trials) == 8

    listed = json.loads(hpsweep(cwd, "trials", "--format", "json").stdout)
    assert [t["number"] for t in listed] == [t.number for t in trials]
    assert [t["value"] for t in listed] == [t.value for t in trials]
    assert [t["params"] for t in listed] == [t.params for t in trials]
    assert {t["state"] for t in listed} == {"complete"}
    assert set(listed[0]) >= {
        "number",
        "state",
        "value",
        "params",
        "datetime_start",
        "datetime_complete",
        "duration_s",
        "user_attrs",
    }

    rows = list(csv.DictReader(io.StringIO(hpsweep(cwd, "trials", "--format", "csv").stdout)))
    assert [float(r["x"]) for r in rows] == [t.params["x"] for t in trials]
    assert [r["why"] for r in rows] == ["complete"] * 8

    documents = yaml.safe_load(hpsweep(cwd, "trials", "--format", "yaml").stdout)
    assert [d["value"] for d in documents] == [t.value for t in trials]
    table = hpsweep(cwd, "trials").stdout
    assert table.splitlines()[0].split()[:4] == ["number", "state", "why", "value"]

    best = min(trials, key=lambda t: t.value or 0.0)
    as_json = json.loads(hpsweep(cwd, "best", "--format", "json").stdout)
    assert as_json == {"number": best.number, "value": best.value, "params": best.params}
    assert yaml.safe_load(hpsweep(cwd, "best").stdout) == best.params
    args = hpsweep(cwd, "best", "--format", "args").stdout.split()
    assert args == ["--x", repr(best.params["x"]), "--y", str(best.params["y"])]

    info = hpsweep(cwd, "info").stdout
    assert "study: default" in info and "trials: 8 (complete 8)" in info
    assert f"best: trial {best.number}, value {best.value!r}" in info
    assert "studies" not in hpsweep(cwd, "studies").stderr


def test_resume_adds_only_up_to_the_total(tmp_path: Path) -> None:
    cwd = setup(tmp_path)
    args = ["run", "-p", "x=float(-3,3)", "-p", "y=int(0,2)", "--objective", "objectives:score"]
    hpsweep(cwd, *args, "-n", "5")
    again = hpsweep(cwd, *args, "-n", "5")
    assert "no trials run this run; 5 in the study" in again.stderr
    hpsweep(cwd, *args, "-n", "7")
    assert len(stored_trials(cwd)) == 7


def test_read_side_commands_never_write(tmp_path: Path) -> None:
    cwd = setup(tmp_path)
    hpsweep(
        cwd,
        "run",
        "-n",
        "3",
        "-p",
        "x=float(-3,3)",
        "-p",
        "y=0",
        "--objective",
        "objectives:score",
    )
    before = (cwd / "hpsweep.journal").read_bytes()
    for command in (["info"], ["trials"], ["best"], ["studies"], ["trials", "--format", "json"]):
        hpsweep(cwd, *command)
    assert (cwd / "hpsweep.journal").read_bytes() == before


def test_failures_and_max_failures_exit_codes(tmp_path: Path) -> None:
    cwd = setup(tmp_path)
    result = hpsweep(
        cwd,
        "run",
        "-n",
        "10",
        "-p",
        "x=float(-3,3)",
        "--objective",
        "objectives:broken",
        "--max-failures",
        "2",
        check=False,
    )
    assert result.returncode == 1
    assert "RuntimeError: no GPU here" in result.stderr
    assert "2 failed trials reached --max-failures" in result.stderr
    listed = json.loads(hpsweep(cwd, "trials", "--format", "json").stdout)
    assert [t["user_attrs"]["why"] for t in listed] == ["failed", "failed"]


def test_errors_are_one_line_with_exit_code_2(tmp_path: Path) -> None:
    cwd = setup(tmp_path)
    cases = [
        (
            ["run", "-p", "x=float(3,1)", "--objective", "objectives:score"],
            "hpsweep: error: -p 'x=float(3,1)': `low <= high` must hold",
        ),
        (["run", "missing.yaml"], "hpsweep: error: config file missing.yaml does not exist"),
        (
            ["run", "-p", "x=float(0,1)", "--objective", "nomodule:f"],
            "hpsweep: error: objective 'nomodule:f': no module 'nomodule'",
        ),
        (
            ["run", "-p", "x=float(0,1)", "--objective", "objectives:nothere"],
            "hpsweep: error: objective 'objectives:nothere': objectives has no function",
        ),
        (["run", "-p", "x=float(0,1)"], "hpsweep: error: nothing to run"),
        (["run", "--bogus"], "hpsweep: error: hpsweep run: unrecognized arguments: --bogus"),
        (["info"], "hpsweep: error: no store at hpsweep.journal"),
    ]
    for args, start in cases:
        result = hpsweep(cwd, *args, check=False)
        assert result.returncode == 2, (args, result.stderr)
        assert result.stderr.startswith(start), (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    debug = hpsweep(cwd, "--debug", "run", "missing.yaml", check=False)
    assert "Traceback" in debug.stderr


def test_env_settings_apply(tmp_path: Path) -> None:
    cwd = setup(tmp_path)
    env = clean_env()
    env.update(HPSWEEP_N_TRIALS="4", HPSWEEP_STUDY="from-env")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "hpsweep",
            "run",
            "-p",
            "x=float(0,1)",
            "-p",
            "y=0",
            "--objective",
            "objectives:score",
        ],
        cwd=cwd,
        env=env,
        check=True,
        capture_output=True,
    )
    assert len(stored_trials(cwd, "from-env")) == 4


def run_with_env(
    cwd: Path, variables: dict[str, str], *args: str
) -> subprocess.CompletedProcess[str]:
    """`hpsweep ARGS` in ``cwd`` with these HPSWEEP_* variables and no others."""
    return subprocess.run(
        [sys.executable, "-m", "hpsweep", *args],
        cwd=cwd,
        env={**clean_env(), **variables},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_set_and_flags_win_over_the_environment(tmp_path: Path) -> None:
    cwd = setup(tmp_path)
    env = {"HPSWEEP_N_TRIALS": "5"}
    args = ["run", "-q", "-p", "x=float(-3,3)", "-p", "y=0", "--objective", "objectives:score"]
    result = run_with_env(cwd, env, *args, "--study", "by-set", "--set", "n_trials=2")
    assert result.returncode == 0, result.stderr
    assert len(stored_trials(cwd, "by-set")) == 2
    result = run_with_env(cwd, env, *args, "--study", "by-flag", "-n", "3")
    assert result.returncode == 0, result.stderr
    assert len(stored_trials(cwd, "by-flag")) == 3


def test_env_sets_the_objective_and_names_a_bad_variable(tmp_path: Path) -> None:
    cwd = setup(tmp_path)
    env = {
        "HPSWEEP_OBJECTIVE": "objectives:score",
        "HPSWEEP_N_TRIALS": "2",
        "HPSWEEP_DIRECTION": "maximize",
    }
    result = run_with_env(cwd, env, "run", "-q", "-p", "x=float(-3,3)", "-p", "y=0")
    assert result.returncode == 0, result.stderr
    values = [t.value for t in stored_trials(cwd)]
    assert len(values) == 2
    assert json.loads(hpsweep(cwd, "best", "--format", "json").stdout)["value"] == max(values)
    bad = run_with_env(cwd, {**env, "HPSWEEP_SEED": "abc"}, "run", "-p", "x=float(-3,3)")
    assert bad.returncode == 2
    assert bad.stderr == (
        "hpsweep: error: environment variable HPSWEEP_SEED: seed must be an integer >= 0, "
        "got 'abc'\n"
    )


def test_debug_goes_before_or_after_the_subcommand(tmp_path: Path) -> None:
    cwd = setup(tmp_path)
    missing = "hpsweep: error: config file missing.yaml does not exist; check the path"
    for args, error in (
        (["--debug", "run", "missing.yaml"], missing),
        (["run", "missing.yaml", "--debug"], missing),
        (["run", "--debug", "missing.yaml"], missing),
        (["space", "check", "missing.yaml", "--debug"], missing),
        (
            ["info", "--storage", "missing.journal", "--debug"],
            "hpsweep: error: no store at missing.journal; run `hpsweep run` there first or "
            "pass --storage",
        ),
    ):
        result = hpsweep(cwd, *args, check=False)
        assert result.returncode == 2, (args, result.stderr)
        assert "Traceback" in result.stderr, args
        assert result.stderr.splitlines()[-1] == error, (args, result.stderr)
    by_env = run_with_env(cwd, {"HPSWEEP_DEBUG": "1"}, "run", "missing.yaml")
    assert by_env.returncode == 2 and "Traceback" in by_env.stderr
    quiet = hpsweep(cwd, "run", "missing.yaml", check=False)
    assert quiet.returncode == 2 and quiet.stderr == missing + "\n"


def test_every_subcommand_takes_debug() -> None:
    def subcommands(
        parser: argparse.ArgumentParser, path: tuple[str, ...]
    ) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    yield (*path, name), sub
                    yield from subcommands(sub, (*path, name))

    found = dict(subcommands(_parser(), ()))
    assert {("run",), ("hunt",), ("worker",), ("space", "check")} <= set(found)
    for path, sub in found.items():
        assert "--debug" in sub._option_string_actions, path
