"""Command trials through `hpsweep run -- CMD`, end to end with real processes."""

from __future__ import annotations

import json
import sys
import textwrap
import time
from pathlib import Path

import pytest

from support import hpsweep
from support import stored_trials as trials

TRAINER = textwrap.dedent("""
    import argparse, sys
    import hpsweep

    parser = argparse.ArgumentParser()
    parser.add_argument("--lr", type=float)
    parser.add_argument("--out")
    args = parser.parse_args()
    p = hpsweep.params()
    assert abs(p["lr"] - args.lr) < 1e-12, (p, args.lr)
    loss = 1.0
    for epoch in range(p["epochs"]):
        loss = loss * (0.5 + args.lr)
        hpsweep.report(loss, step=epoch)
        if hpsweep.should_prune():
            sys.exit(0)
    open(args.out, "w").write(str(loss))
    hpsweep.report_final({"loss": loss, "acc": 1 - loss})
    """)

# Reports its first argument at steps 0-9 and as its result. Given 2 or more, it pauses for 30 s
# after step 2, where the test's pruner prunes it: only hpsweep's signal ends it in time.
MARKERS = textwrap.dedent("""\
    #!/bin/sh
    for step in 0 1 2 3 4 5 6 7 8 9; do
      echo "hpsweep: {\\"step\\": $step, \\"value\\": $1}"
      if [ "$step" -eq 2 ] && [ "$1" -ge 2 ]; then sleep 30; else sleep 0.02; fi
    done
    echo "hpsweep: {\\"result\\": $1}"
    """)

SPEECHBRAIN = textwrap.dedent("""
    import json, sys
    print("epoch 1 done")
    json.dump({"loss": 0.5, "error": float(sys.argv[1]), "objective": float(sys.argv[1])},
              sys.stdout)
    """)

ORION = textwrap.dedent("""
    import json, os, sys
    with open(os.environ["ORION_RESULTS_PATH"], "w") as f:
        json.dump([{"name": "objective", "type": "objective", "value": float(sys.argv[1])}], f)
    """)


def test_python_trainer_with_the_client(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text(TRAINER)
    result = hpsweep(
        tmp_path,
        "run",
        "-n",
        "6",
        "-p",
        "lr=float(0.01,0.4)",
        "--set",
        "params.epochs=4",
        "--metric",
        "loss",
        "--pruner",
        "none",
        "--",
        sys.executable,
        "train.py",
        "--lr",
        "{lr}",
        "--out={trial.dir}/final.txt",
    )
    assert "6 complete" in result.stderr
    stored = trials(tmp_path)
    for trial in stored:
        directory = tmp_path / "hpsweep-runs" / "default" / f"trial-{trial.number}"
        assert float((directory / "final.txt").read_text()) == pytest.approx(trial.value)
        assert json.loads((directory / "params.json").read_text())["lr"] == trial.params["lr"]
        assert (directory / "stdout.log").exists() and (directory / "stderr.log").exists()
        assert sorted(trial.intermediate_values) == [0, 1, 2, 3]


def test_trainer_is_pruned_through_the_channel(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text(TRAINER)
    hpsweep(
        tmp_path,
        "run",
        "-n",
        "12",
        "-p",
        "lr=float(0.0,0.5)",
        "--set",
        "params.epochs=8",
        "--metric",
        "loss",
        "--seed",
        "3",
        "--set",
        "pruner={name: median, kwargs: {n_startup_trials: 3, n_warmup_steps: 1}}",
        "--",
        sys.executable,
        "train.py",
        "--lr",
        "{lr}",
        "--out",
        "/dev/null",
    )
    stored = trials(tmp_path)
    pruned = [t for t in stored if t.state.name == "PRUNED"]
    assert pruned, [t.state for t in stored]
    assert all(len(t.intermediate_values) < 8 for t in pruned)
    assert all(t.user_attrs["why"] == "pruned" for t in pruned)


def test_bash_marker_lines_report_and_are_pruned_by_signal(tmp_path: Path) -> None:
    script = tmp_path / "train.sh"
    script.write_text(MARKERS)
    script.chmod(0o755)
    # Each trial reports its number: trials 0 and 1 complete (the pruner's startup), and every
    # later one is worse than their median at step 2, the first step past the warm-up.
    hpsweep(
        tmp_path,
        "run",
        "-n",
        "5",
        "-p",
        "x=float(0,1)",
        "--set",
        "pruner={name: median, kwargs: {n_startup_trials: 2, n_warmup_steps: 2}}",
        "--",
        "./train.sh",
        "{trial.number}",
    )
    stored = trials(tmp_path)
    assert [t.state.name for t in stored] == ["COMPLETE"] * 2 + ["PRUNED"] * 3
    for trial in stored[:2]:
        assert trial.value == trial.number
        assert trial.intermediate_values == dict.fromkeys(range(10), trial.number)
    for trial in stored[2:]:
        assert trial.user_attrs["why"] == "pruned"
        # stopped in its pause after step 2 (it cannot hear the decision), its reports kept
        assert trial.user_attrs["notes"] == ["stopped with SIGTERM"]
        assert trial.intermediate_values == dict.fromkeys(range(3), trial.number)


def test_speechbrain_and_orion_style_results(tmp_path: Path) -> None:
    (tmp_path / "sb.py").write_text(SPEECHBRAIN)
    (tmp_path / "orion.py").write_text(ORION)
    hpsweep(
        tmp_path,
        "run",
        "--study",
        "sb",
        "-n",
        "3",
        "-p",
        "e=float(0,1)",
        "--",
        sys.executable,
        "sb.py",
        "{e}",
    )
    assert [t.value for t in trials(tmp_path, "sb")] == [
        t.params["e"] for t in trials(tmp_path, "sb")
    ]
    hpsweep(
        tmp_path,
        "run",
        "--study",
        "orion",
        "-n",
        "3",
        "-p",
        "e=float(0,1)",
        "--",
        sys.executable,
        "orion.py",
        "{e}",
    )
    assert all(t.value == t.params["e"] for t in trials(tmp_path, "orion"))


def test_failures_are_recorded_with_their_reason(tmp_path: Path) -> None:
    (tmp_path / "crash.py").write_text(
        "import sys\nprint('bad things', file=sys.stderr)\nsys.exit(3)\n"
    )
    (tmp_path / "silent.py").write_text("print('no result here')\n")
    (tmp_path / "garbage.py").write_text(
        "import sys\nsys.stdout.buffer.write(b'hpsweep: {not json\\n\\xff\\xfe\\n')\n"
        "print('hpsweep: {\"result\": 2.5}')\n"
    )
    hpsweep(
        tmp_path,
        "run",
        "--study",
        "crash",
        "-n",
        "2",
        "-p",
        "x=float(0,1)",
        "--",
        sys.executable,
        "crash.py",
        check=False,
    )
    errors = [t.user_attrs["error"] for t in trials(tmp_path, "crash")]
    assert all(e.startswith("exit code 3; stderr: bad things") for e in errors), errors
    hpsweep(
        tmp_path,
        "run",
        "--study",
        "silent",
        "-n",
        "1",
        "-p",
        "x=float(0,1)",
        "--",
        sys.executable,
        "silent.py",
        check=False,
    )
    error = trials(tmp_path, "silent")[0].user_attrs["error"]
    assert error.startswith("exited 0 but reported no result; see ")
    assert error.endswith("stdout.log")
    hpsweep(
        tmp_path,
        "run",
        "--study",
        "garbage",
        "-n",
        "1",
        "-p",
        "x=float(0,1)",
        "--",
        sys.executable,
        "garbage.py",
    )
    trial = trials(tmp_path, "garbage")[0]
    assert trial.value == 2.5 and "malformed" in trial.user_attrs["notes"][0]


def test_hanging_trial_is_killed_by_the_trial_timeout_with_its_children(tmp_path: Path) -> None:
    (tmp_path / "hang.sh").write_text(
        "#!/bin/sh\nsleep 300 &\necho $! > child.pid\n"
        "trap '' TERM\nwhile true; do sleep 0.1; done\n"
    )
    (tmp_path / "hang.sh").chmod(0o755)
    started = time.monotonic()
    hpsweep(
        tmp_path,
        "run",
        "-n",
        "1",
        "-p",
        "x=float(0,1)",
        "--trial-timeout",
        "1",
        "--grace",
        "1",
        "--trial-cwd",
        "trial",
        "--",
        str(tmp_path / "hang.sh"),
    )
    assert time.monotonic() - started < 30
    trial = trials(tmp_path)[0]
    assert trial.state.name == "FAIL" and trial.user_attrs["why"] == "timeout"
    child = int((tmp_path / "hpsweep-runs/default/trial-0/child.pid").read_text())
    time.sleep(0.2)
    assert not Path(f"/proc/{child}").exists() or Path(f"/proc/{child}/stat").read_text().split(
        ") "
    )[1].startswith("Z")


def test_retries_reuse_the_trial_dir(tmp_path: Path) -> None:
    (tmp_path / "flaky.py").write_text(
        textwrap.dedent("""
        import os, sys
        marker = os.path.join(os.environ["HPSWEEP_TRIAL_DIR"], "checkpoint")
        if not os.path.exists(marker):
            open(marker, "w").close()
            sys.exit(1)
        print('hpsweep: {"result": 1.0}')
        """)
    )
    hpsweep(
        tmp_path,
        "run",
        "-n",
        "2",
        "-p",
        "x=float(0,1)",
        "--retries",
        "1",
        "--",
        sys.executable,
        "flaky.py",
    )
    stored = trials(tmp_path)
    assert [t.state.name for t in stored] == ["FAIL", "COMPLETE", "FAIL", "COMPLETE"]
    assert sorted(p.name for p in (tmp_path / "hpsweep-runs/default").iterdir()) == [
        "trial-0",
        "trial-2",
    ]
    assert stored[1].user_attrs["retry_of"] == 0 and stored[1].params == stored[0].params


def test_retries_rerun_a_trial_that_timed_out(tmp_path: Path) -> None:
    # the first attempt in a trial directory hangs; the retry finds its marker and completes
    (tmp_path / "stuck_once.sh").write_text(
        '#!/bin/sh\nif [ ! -e "$HPSWEEP_TRIAL_DIR/tried" ]; then\n'
        '  touch "$HPSWEEP_TRIAL_DIR/tried"; sleep 300\nfi\n'
        "echo 'hpsweep: {\"result\": 1.0}'\n"
    )
    (tmp_path / "stuck_once.sh").chmod(0o755)
    result = hpsweep(
        tmp_path,
        "run",
        "-n",
        "2",
        "-j",
        "2",
        "-p",
        "x=float(0,1)",
        "--trial-timeout",
        "1",
        "--retries",
        "1",
        "--",
        str(tmp_path / "stuck_once.sh"),
    )
    assert "the study total of 2 trials is reached" in result.stderr
    stored = trials(tmp_path)
    first = {t.number: t for t in stored if "retry_of" not in t.user_attrs}
    retries = {t.user_attrs["retry_of"]: t for t in stored if "retry_of" in t.user_attrs}
    assert sorted(first) == sorted(retries) == [0, 1]
    for number, trial in first.items():
        assert trial.state.name == "FAIL" and trial.user_attrs["why"] == "timeout"
        assert trial.system_attrs["hpsweep:superseded"]
        retry = retries[number]
        assert retry.state.name == "COMPLETE" and retry.value == 1.0
        assert retry.params == trial.params
    assert sorted(p.name for p in (tmp_path / "hpsweep-runs/default").iterdir()) == [
        "trial-0",
        "trial-1",
    ]
    assert len([t for t in stored if not t.system_attrs.get("hpsweep:superseded")]) == 2


def test_unknown_placeholder_is_an_error_before_any_trial(tmp_path: Path) -> None:
    result = hpsweep(
        tmp_path, "run", "-n", "2", "-p", "lr=float(0,1)", "--", "echo", "{lrr}", check=False
    )
    assert result.returncode == 2
    assert result.stderr.startswith("hpsweep: error: ") and "lrr" in result.stderr
    assert "did you mean" in result.stderr and not (tmp_path / "hpsweep-runs").exists()


def test_command_from_yaml_and_parallel_jobs(tmp_path: Path) -> None:
    (tmp_path / "sweep.yaml").write_text(
        textwrap.dedent(f"""
        n_trials: 6
        jobs: 2
        command: [{sys.executable}, -c, "import time; time.sleep(0.3); print('hpsweep: ' +
          '{{{{\\"result\\": {{x}}}}}}')"]
        space:
          x: {{type: float, low: 0, high: 1}}
        """)
    )
    started = time.monotonic()
    hpsweep(tmp_path, "run", "sweep.yaml")
    elapsed = time.monotonic() - started
    stored = trials(tmp_path, "sweep")
    assert len(stored) == 6 and all(t.value == t.params["x"] for t in stored)
    assert elapsed < 6 * 0.3 + 1.5  # two at a time


def test_dotted_and_nested_params_fill_placeholders(tmp_path: Path) -> None:
    # `optim.lr` reaches the trial nested ({"optim": {"lr": ...}}), as `model.depth` does
    (tmp_path / "sweep.yaml").write_text(
        textwrap.dedent(r"""
        n_trials: 3
        command:
          - sh
          - -c
          - 'echo {model.depth} > {trial.dir}/depth; echo "{{\"objective\": {optim.lr}}}"'
        space:
          optim.lr: {type: float, low: 0.1, high: 0.2}
        params:
          model: {depth: 3}
        """)
    )
    hpsweep(tmp_path, "run", "sweep.yaml")
    stored = trials(tmp_path, "sweep")
    assert [t.state.name for t in stored] == ["COMPLETE"] * 3, [t.user_attrs for t in stored]
    assert all(t.value == t.params["optim.lr"] for t in stored)
    for trial in stored:
        directory = tmp_path / "hpsweep-runs" / "sweep" / f"trial-{trial.number}"
        assert (directory / "depth").read_text() == "3\n"
