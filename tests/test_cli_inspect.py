"""The read-side commands end to end: their outputs, parsed back, agree with the store as Optuna
reads it; report, dashboard and space check; the optuna CLI reads hpsweep's store."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
from collections.abc import Callable
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import optuna
import pytest
import yaml

from hpsweep._config import load_config
from hpsweep.cli import main
from hpsweep.engine import open_store
from hpsweep.space import SearchSpace
from support import clean_env
from support import hpsweep
from support import stop

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

MULTI = textwrap.dedent("""
    study: two-goals
    objective: goals:both
    directions: [minimize, maximize]
    metrics: [loss, speed]
    n_trials: 10
    seed: 3
    space:
      x: {type: float, low: 0.0, high: 1.0}
      y: {type: int, low: 0, high: 4}
    """)
GOALS = textwrap.dedent("""
    def both(p):
        return {"loss": (p["x"] - 0.3) ** 2 + p["y"], "speed": p["x"] * 10 - p["y"]}
    """)


def need(module: str, extra: str) -> None:
    """Skip when an optional extra is missing, except in CI, which must install every extra."""
    try:
        __import__(module)
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail(f"{module} is missing; CI must install hpsweep[{extra}]")
        pytest.skip(f"needs {module}: pip install 'hpsweep[{extra}]' (CI runs this test)")


@dataclass
class Output:
    code: int
    out: str
    err: str


Cli = Callable[..., Output]


@pytest.fixture(scope="module")
def studies(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with the quickstart (pruned trials, a conditional param, learning curves) and a
    two-objective study."""
    root = tmp_path_factory.mktemp("inspect")
    shutil.copytree(ROOT / "examples", root / "examples")
    hpsweep(root, "run", "examples/quickstart.yaml", "-q")
    (root / "goals.py").write_text(GOALS)
    (root / "two-goals.yaml").write_text(MULTI)
    hpsweep(root, "run", "two-goals.yaml", "-q")
    return root


@pytest.fixture
def cli(
    studies: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Iterator[Cli]:
    """Run ``hpsweep ARGS`` in-process in the study directory."""
    monkeypatch.chdir(studies)
    for key in list(os.environ):
        if key.startswith("HPSWEEP_"):
            monkeypatch.delenv(key)

    def run(*args: str) -> Output:
        code = main(list(args))
        captured = capsys.readouterr()
        return Output(code, captured.out, captured.err)

    yield run


def stored(root: Path, name: str) -> optuna.Study:
    store = open_store(str(root / "hpsweep.journal"), readonly=True)
    return optuna.load_study(study_name=name, storage=store.storage)


def ok(output: Output) -> str:
    assert output.code == 0, output.err
    return output.out


# --------------------------------------------------------------------------- trials


def test_trials_json_matches_the_store(cli: Cli, studies: Path) -> None:
    listed = json.loads(ok(cli("trials", "--study", "quickstart", "--format", "json")))
    trials = stored(studies, "quickstart").trials
    assert len(listed) == len(trials) == 30
    for item, trial in zip(listed, trials):
        assert item["number"] == trial.number
        assert item["state"] == trial.state.name.lower()
        assert item["value"] == trial.value
        assert item["params"] == trial.params
        assert item["user_attrs"] == trial.user_attrs
        assert item["datetime_start"] == trial.datetime_start.isoformat()
        assert item["duration_s"] == pytest.approx(trial.duration.total_seconds())
        assert "intermediate_values" not in item
    assert {t["user_attrs"]["why"] for t in listed} == {"complete", "pruned"}


def test_trials_history_carries_the_learning_curves(cli: Cli, studies: Path) -> None:
    as_json = json.loads(
        ok(cli("trials", "--study", "quickstart", "--format", "json", "--history"))
    )
    as_yaml = yaml.safe_load(
        ok(cli("trials", "--study", "quickstart", "--format", "yaml", "--history"))
    )
    trials = stored(studies, "quickstart").trials
    for item, trial in zip(as_json, trials):
        curve = {int(k): v for k, v in item["intermediate_values"].items()}
        assert curve == trial.intermediate_values and curve
    assert as_yaml == as_json


def test_trials_csv_flattens_params_into_columns(cli: Cli, studies: Path) -> None:
    text = ok(cli("trials", "--study", "quickstart", "--format", "csv"))
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == [
        "number",
        "state",
        "why",
        "value",
        "duration_s",
        "lr",
        "layers",
        "optimizer",
        "momentum",
        "error",
    ]
    for row, trial in zip(rows, stored(studies, "quickstart").trials, strict=True):
        assert int(row["number"]) == trial.number and row["why"] == trial.user_attrs["why"]
        assert float(row["value"]) == trial.value
        assert float(row["lr"]) == trial.params["lr"]  # full precision
        assert int(row["layers"]) == trial.params["layers"]
        assert row["optimizer"] == trial.params["optimizer"]
        momentum = trial.params.get("momentum")
        assert row["momentum"] == ("" if momentum is None else repr(momentum))


def test_trials_filter_sort_and_limit(cli: Cli, studies: Path) -> None:
    trials = stored(studies, "quickstart").trials

    def numbers(*args: str) -> list[int]:
        listed = json.loads(ok(cli("trials", "--study", "quickstart", "--format", "json", *args)))
        return [t["number"] for t in listed]

    pruned = [t.number for t in trials if t.state == optuna.trial.TrialState.PRUNED]
    assert numbers("--state", "pruned") == pruned
    assert numbers("--state", "pruned", "--state", "complete") == list(range(30))
    by_value = sorted(trials, key=lambda t: (t.value, t.number))
    assert numbers("--sort", "value") == [t.number for t in by_value]
    assert numbers("--sort", "value", "--limit", "3") == [t.number for t in by_value[:3]]
    by_duration = sorted(trials, key=lambda t: t.duration)
    durations = [trials[n].duration for n in numbers("--sort", "duration")]
    assert durations == [t.duration for t in by_duration]
    table = ok(cli("trials", "--study", "quickstart", "--limit", "4")).splitlines()
    assert table[0].split()[:4] == ["number", "state", "why", "value"]
    assert len(table) == 2 + 4
    assert ok(cli("trials", "--study", "quickstart", "--state", "fail")).strip() == "no trials"
    assert ok(cli("trials", "--study", "quickstart", "--state", "fail", "--format", "json")) == (
        "[]\n"
    )


def test_trials_limit_below_one_is_a_one_line_error(cli: Cli) -> None:
    # Python's slicing would list all but the last 28 trials for -28, and none for 0
    for limit in ("-28", "0"):
        output = cli("trials", "--study", "quickstart", "--limit", limit)
        assert output.code == 2 and not output.out
        assert output.err.strip() == f"hpsweep: error: --limit must be >= 1, got {limit}"


def test_trials_of_several_objectives_have_a_column_each(cli: Cli, studies: Path) -> None:
    text = ok(cli("trials", "--study", "two-goals", "--format", "csv"))
    rows = list(csv.DictReader(io.StringIO(text)))
    trials = stored(studies, "two-goals").trials
    assert [[float(r["value_0"]), float(r["value_1"])] for r in rows] == [t.values for t in trials]


# --------------------------------------------------------------------------- best


def test_best_yaml_loads_back_as_config_params_and_as_set_overrides(
    cli: Cli, studies: Path
) -> None:
    best = stored(studies, "quickstart").best_trial
    text = ok(cli("best", "--study", "quickstart"))
    assert text.startswith(f"# study 'quickstart', trial {best.number}, value {best.value!r}")
    fragment = yaml.safe_load(text)
    assert fragment == best.params
    # As the params: section of a config, as is.
    config = studies / "best-config.yaml"
    config.write_text(
        "objective: examples.quickstart:train\nparams:\n" + textwrap.indent(text, "  ")
    )
    assert dict(load_config(config).params) == best.params
    # And as --set overrides for `hpsweep run`, which fix those params in the space. (Not on
    # the quickstart: fixing optimizer=adam leaves momentum's condition unreachable, which the
    # space rejects.)
    text = ok(cli("best", "--study", "two-goals", "--format", "yaml"))
    first = next(yaml.safe_load_all(text))
    sets = [f"{k}={yaml.safe_dump(v).splitlines()[0]}" for k, v in first.items()]
    fixed = load_config(studies / "two-goals.yaml", sets=sets).space
    assert {name: fixed[name].value for name in first} == first  # type: ignore[union-attr]
    assert first in [t.params for t in stored(studies, "two-goals").best_trials]


def test_best_top_k_and_other_formats(cli: Cli, studies: Path) -> None:
    study = stored(studies, "quickstart")
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    top = sorted(complete, key=lambda t: (t.value, t.number))[:3]
    documents = list(yaml.safe_load_all(ok(cli("best", "--study", "quickstart", "--top", "3"))))
    assert documents == [t.params for t in top]
    as_json = json.loads(
        ok(cli("best", "--study", "quickstart", "--format", "json", "--top", "3"))
    )
    assert as_json == [{"number": t.number, "value": t.value, "params": t.params} for t in top]
    one = json.loads(ok(cli("best", "--study", "quickstart", "--format", "json")))
    assert one == {"number": top[0].number, "value": top[0].value, "params": top[0].params}
    args = shlex.split(ok(cli("best", "--study", "quickstart", "--format", "args")))
    assert dict(zip(args[::2], args[1::2])) == {
        f"--{k}": repr(v) if isinstance(v, float) else str(v) for k, v in top[0].params.items()
    }
    env_lines = ok(cli("best", "--study", "quickstart", "--format", "env")).splitlines()
    env = dict(shlex.split(line)[0].split("=", 1) for line in env_lines)
    assert (
        env["LR"] == repr(top[0].params["lr"]) and env["OPTIMIZER"] == top[0].params["optimizer"]
    )


def test_best_of_several_objectives_is_the_pareto_front(cli: Cli, studies: Path) -> None:
    study = stored(studies, "two-goals")
    front = json.loads(ok(cli("best", "--study", "two-goals", "--format", "json")))
    expected = sorted(study.best_trials, key=lambda t: t.number)
    if len(expected) == 1:
        front = [front]
    assert [(f["number"], f["values"], f["params"]) for f in front] == [
        (t.number, t.values, t.params) for t in expected
    ]
    env = cli("best", "--study", "two-goals", "--format", "env")
    assert len(expected) > 1  # a front of several trials: env gives one trial only
    assert env.code == 2 and not env.out
    assert env.err.strip() == (
        "hpsweep: error: --format env gives one trial's NAME=value lines, but the Pareto "
        f"front of study 'two-goals' holds {len(expected)} trials; use --format yaml or json"
    )


def test_best_top_of_several_objectives_is_a_one_line_error(cli: Cli) -> None:
    # the Pareto front has no order, so there is no top K of it to print
    output = cli("best", "--study", "two-goals", "--top", "2")
    assert output.code == 2 and not output.out
    assert output.err.strip() == (
        "hpsweep: error: --top needs one objective: study 'two-goals' has 2, and its Pareto "
        "front has no order to take the top from; leave --top out for the front"
    )


def test_best_env_is_one_trial_that_a_shell_sources(
    cli: Cli, studies: Path, tmp_path: Path
) -> None:
    # several blocks would assign the same names, and sourcing them would keep the last
    output = cli("best", "--study", "quickstart", "--format", "env", "--top", "3")
    assert output.code == 2 and not output.out
    assert output.err.strip() == (
        "hpsweep: error: --format env gives one trial's NAME=value lines, not 3; "
        "use --format yaml or json for the top K"
    )
    best = stored(studies, "quickstart").best_trial
    script = tmp_path / "best.env"
    script.write_text(ok(cli("best", "--study", "quickstart", "--format", "env")))
    sourced = subprocess.run(
        ["sh", "-c", '. "$1" && printf "%s %s" "$LR" "$OPTIMIZER"', "sh", str(script)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert sourced.stdout == f"{best.params['lr']!r} {best.params['optimizer']}"


def test_best_without_a_complete_trial_is_a_one_line_error(
    cli: Cli, studies: Path, tmp_path: Path
) -> None:
    store = open_store(str(tmp_path / "empty.journal"))
    optuna.create_study(study_name="empty", storage=store.storage)
    store.close()
    output = cli("best", "--storage", str(tmp_path / "empty.journal"))
    assert output.code == 2 and "has no complete trial yet" in output.err


# --------------------------------------------------------------------------- info, studies


def test_info_tells_everything_about_the_study(cli: Cli, studies: Path) -> None:
    study = stored(studies, "quickstart")
    lines = ok(cli("info", "--study", "quickstart")).splitlines()
    text = "\n".join(lines)
    states = dict.fromkeys(("complete", "pruned"), 0)
    for t in study.trials:
        states[t.state.name.lower()] += 1
    best = study.best_trial
    expected = [
        "study: quickstart",
        "storage: hpsweep.journal",
        "directions: minimize",
        "runs: examples.quickstart:train",
        "sampler: auto",
        "pruner: median (n_startup_trials=5, n_warmup_steps=3)",
        "budgets: n_trials=30",
        "space:",
        "  lr=float(0.0001,1.0,log)",
        "  layers=int(1,6)",
        "  optimizer=choice(adam,sgd)",
        "  momentum=float(0.0,0.99) if optimizer=sgd",
        f"trials: 30 (complete {states['complete']}, pruned {states['pruned']})",
        f"ended: complete {states['complete']}, pruned {states['pruned']}",
        f"best: trial {best.number}, value {best.value!r}",
    ]
    assert lines[: len(expected)] == expected
    assert f"  lr: {best.params['lr']!r}" in lines
    start = min(t.datetime_start for t in study.trials)
    assert f"start: {start.isoformat(sep=' ', timespec='seconds')}" in text
    assert "finish: " in text and "duration: " in text
    multi = ok(cli("info", "--study", "two-goals"))
    assert "directions: minimize, maximize (metrics: loss, speed)" in multi
    assert "pareto front: trial" in multi


def test_studies_lists_every_study_with_counts_and_best(cli: Cli, studies: Path) -> None:
    lines = ok(cli("studies")).splitlines()
    assert lines[0].split() == ["study", "trials", "states", "best"]
    rows = {line.split()[0]: line.split() for line in lines[2:]}
    assert set(rows) == {"quickstart", "two-goals"}
    assert rows["quickstart"][1] == "30"
    assert rows["quickstart"][-1] == repr(stored(studies, "quickstart").best_value)


def test_a_store_with_several_studies_needs_study(cli: Cli) -> None:
    output = cli("info")
    assert output.code == 2
    assert output.err.strip() == (
        "hpsweep: error: hpsweep.journal holds several studies (quickstart, two-goals); "
        "pick one with --study NAME"
    )


# --------------------------------------------------------------------------- report


def test_report_writes_one_html_file(cli: Cli, studies: Path, tmp_path: Path) -> None:
    need("plotly", "report")
    before = (studies / "hpsweep.journal").read_bytes()
    target = tmp_path / "out.html"
    output = cli("report", "--study", "quickstart", "-o", str(target))
    assert output.code == 0, output.err
    assert f"wrote {target}" in output.err
    page = target.read_text()
    assert page.startswith("<!DOCTYPE html>") and 'Study <span id="study-name">quickstart' in page
    assert (studies / "hpsweep.journal").read_bytes() == before
    missing = cli("report", "--study", "quickstart", "-o", str(tmp_path / "no" / "x.html"))
    assert missing.code == 2 and "the directory" in missing.err


def test_report_without_plotly_names_the_extra(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "plotly", None)
    output = cli("report", "--study", "quickstart")
    assert output.code == 1
    assert output.err.strip() == (
        "hpsweep: error: the HTML report needs plotly; install it with: "
        "pip install 'hpsweep[report]'"
    )


# --------------------------------------------------------------------------- space check


def test_space_check_prints_the_space_both_ways(cli: Cli, studies: Path) -> None:
    output = cli("space", "check", "examples/quickstart.yaml")
    assert output.code == 0 and output.err.strip() == "hpsweep: 4 params OK"
    cli_part, yaml_part = output.out.split("\n\n")
    expected = load_config("examples/quickstart.yaml").space
    specs = [shlex.split(line)[1] for line in cli_part.splitlines()[1:]]
    assert SearchSpace.from_cli(specs) == expected
    assert SearchSpace.from_mapping(yaml.safe_load(yaml_part)["space"]) == expected
    only = ok(cli("space", "check", "examples/quickstart.yaml", "--format", "cli"))
    assert only.splitlines() == cli_part.splitlines()[1:]
    as_yaml = yaml.safe_load(
        ok(cli("space", "check", "examples/quickstart.yaml", "--format", "yaml"))
    )
    assert as_yaml == {"space": expected.to_mapping()}
    extra = ok(
        cli("space", "check", "-p", "x=float(0,1)", "-p", "k=choice(a,b)", "--format", "cli")
    )
    assert extra.splitlines() == ["-p 'x=float(0.0,1.0)'", "-p 'k=choice(a,b)'"]


def test_space_check_errors_are_one_line_exit_2(cli: Cli, studies: Path) -> None:
    bad = studies / "bad-space.yaml"
    bad.write_text("space:\n  lr: {type: float, low: 3, high: 1}\n")
    for args in (
        ["space", "check", str(bad)],
        ["space", "check", "missing.yaml"],
        ["space", "check"],
    ):
        output = cli(*args)
        assert output.code == 2, args
        assert output.err.startswith("hpsweep: error: ") and len(output.err.splitlines()) == 1
    assert "low" in cli("space", "check", str(bad)).err


# --------------------------------------------------------------------------- cheap startup


def test_help_imports_no_optuna_rich_or_plotly() -> None:
    heavy = ("optuna", "rich", "plotly", "optuna_dashboard")
    for args in (
        ["--help"],
        ["report", "--help"],
        ["dashboard", "--help"],
        ["space", "check", "-h"],
    ):
        code = (
            "import sys\n"
            "from hpsweep.cli import main\n"
            "try:\n"
            f"    main({args!r})\n"
            "except SystemExit:\n"
            "    pass\n"
            f"print(sorted(m for m in sys.modules if m.split('.')[0] in {heavy!r}))\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip().splitlines()[-1] == "[]", (args, done.stdout[-300:])


# --------------------------------------------------------------------------- dashboard, optuna CLI


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def fetch(url: str) -> object:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def test_dashboard_serves_the_store(studies: Path) -> None:
    need("optuna_dashboard", "dashboard")
    before = (studies / "hpsweep.journal").read_bytes()
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "hpsweep", "dashboard", "--port", str(port)],
        cwd=studies,
        env=clean_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        listing: object = None
        while listing is None:
            assert server.poll() is None, server.stderr.read() if server.stderr else ""
            try:
                listing = fetch(f"http://127.0.0.1:{port}/api/studies")
            except OSError:
                assert time.monotonic() < deadline, "the dashboard did not start"
                time.sleep(0.2)
        summaries = {s["study_name"]: s for s in listing["study_summaries"]}  # type: ignore[index]
        assert set(summaries) == {"quickstart", "two-goals"}
        detail = fetch(
            f"http://127.0.0.1:{port}/api/studies/{summaries['quickstart']['study_id']}"
        )
        trials = detail["trials"]  # type: ignore[index]
        assert len(trials) == 30
        whys = {a["value"] for t in trials for a in t["user_attrs"] if a["key"] == "why"}
        assert whys == {"complete", "pruned"}
    finally:
        stop(server, timeout=10)
        if server.stderr is not None:
            server.stderr.close()
    assert (studies / "hpsweep.journal").read_bytes() == before


def test_dashboard_hints_and_errors(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    need("optuna_dashboard", "dashboard")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        output = cli("dashboard", "--port", str(port))
    assert output.code == 1 and f"cannot serve on 127.0.0.1:{port}" in output.err
    assert cli("dashboard", "--storage", "nowhere.journal").code == 2
    monkeypatch.setitem(sys.modules, "optuna_dashboard", None)
    output = cli("dashboard")
    assert output.code == 1
    assert output.err.strip().endswith("pip install 'hpsweep[dashboard]'")


def test_the_optuna_cli_reads_the_store(studies: Path) -> None:
    done = subprocess.run(
        [
            str(BIN / "optuna"),
            "trials",
            "--storage",
            "hpsweep.journal",
            "--study-name",
            "quickstart",
            "--format",
            "json",
        ],
        cwd=studies,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    listed = json.loads(done.stdout)
    trials = stored(studies, "quickstart").trials
    assert [(t["number"], t["value"], t["params"]) for t in listed] == [
        (t.number, t.value, t.params) for t in trials
    ]
    assert all(t["user_attrs"]["why"] in ("complete", "pruned") for t in listed)


def test_the_listing_benchmark_runs(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "listing.py"), "-n", "200", "--repeat", "1"]
        + ["--budget", "30", "--dir", str(tmp_path), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["n_trials"] == 200 and result["csv_s"] > 0 and result["json_s"] > 0
    listed = json.loads(hpsweep(tmp_path, "trials", "--format", "json").stdout)
    assert len(listed) == 200
    assert {t["user_attrs"]["why"] for t in listed} == {"complete", "pruned", "failed"}


# --------------------------------------------------------------------------- docs


def doc_blocks() -> list[tuple[str, str]]:
    text = (ROOT / "docs" / "inspection.md").read_text()
    return re.findall(r"<!-- doc-test: ([\w-]+) -->\s*```bash\n(.+?)\n```", text, re.S)


@pytest.mark.slow
def test_the_inspection_docs_run_as_written(tmp_path: Path) -> None:
    need("plotly", "report")
    blocks = doc_blocks()
    assert [name for name, _ in blocks] == [
        "run",
        "info",
        "trials",
        "best",
        "best-in-python",
        "report",
        "optuna",
        "space",
    ]
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    env = clean_env()
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"  # hpsweep, optuna, python
    for name, script in blocks:
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, (name, done.stderr[-2000:])
        assert (done.stdout + done.stderr).strip(), name
    assert (tmp_path / "run.log").read_text().count("\n[") == 30  # a line per trial
    assert json.loads((tmp_path / "optuna-trials.json").read_text())[0]["number"] == 0
    assert (tmp_path / "report.html").stat().st_size > 1_000_000
    assert len(list(csv.DictReader(io.StringIO((tmp_path / "trials.csv").read_text())))) == 32
