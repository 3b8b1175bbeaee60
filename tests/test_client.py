"""The trial-side client as a trial sees it: the same calls in a thread, in a process, or
outside any study."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import hpsweep
from hpsweep._progress import PlainProgress
from support import clean_env


def test_an_in_process_trial_gets_its_directory_when_it_asks(workdir: Path) -> None:
    def objective(params: dict[str, Any]) -> float:
        if params["x"] > 0.5:
            directory = hpsweep.trial_dir()
            assert directory is not None
            (directory / "model.txt").write_text(str(params["x"]))
        return float(params["x"])

    result = hpsweep.run(
        objective,
        space={"x": hpsweep.Float(0, 1)},
        n_trials=8,
        seed=3,
        sampler="random",
        progress=PlainProgress(quiet=True),
    )
    runs = workdir / "hpsweep-runs" / "default"
    asked = {t.number for t in result.trials if t.params["x"] > 0.5}
    assert asked and len(asked) < 8
    made = {int(p.name.removeprefix("trial-")) for p in runs.iterdir()} if runs.exists() else set()
    assert made == asked  # the trials that never asked left no empty folder
    for number in asked:
        text = (runs / f"trial-{number}" / "model.txt").read_text()
        assert float(text) == result.trials[number].params["x"]


def test_a_thread_the_trial_starts_reports_for_it(workdir: Path) -> None:
    def objective(params: dict[str, Any]) -> float:
        def log() -> None:  # e.g. a logging thread of a training loop
            for step in range(3):
                hpsweep.report(params["x"] + step, step=step)

        worker = threading.Thread(target=log)
        worker.start()
        worker.join()
        return float(params["x"])

    result = hpsweep.run(
        objective,
        space={"x": hpsweep.Float(0, 1)},
        n_trials=2,
        pruner="none",
        progress=PlainProgress(quiet=True),
    )
    for trial in result.trials:
        assert trial.intermediate == {s: trial.params["x"] + s for s in range(3)}


def test_outside_a_study_every_call_is_a_no_op_with_one_hint(tmp_path: Path) -> None:
    script = (
        "import hpsweep\n"
        "assert not hpsweep.client.in_trial()\n"
        "assert hpsweep.params() == {} and hpsweep.trial_dir() is None\n"
        "hpsweep.report(1.0)\n"
        "hpsweep.report(2.0, step=5)\n"
        "assert hpsweep.should_prune() is False\n"
        "hpsweep.report_final(3.0)\n"
        "print('done')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "done\n"
    assert result.stderr.splitlines() == [
        "hpsweep: not running under hpsweep, so report()/should_prune() do nothing (start this "
        "script with `hpsweep run -- ...`)"
    ]
