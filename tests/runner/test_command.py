"""CommandExecutor and PythonProcessExecutor end to end, with real processes."""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hpsweep._errors import ConfigError
from hpsweep.runner import CommandExecutor
from hpsweep.runner import Ended
from hpsweep.runner import PythonProcessExecutor
from hpsweep.runner import Reported
from hpsweep.runner import TrialSpec
from hpsweep.runner._command import last_json_object
from hpsweep.runner._template import params_hash
from hpsweep.testing import drive

from .helpers import PYTHON
from .helpers import SCRIPTS
from .helpers import child_env

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc")


class Runner:
    """Makes executors for one test and closes them after it."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.executors: list[CommandExecutor] = []

    def executor(self, command: list[str], **options: Any) -> CommandExecutor:
        options.setdefault("base_env", child_env())
        executor = CommandExecutor(command, **options)
        self.executors.append(executor)
        return executor

    def spec(self, number: int = 0, **params: Any) -> TrialSpec:
        return TrialSpec(number, 100 + number, "e2e", params, self.directory / f"trial-{number}")

    def run(
        self, command: list[str], params: dict[str, Any] | None = None, **options: Any
    ) -> tuple[list[Reported], Ended, Path]:
        """One trial of ``command`` with ``params`` to its end, never pruned."""
        executor = self.executor(command, **options)
        spec = self.spec(**(params or {}))
        executor.start(spec)
        reports, ended = drive(executor, [0], timeout=20)[0]
        assert spec.trial_dir is not None
        return reports, ended, spec.trial_dir


@pytest.fixture
def runner(tmp_path: Path) -> Iterator[Runner]:
    made = Runner(tmp_path)
    yield made
    for executor in made.executors:
        executor.close()


def until(condition: Any, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def alive(pid: int) -> bool:
    """Running (a zombie, or gone, counts as dead: the container's init may not reap)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def group_alive(group: int) -> bool:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == group and fields[0] != "Z":
                return True
    return False


# ----------------------------------------------------------------------- ways to report


def test_python_trainer_reports_and_is_pruned(runner: Runner) -> None:
    command = [PYTHON, str(SCRIPTS / "trainer.py"), "--lr", "{lr}", "--out={trial.dir}/model.pt"]
    executor = runner.executor(command, param_names=["lr"])
    executor.start(runner.spec(0, lr=0.5))
    pruned = drive(executor, [0], prune_from=1)[0]
    executor.start(runner.spec(1, lr=1e-5))
    complete = drive(executor, [1])[1]
    assert [(r.step, r.value, r.cooperative) for r in pruned[0]] == [
        (0, 0.5, True),
        (1, 0.25, True),
    ]
    assert pruned[1].pruned and pruned[1].error is None and pruned[1].result is None
    assert not (runner.directory / "trial-0" / "model.pt").exists()
    reports, ended = complete
    assert [r.step for r in reports] == [0, 1, 2, 3, 4]
    assert ended.error is None and not ended.pruned
    assert ended.result == {"objective": pytest.approx((1 - 1e-5) ** 5), "epochs": 5}
    assert (runner.directory / "trial-1" / "model.pt").read_text() == "lr=1e-05\n"


def test_shell_marker_lines(runner: Runner) -> None:
    reports, ended, _ = runner.run(["sh", str(SCRIPTS / "markers.sh"), "3", "0"])
    assert [(r.step, r.value, r.cooperative) for r in reports] == [
        (0, 0.0, False),
        (1, 0.1, False),
        (2, 0.2, False),
    ]
    assert (ended.result, ended.error) == (0.25, None)


def test_marker_trial_is_stopped_when_pruned(runner: Runner) -> None:
    executor = runner.executor(["sh", str(SCRIPTS / "markers.sh"), "100", "0.05"])
    executor.start(runner.spec())
    reports, ended = drive(executor, [0], prune_from=1, grace=1.0)[0]
    assert ended.stopped and ended.error is None
    assert ended.notes == ("stopped with SIGTERM",)
    assert 2 <= len(reports) < 10


def test_speechbrain_json_without_newline(runner: Runner) -> None:
    _, ended, trial_dir = runner.run([PYTHON, str(SCRIPTS / "speechbrain.py")])
    assert ended.result == {"error": 0.125, "objective": 0.125}
    assert (trial_dir / "stdout.log").read_text().endswith('{"error": 0.125, "objective": 0.125}')


def test_speechbrain_json_with_metric_skips_other_objects(runner: Runner) -> None:
    command = [PYTHON, str(SCRIPTS / "speechbrain.py"), "more"]
    _, ended, _ = runner.run(command, metric="error")
    assert ended.result == {"error": 0.125, "objective": 0.125}
    _, ended, _ = runner.run(command)
    assert ended.result == {"unrelated": 1}


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('{"a": 1}', {"a": 1}),
        ('fit: {"a": {"b": [1, 2]}}', {"a": {"b": [1, 2]}}),
        ('{"a": 1} then {"b": 2}', {"b": 2}),
        ("{'python': 'repr'}", None),
        ('{"a": 1} trailing', None),
        ('[{"a": 1}]', None),
        ("{" * 200 + '{"a": 1}', None),  # bounded work: gives up
    ],
)
def test_last_json_object(line: str, expected: object) -> None:
    assert last_json_object(line) == expected


def test_orion_results_file(runner: Runner) -> None:
    _, ended, trial_dir = runner.run([PYTHON, str(SCRIPTS / "orion.py")])
    assert (ended.result, ended.error) == (0.3, None)
    assert (trial_dir / "orion-results.json").exists()


def test_invalid_orion_results_file_is_noted(runner: Runner) -> None:
    _, ended, _ = runner.run([PYTHON, str(SCRIPTS / "orion.py"), "[{{bad"])
    assert ended.error is not None and ended.error.startswith("exited 0 but reported no result")
    assert ended.notes == ("ignored orion-results.json: not valid JSON",)


def test_result_priority(runner: Runner) -> None:
    # channel final > marker result > Oríon file > printed JSON
    script = (
        "import json, os, sys; from hpsweep import client\n"
        "open(os.environ['ORION_RESULTS_PATH'], 'w').write("
        '\'[{{"name": "o", "type": "objective", "value": 3}}]\')\n'
        "print(json.dumps({{'objective': 4}}))\n"
        "if int(sys.argv[1]) >= 2: print('hpsweep: ' + json.dumps({{'result': 2}}))\n"
        "if int(sys.argv[1]) >= 1: client.report_final(1)\n"
    )
    results = [runner.run([PYTHON, "-c", script, str(level)])[1].result for level in range(3)]
    assert results == [3.0, 1, 1]
    _, ended, _ = runner.run(
        ["sh", "-c", "echo '{{\"objective\": 4}}'; echo 'hpsweep: {{\"result\": 2}}'"]
    )
    assert ended.result == 2


# ------------------------------------------------------------------------ stopping


def test_stop_terminates_a_hanging_trial(runner: Runner) -> None:
    executor = runner.executor(["sleep", "300"])
    executor.start(runner.spec())
    assert executor.poll(0.2) == []
    started = time.monotonic()
    executor.stop(0, grace=5.0)
    (_, ended) = drive(executor, [0])[0]
    assert time.monotonic() - started < 1.0
    assert ended.stopped and ended.error is None and ended.notes == ("stopped with SIGTERM",)


def test_stop_kills_a_trial_that_ignores_sigterm(runner: Runner) -> None:
    command = [
        "sh",
        "-c",
        "trap '' TERM; touch $HPSWEEP_TRIAL_DIR/ready; while :; do sleep 1; done",
    ]
    executor = runner.executor(command)
    executor.start(runner.spec())
    assert until((runner.directory / "trial-0" / "ready").exists)
    started = time.monotonic()
    executor.stop(0, grace=0.5)
    (_, ended) = drive(executor, [0])[0]
    assert 0.5 <= time.monotonic() - started < 1.5
    assert ended.stopped and ended.notes == ("did not stop within 0.5 s of SIGTERM; killed",)


@pytest.mark.parametrize("mode", ["exit", "wait"])
def test_children_of_a_trial_die_with_it(runner: Runner, mode: str) -> None:
    executor = runner.executor(["sh", str(SCRIPTS / "spawner.sh"), mode])
    executor.start(runner.spec())
    pid_file = runner.directory / "trial-0" / "child.pid"
    assert until(lambda: pid_file.exists() and len(pid_file.read_text().split()) == 2)
    if mode == "wait":
        assert executor.poll(0.2) == []
        executor.stop(0, grace=2.0)
    started = time.monotonic()
    (_, ended) = drive(executor, [0])[0]
    # the children hold the trial's stdout open: the end must not wait for them
    assert time.monotonic() - started < 1.0
    assert ended.result == 1
    children = [int(pid) for pid in pid_file.read_text().split()]
    assert until(lambda: not any(alive(pid) for pid in children), timeout=2.0), children


def test_close_ends_every_trial_and_its_children(runner: Runner) -> None:
    executor = runner.executor(["sh", str(SCRIPTS / "spawner.sh"), "wait"], jobs=3)
    for number in range(3):
        executor.start(runner.spec(number))
    pid_files = [runner.directory / f"trial-{n}" / "child.pid" for n in range(3)]
    assert until(lambda: all(f.exists() and len(f.read_text().split()) == 2 for f in pid_files))
    started = time.monotonic()
    executor.close()
    assert time.monotonic() - started < 2.5
    children = [int(pid) for f in pid_files for pid in f.read_text().split()]
    assert until(lambda: not any(alive(pid) for pid in children), timeout=2.0)
    assert executor.poll(0.0) == []


def test_orphaned_trials_die_with_their_controller(tmp_path: Path) -> None:
    controller = subprocess.Popen(
        [PYTHON, str(SCRIPTS / "controller.py"), str(tmp_path / "trial")],
        stdout=subprocess.PIPE,
        env=child_env(),
    )
    with controller:
        try:
            assert controller.stdout is not None
            assert controller.stdout.readline() == b"started\n"
            pid_file = tmp_path / "trial" / "pid"
            assert until(lambda: pid_file.exists() and pid_file.read_text().strip() != "")
            group = int(pid_file.read_text())
            assert group_alive(group)
        finally:
            controller.kill()
    assert until(lambda: not group_alive(group), timeout=5.0), "the trial outlived its controller"


# -------------------------------------------------------------------------- failures


def test_nonzero_exit_records_the_end_of_stderr(runner: Runner) -> None:
    _, ended, _ = runner.run([PYTHON, str(SCRIPTS / "crash.py"), "exit"])
    assert ended.error == "exit code 3; stderr: second line | third line | the last line"


def test_segfault_is_named(runner: Runner) -> None:
    _, ended, _ = runner.run([PYTHON, str(SCRIPTS / "crash.py"), "segv"])
    assert (
        ended.error == "killed by signal SIGSEGV; stderr: second line | third line | the last line"
    )


def test_stderr_tail_is_trimmed(runner: Runner) -> None:
    _, ended, _ = runner.run(["sh", "-c", "printf '%0500d\\n' 7 >&2; exit 1"])
    assert ended.error is not None
    assert ended.error.startswith("exit code 1; stderr: ...") and ended.error.endswith("07")
    assert len(ended.error) < 330


def test_exit_zero_without_result(runner: Runner) -> None:
    _, ended, trial_dir = runner.run(["true"])
    assert ended.error == f"exited 0 but reported no result; see {trial_dir / 'stdout.log'}"


def test_command_that_cannot_start(runner: Runner) -> None:
    _, ended, _ = runner.run(["/no/such/program", "{x}"], {"x": 1})
    assert ended.error == "cannot start '/no/such/program': No such file or directory"


def test_garbage_and_invalid_utf8_are_survived(runner: Runner) -> None:
    reports, ended, trial_dir = runner.run([PYTHON, str(SCRIPTS / "garbage.py")])
    assert [(r.step, r.value) for r in reports] == [(0, 0.5)]
    assert ended.result == 0.75 and ended.error is None
    assert ended.notes == (
        "3 malformed report lines ignored, first: marker line is not JSON: '{not json'",
    )
    assert (trial_dir / "stdout.log").read_bytes().startswith(b"\xff\xfe\x00garbage \x80\x81")


def test_huge_line_is_logged_not_parsed(runner: Runner) -> None:
    reports, ended, trial_dir = runner.run([PYTHON, str(SCRIPTS / "garbage.py"), "3"])
    assert ended.result == 0.75 and len(reports) == 1
    assert "1 line(s) over 1 MiB not parsed" in ended.notes
    assert (trial_dir / "stdout.log").stat().st_size > 3 << 20


def test_malformed_channel_lines_are_noted(runner: Runner) -> None:
    script = (
        "import os, socket\n"
        "s = socket.socket(fileno=int(os.environ['HPSWEEP_CHANNEL_FD']))\n"
        's.sendall(b\'nonsense\\n{{"v": 1, "op": "dance"}}\\n{{"v": 2, "op": "final"}}\\n\''
        ' b\'{{"v": 1, "op": "report", "value": 2}}\\n{{"v": 1, "op": "final", "result": 7}}\')\n'
    )
    reports, ended, _ = runner.run([PYTHON, "-c", script])
    assert [(r.step, r.value) for r in reports] == [(0, 2.0)]  # steps numbered when left out
    assert ended.result == 7  # the last line needs no newline
    assert ended.notes == ("3 malformed report lines ignored, first: not JSON: 'nonsense'",)


# ---------------------------------------------------------- environment and directories


def test_environment_params_and_logs(runner: Runner, tmp_path: Path) -> None:
    executor = runner.executor(
        [PYTHON, str(SCRIPTS / "envdump.py")], base_env=child_env(USER_SETTING="kept")
    )
    spec = TrialSpec(
        3,
        42,
        "study-x",
        {"lr": 0.1, "optim.name": "adam"},
        tmp_path / "deep" / "trial-3",
        env={"CUDA_VISIBLE_DEVICES": "1"},
    )
    executor.start(spec)
    _, ended = drive(executor, [3])[3]
    assert isinstance(ended.result, dict)
    env = ended.result["env"]
    trial_dir = str(tmp_path / "deep" / "trial-3")
    assert env.pop("HPSWEEP_CHANNEL_FD").isdigit()
    assert env == {
        "HPSWEEP_TRIAL_ID": "42",
        "HPSWEEP_TRIAL_NUMBER": "3",
        "HPSWEEP_TRIAL_DIR": trial_dir,
        "HPSWEEP_STUDY": "study-x",
        "HPSWEEP_PARAMS": '{"lr": 0.1, "optim.name": "adam"}',
        "HPSWEEP_PROTOCOL": "1",
        "ORION_RESULTS_PATH": trial_dir + "/orion-results.json",
        "ORION_EXPERIMENT_ID": "study-x",
        "ORION_EXPERIMENT_NAME": "study-x",
        "ORION_EXPERIMENT_VERSION": "1",
        "ORION_INTERRUPT_CODE": "130",
        "ORION_TRIAL_ID": "42",
        "ORION_WORKING_DIR": trial_dir,
        "CUDA_VISIBLE_DEVICES": "1",
        "USER_SETTING": "kept",
    }
    assert ended.result["cwd"] == os.getcwd()
    assert json.loads(Path(trial_dir, "params.json").read_text()) == {
        "lr": 0.1,
        "optim.name": "adam",
    }
    assert sorted(os.listdir(trial_dir)) == ["params.json", "stderr.log", "stdout.log"]


def test_cwd_mode_trial(runner: Runner) -> None:
    _, ended, trial_dir = runner.run([PYTHON, str(SCRIPTS / "envdump.py")], cwd_mode="trial")
    assert isinstance(ended.result, dict) and ended.result["cwd"] == str(trial_dir)


def test_retry_appends_to_the_logs(runner: Runner) -> None:
    command = [
        "sh",
        "-c",
        "echo out {trial.number}; echo err >&2; echo 'hpsweep: {{\"result\": 1}}'",
    ]
    executor = runner.executor(command)
    trial_dir = runner.directory / "trial-0"
    for number, attempt in ((0, 0), (5, 1)):
        executor.start(TrialSpec(number, number, "e2e", {}, trial_dir, attempt=attempt))
        assert drive(executor, [number])[number][1].result == 1
    assert (trial_dir / "stdout.log").read_text() == (
        'out 0\nhpsweep: {"result": 1}\n'
        "----- hpsweep: trial 5, attempt 2 -----\n"
        'out 5\nhpsweep: {"result": 1}\n'
    )
    assert (trial_dir / "stderr.log").read_text() == (
        "err\n----- hpsweep: trial 5, attempt 2 -----\nerr\n"
    )


def test_params_hash_names_equal_params_alike(runner: Runner) -> None:
    executor = runner.executor(
        ["sh", "-c", 'echo \'hpsweep: {{"result": "{trial.params_hash}"}}\'']
    )
    hashes = []
    for number, params in enumerate(({"lr": 0.1}, {"lr": 0.2}, {"lr": 0.1})):
        trial_dir = runner.directory / f"trial-{number}"
        executor.start(TrialSpec(number, number, "e2e", params, trial_dir))
        hashes.append(drive(executor, [number])[number][1].result)
    assert hashes[0] == hashes[2] != hashes[1]
    assert hashes[0] == params_hash({"lr": 0.1})


def test_retry_does_not_see_the_previous_orion_file(runner: Runner) -> None:
    _, first, trial_dir = runner.run([PYTHON, str(SCRIPTS / "orion.py")])
    assert first.result == 0.3
    _, second, _ = runner.run(["true"])
    assert second.error is not None and "reported no result" in second.error
    assert not (trial_dir / "orion-results.json").exists()


def test_shell_mode_keeps_the_channel(runner: Runner) -> None:
    # /bin/sh -c runs the joined items, unquoted; the Python trainer it starts still gets
    # the channel (cooperative reports) through the inherited fd
    command = [
        PYTHON,
        str(SCRIPTS / "trainer.py"),
        "--lr {lr} --epochs 2",
        "--out model.pt",
        "| cat",
    ]
    reports, ended, _ = runner.run(command, {"lr": 0.5}, shell=True, cwd_mode="trial")
    assert [(r.value, r.cooperative) for r in reports] == [(0.5, True), (0.25, True)]
    assert ended.result == {"objective": 0.25, "epochs": 2}


def test_template_is_checked_before_any_trial() -> None:
    with pytest.raises(ConfigError, match=r"placeholder \{lrr\} .* did you mean \{lr\}\?"):
        CommandExecutor(["train", "--lr={lrr}"], param_names=["lr", "layers"])


# --------------------------------------------------------------------- measurements


def test_should_prune_round_trip(runner: Runner) -> None:
    executor = runner.executor([PYTHON, str(SCRIPTS / "roundtrip.py"), "300"])
    executor.start(runner.spec())
    deadline = time.monotonic() + 20
    while True:
        assert time.monotonic() < deadline
        events = executor.poll(0.05)
        for event in events:
            if isinstance(event, Reported):
                executor.decide(0, False)
        if any(isinstance(event, Ended) for event in events):
            break
    result = next(e for e in events if isinstance(e, Ended)).result
    assert isinstance(result, dict)
    print(
        f"\nreport + should_prune round trip: median {result['median_ms']:.3f} ms, "
        f"max {result['max_ms']:.3f} ms"
    )
    # Measured medians: 0.14-0.26 ms on 2 cores at a load average of 5-8; an answer that waited
    # for a poll tick (50-100 ms) or a sleep of a few ms in the loop would fail this.
    assert result["median_ms"] < 2


def test_per_trial_overhead(runner: Runner) -> None:
    executor = runner.executor(["sh", "-c", "echo 'hpsweep: {{\"result\": 1}}'"])
    starts: list[float] = []
    totals: list[float] = []
    for number in range(30):
        began = time.perf_counter()
        executor.start(runner.spec(number))
        starts.append(time.perf_counter() - began)
        assert drive(executor, [number])[number][1].result == 1
        totals.append(time.perf_counter() - began)
    print(
        f"\nstart(): median {statistics.median(starts) * 1e3:.2f} ms; "
        f"start to Ended of a shell trial: median {statistics.median(totals) * 1e3:.2f} ms"
    )
    assert statistics.median(totals) < 0.5


# ------------------------------------------------------------------ Python functions


def python_executor(runner: Runner, target: Any, **options: Any) -> PythonProcessExecutor:
    executor = PythonProcessExecutor(target, base_env=child_env(), **options)
    runner.executors.append(executor)
    return executor


def test_python_function_in_a_child(runner: Runner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(SCRIPTS)  # "module:function" imports from the start directory
    executor = python_executor(runner, "pyfuncs:add", jobs=2, cwd_mode="trial")
    executor.start(runner.spec(0, a=1, b=2))
    executor.start(runner.spec(1, a=1))
    ended = drive(executor, [0, 1])
    assert ended[0][1].result == 3
    assert ended[1][1].error == "KeyError: 'b'"


def test_python_file_target_and_foreign_trial_pruned(runner: Runner) -> None:
    executor = python_executor(runner, f"{SCRIPTS / 'pyfuncs.py'}:prune_own")
    executor.start(runner.spec())
    _, ended = drive(executor, [0])[0]
    assert ended.pruned and ended.error is None
    assert "trial pruned" in (runner.directory / "trial-0" / "stderr.log").read_text()


def test_python_segfault_fails_only_its_trial(runner: Runner) -> None:
    executor = python_executor(runner, f"{SCRIPTS / 'pyfuncs.py'}:segfault", jobs=2)
    executor.start(runner.spec(0, crash=True))
    executor.start(runner.spec(1, crash=False))
    ended = drive(executor, [0, 1])
    assert ended[0][1].error is not None and ended[0][1].error.startswith(
        "killed by signal SIGSEGV"
    )
    assert ended[1][1].result == 1.0


def test_python_import_errors_are_reported(runner: Runner) -> None:
    executor = python_executor(runner, "no_such_module_here:run")
    executor.start(runner.spec())
    assert (
        drive(executor, [0])[0][1].error
        == "ModuleNotFoundError: No module named 'no_such_module_here'"
    )


def test_python_callable_target(runner: Runner) -> None:
    from hpsweep.testing import double

    executor = python_executor(runner, double)
    executor.start(runner.spec(x=4))
    assert drive(executor, [0])[0][1].result == 8


def test_python_target_must_name_a_function() -> None:
    with pytest.raises(ConfigError, match="module:function"):
        PythonProcessExecutor("train")
    with pytest.raises(ConfigError, match="module-level function"):
        PythonProcessExecutor(lambda params: 1.0)


def test_trial_killed_by_sigkill_mentions_memory(runner: Runner) -> None:
    _, ended, _ = runner.run(["sh", "-c", "kill -KILL $$"])
    assert ended.error == "killed by signal SIGKILL (out of memory?)"


def test_stop_answers_a_waiting_should_prune(runner: Runner) -> None:
    # a trial blocked in should_prune() hears True when stopped (and SIGTERM follows)
    script = (
        "import signal, sys; from hpsweep import client\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "client.report(1.0)\n"
        "sys.exit(7 if client.should_prune() else 8)\n"
    )
    executor = runner.executor([PYTHON, "-c", script])
    executor.start(runner.spec())
    events: list[Any] = []
    assert until(lambda: events.extend(executor.poll(0.05)) or events)  # the report, undecided
    executor.stop(0, grace=5.0)
    (_, ended) = drive(executor, [0])[0]
    # it ignored SIGTERM and ended by itself on hearing True
    assert ended.stopped and ended.pruned and ended.notes == ("stopped with SIGTERM",)


def test_exits_are_noticed_without_pidfds(runner: Runner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("hpsweep.runner._command.open_pidfd", lambda pid: None)
    _, ended, _ = runner.run(["sh", "-c", "echo 'hpsweep: {{\"result\": 2}}'"])
    assert ended.result == 2
    executor = runner.executor(["sleep", "300"])
    executor.start(runner.spec())
    started = time.monotonic()
    assert executor.poll(0.3) == []
    assert time.monotonic() - started < 0.4
    executor.stop(0, grace=1.0)
    assert drive(executor, [0])[0][1].stopped


@pytest.fixture(scope="module")
def c_trial(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The C example of docs/protocol.md, compiled."""
    compiler = shutil.which("cc")
    if compiler is None:
        pytest.skip("no C compiler")
    binary = tmp_path_factory.mktemp("c") / "trial"
    subprocess.run(
        [compiler, "-O2", "-o", str(binary), str(SCRIPTS / "channel_trial.c")], check=True
    )
    return binary


def test_c_trial_over_the_channel(runner: Runner, c_trial: Path) -> None:
    executor = runner.executor([str(c_trial), "--lr", "{lr}"])
    executor.start(runner.spec(0, lr=0.5))
    reports, ended = drive(executor, [0], prune_from=2)[0]
    assert [(r.step, r.value, r.cooperative) for r in reports] == [
        (0, 0.5, True),
        (1, 0.25, True),
        (2, 0.125, True),
    ]
    assert ended.pruned and ended.error is None
    _, ended, _ = runner.run([str(c_trial), "--lr", "{lr}"], {"lr": 0.5})
    assert ended.result == 0.5**10


def test_c_trial_with_marker_lines(runner: Runner, c_trial: Path) -> None:
    # started by something that does not pass the channel on: it falls back to marker lines
    command = ["env", "-u", "HPSWEEP_CHANNEL_FD", str(c_trial), "--lr", "{lr}"]
    reports, ended, _ = runner.run(command, {"lr": 0.5})
    assert len(reports) == 10 and not any(r.cooperative for r in reports)
    assert ended.result == 0.5**10


def test_the_guard_ends_a_group_registered_just_before_the_controller_died() -> None:
    """The guard polls its pipe every 0.5 s; a group the controller registered between two
    polls, just before dying, must still be ended."""
    from hpsweep.runner._procutil import OrphanGuard

    trials = [subprocess.Popen(["sleep", "60"], start_new_session=True) for _ in range(2)]
    try:
        controller = os.fork()
        if controller == 0:  # the controller: watches one group, then another, then dies
            guard = OrphanGuard()
            guard.watch(trials[0].pid)
            time.sleep(0.3)  # the guard has read the first line and sleeps
            guard.watch(trials[1].pid)
            os._exit(0)
        os.waitpid(controller, 0)
        for trial in trials:
            trial.wait(timeout=10)  # ended by the guard, not by this test
    finally:
        for trial in trials:
            trial.kill()
            trial.wait()
