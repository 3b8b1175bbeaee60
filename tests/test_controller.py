"""The controller on the fake executor and a simulated clock: no real processes, no sleeps."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import optuna
import pytest

from hpsweep._config import SweepConfig
from hpsweep._config import from_mapping
from hpsweep._controller import Controller
from hpsweep._controller import RunSummary
from hpsweep._progress import PlainProgress
from hpsweep.engine import Owner
from hpsweep.engine import open_store
from hpsweep.engine import open_study
from hpsweep.engine._liveness import OWNER_PREFIX
from hpsweep.engine._liveness import RUN_ATTR
from hpsweep.runner import FakeClock
from hpsweep.runner import FakeExecutor
from hpsweep.runner import FakeTrial
from hpsweep.runner import TrialSpec
from hpsweep.space import Float
from hpsweep.space import SearchSpace


def make_config(**overrides: Any) -> SweepConfig:
    document: dict[str, Any] = {
        "study": "s",
        "n_trials": 10,
        "seed": 1,
        "sampler": "random",
        "pruner": "none",
    }
    document.update(overrides)
    config = from_mapping(document)
    return dataclasses.replace(config, space=SearchSpace({"x": Float(0.0, 1.0)}))


def run(
    path: Path,
    config: SweepConfig,
    script: Callable[[TrialSpec], FakeTrial],
    *,
    slots: int = 1,
    before: Callable[[Controller], None] | None = None,
) -> tuple[RunSummary, FakeExecutor, optuna.Study]:
    store = open_store(str(path / "store.journal"))
    clock = FakeClock()
    executor = FakeExecutor(script, clock, slots=slots)
    study = open_study(config, store)
    controller = Controller(
        config, store, study, executor, clock=clock, progress=PlainProgress(quiet=True)
    )
    if before is not None:
        before(controller)
    summary = controller.run()
    store.close()
    reloaded = optuna.load_study(
        study_name=config.study, storage=open_store(str(path / "store.journal")).storage
    )
    return summary, executor, reloaded


def states(study: optuna.Study) -> list[str]:
    return [t.state.name.lower() for t in study.get_trials(deepcopy=False)]


def quadratic(spec: TrialSpec) -> FakeTrial:
    return FakeTrial(duration=1.0, result=(spec.params["x"] - 0.3) ** 2)


def test_runs_exactly_the_study_total_and_resumes(tmp_path: Path) -> None:
    summary, executor, study = run(tmp_path, make_config(n_trials=7), quadratic)
    assert summary.counts == {"complete": 7}
    assert summary.total == 7 and len(study.trials) == 7 and summary.exit_code == 0
    again, executor, study = run(tmp_path, make_config(n_trials=7), quadratic)
    assert again.counts == {} and executor.started == [] and len(study.trials) == 7
    more, _, study = run(tmp_path, make_config(n_trials=10), quadratic)
    assert more.counts == {"complete": 3} and len(study.trials) == 10


def test_best_value_matches_the_store(tmp_path: Path) -> None:
    summary, _, study = run(tmp_path, make_config(), quadratic)
    assert summary.best is not None
    assert summary.best.values == (study.best_value,)
    assert summary.best.number == study.best_trial.number


def test_slots_fill_as_soon_as_one_frees(tmp_path: Path) -> None:
    durations = iter([5.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0])

    def script(spec: TrialSpec) -> FakeTrial:
        return FakeTrial(duration=next(durations), result=1.0)

    summary, executor, _ = run(tmp_path, make_config(n_trials=8), script, slots=2)
    assert executor.max_running == 2
    # trial 0 runs 5 s while trials 1-5 run one after another in the other slot
    assert executor.clock.now == pytest.approx(6.0)
    assert executor.busy_time / (2 * executor.clock.now) == pytest.approx(1.0)


def test_exceptions_fail_one_trial_and_max_failures_stops_the_study(tmp_path: Path) -> None:
    def script(spec: TrialSpec) -> FakeTrial:
        return FakeTrial(duration=1.0, error="ValueError: boom")

    summary, executor, study = run(tmp_path, make_config(n_trials=10, max_failures=3), script)
    assert summary.counts == {"failed": 3} and summary.failed and summary.exit_code == 1
    assert [t.user_attrs["error"] for t in study.trials] == ["ValueError: boom"] * 3
    assert {t.user_attrs["why"] for t in study.trials} == {"failed"}


def test_failures_are_counted_across_runs(tmp_path: Path) -> None:
    def script(spec: TrialSpec) -> FakeTrial:
        return FakeTrial(duration=1.0, error="RuntimeError")

    run(tmp_path, make_config(n_trials=10, max_failures=5), script, before=lambda c: None)
    # The first run stops at 5 failures; a second run with the same limit starts none.
    summary, executor, _ = run(tmp_path, make_config(n_trials=10, max_failures=5), script)
    assert executor.started == [] and summary.failed


def test_retries_rerun_the_same_params_without_growing_the_total(tmp_path: Path) -> None:
    attempts: dict[float, int] = {}

    def script(spec: TrialSpec) -> FakeTrial:
        x = spec.params["x"]
        attempts[x] = attempts.get(x, 0) + 1
        if attempts[x] < 3:  # fails twice, then succeeds
            return FakeTrial(duration=1.0, error="flaky")
        return FakeTrial(duration=1.0, result=x)

    summary, executor, study = run(tmp_path, make_config(n_trials=3, retries=2), script)
    assert summary.counts == {"failed": 6, "complete": 3}
    assert summary.total == 3
    assert sorted(attempts.values()) == [3, 3, 3]
    complete = [t for t in study.trials if t.state.name == "COMPLETE"]
    assert len(complete) == 3
    assert {t.user_attrs["attempt"] for t in complete} == {2}
    for trial in complete:
        first = study.trials[trial.user_attrs["retry_of"]]
        assert first.params == trial.params
    assert [s.attempt for s in executor.started[:3]] == [0, 1, 2]


def test_retries_exhausted_count_as_one_failure(tmp_path: Path) -> None:
    def script(spec: TrialSpec) -> FakeTrial:
        return FakeTrial(duration=1.0, error="always")

    summary, _, study = run(tmp_path, make_config(n_trials=2, retries=1, max_failures=2), script)
    assert summary.counts == {"failed": 4} and summary.total == 2 and summary.failed


def test_nan_and_missing_results_fail_with_a_reason(tmp_path: Path) -> None:
    results = iter([float("nan"), None, "abc", {"other": 1.0, "more": 2.0}, 0.5])

    def script(spec: TrialSpec) -> FakeTrial:
        return FakeTrial(duration=1.0, result=next(results))

    summary, _, study = run(tmp_path, make_config(n_trials=5), script)
    errors = [t.user_attrs.get("error") for t in study.trials]
    assert errors[0] == "the trial's result is nan"
    assert errors[1] is not None and "returned no result" in errors[1]
    assert errors[2] == "the trial's result 'abc' is not a number"
    assert errors[3] is not None and "set metric: NAME" in errors[3]
    assert study.trials[4].state.name == "COMPLETE"


def test_dict_results_use_the_metric_key(tmp_path: Path) -> None:
    def script(spec: TrialSpec) -> FakeTrial:
        return FakeTrial(duration=1.0, result={"loss": spec.params["x"], "acc": 0.5})

    _, _, study = run(tmp_path, make_config(n_trials=3, metric="loss"), script)
    assert [t.value for t in study.trials] == [t.params["x"] for t in study.trials]


def test_trial_timeout_stops_the_trial_after_the_limit(tmp_path: Path) -> None:
    def script(spec: TrialSpec) -> FakeTrial:
        return FakeTrial(duration=100.0, result=1.0, ignores_stop=spec.number == 1)

    config = make_config(n_trials=2, trial_timeout=5.0, grace=3.0)
    summary, executor, study = run(tmp_path, config, script)
    assert summary.counts == {"timeout": 2}
    assert executor.stops == [0, 1]
    assert executor.clock.now == pytest.approx(5.0 + 5.0 + 3.0)
    assert study.trials[0].user_attrs["error"] == "exceeded the trial timeout of 5s"


def test_study_timeout_stops_launching(tmp_path: Path) -> None:
    summary, executor, _ = run(tmp_path, make_config(n_trials=100, timeout=10.0), quadratic)
    assert len(executor.started) == 10 and "study timeout" in summary.stop_reason


def test_target_stops_the_study(tmp_path: Path) -> None:
    values = iter([5.0, 3.0, 0.5, 0.1, 0.0])

    def script(spec: TrialSpec) -> FakeTrial:
        return FakeTrial(duration=1.0, result=next(values))

    summary, executor, _ = run(tmp_path, make_config(n_trials=5, target=1.0), script)
    assert len(executor.started) == 3 and "target" in summary.stop_reason


def pruning_config(**overrides: Any) -> SweepConfig:
    return make_config(
        pruner={"name": "median", "kwargs": {"n_startup_trials": 2, "n_warmup_steps": 1}},
        **overrides,
    )


def curve_script(cooperative: bool) -> Callable[[TrialSpec], FakeTrial]:
    def script(spec: TrialSpec) -> FakeTrial:
        level = 1.0 if spec.number < 2 else 10.0  # later trials are much worse
        reports = [(float(i + 1), level / (i + 1)) for i in range(5)]
        return FakeTrial(duration=6.0, result=level / 5, reports=reports, cooperative=cooperative)

    return script


def test_median_pruner_prunes_cooperative_trials_at_the_reported_step(tmp_path: Path) -> None:
    summary, executor, study = run(tmp_path, pruning_config(n_trials=4), curve_script(True))
    assert summary.counts == {"complete": 2, "pruned": 2}
    assert executor.stops == []  # they stopped on their own after should_prune()
    pruned = [t for t in study.trials if t.state.name == "PRUNED"]
    assert all(max(t.intermediate_values) == 1 for t in pruned)  # the first step after warm-up
    assert all(t.user_attrs["why"] == "pruned" for t in pruned)


def test_non_cooperative_trials_are_stopped_when_pruned(tmp_path: Path) -> None:
    summary, executor, _ = run(tmp_path, pruning_config(n_trials=4), curve_script(False))
    assert summary.counts == {"complete": 2, "pruned": 2}
    assert executor.stops == [2, 3]


def test_a_pruned_trial_that_runs_on_is_stopped_after_the_grace_period(tmp_path: Path) -> None:
    def script(spec: TrialSpec) -> FakeTrial:
        trial = curve_script(True)(spec)
        return dataclasses.replace(trial, duration=100.0, ignores_prune=spec.number == 2)

    config = pruning_config(n_trials=3, grace=4.0)
    summary, executor, study = run(tmp_path, config, script)
    assert summary.counts == {"complete": 2, "pruned": 1}
    assert executor.stops == [2]
    # trials 0 and 1 ran 100 s each; trial 2 was told at its second report (2 s) and stopped
    # once the grace period had passed
    assert executor.clock.now == pytest.approx(200.0 + 2.0 + 4.0)


def test_counting_the_budget_reads_only_open_and_new_trials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One long trial must not make every launch re-read the trials started after it."""
    from hpsweep import _controller

    reads: list[int] = []
    real = _controller.trials_from

    def counting(*args: Any) -> Any:
        opened, new = real(*args)
        reads.append(len(opened) + len(new))
        return opened, new

    monkeypatch.setattr(_controller, "trials_from", counting)

    def script(spec: TrialSpec) -> FakeTrial:
        return FakeTrial(duration=1000.0 if spec.number == 0 else 1.0, result=1.0)

    summary, _, _ = run(tmp_path, make_config(n_trials=200), script, slots=3)
    assert summary.counts == {"complete": 200}
    assert len(reads) >= 200 and max(reads) <= 3 + 1  # the open ones and the one just made


def test_a_count_interrupted_by_a_lost_lock_is_made_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server store's lock can drop mid-count (engine/_postgres.py raises SectionInterrupted
    then): nothing was created, so the controller counts again; the total stays exact."""
    from hpsweep import _controller
    from hpsweep.engine._storage import SectionInterrupted

    real_ask = _controller.ask
    asked: list[int] = []

    def ask(study: optuna.Study, **options: Any) -> optuna.Trial | None:
        asked.append(len(study.trials))
        if len(asked) == 3:
            raise SectionInterrupted("the lock was lost")
        return real_ask(study, **options)

    monkeypatch.setattr(_controller, "ask", ask)
    messages: list[str] = []
    summary, _, study = run(
        tmp_path,
        make_config(n_trials=5),
        quadratic,
        before=lambda c: setattr(c.progress, "message", messages.append),
    )
    assert summary.counts == {"complete": 5} and len(study.trials) == 5
    assert asked == [0, 1, 2, 2, 3, 4]
    assert messages == [
        "the database lock was lost while counting the study and another controller started a "
        "trial meanwhile; counting again"
    ]


def test_a_trial_is_created_with_its_owner_mark_in_one_write(tmp_path: Path) -> None:
    """A kill between creating a trial and marking it would leave a RUNNING trial that no
    recovery closes (it closes only marked trials): the mark is part of the create record."""
    run(tmp_path, make_config(n_trials=3), quadratic)
    lines = (tmp_path / "store.journal").read_text().splitlines()
    creates = [json.loads(line) for line in lines if json.loads(line)["op_code"] == 4]
    assert len(creates) == 3
    assert all(RUN_ATTR in create["system_attrs"] for create in creates)
    marks = [line for line in lines if RUN_ATTR in line and json.loads(line)["op_code"] == 9]
    assert marks == []


def test_a_seeded_study_resumed_or_shared_proposes_new_points(tmp_path: Path) -> None:
    config = make_config(n_trials=3, seed=7)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    _, _, first = run(tmp_path / "a", config, quadratic)
    _, _, again = run(tmp_path / "b", config, quadratic)
    points = [t.params["x"] for t in first.trials]
    assert [t.params["x"] for t in again.trials] == points  # a fresh study repeats bit for bit
    _, _, resumed = run(tmp_path / "a", make_config(n_trials=6, seed=7), quadratic)
    later = [t.params["x"] for t in resumed.trials[3:]]
    assert len(set(points + later)) == 6  # not the first run's points again
    _, _, twin = run(tmp_path / "b", make_config(n_trials=6, seed=7), quadratic)
    assert [t.params["x"] for t in twin.trials[3:]] == later  # and repeatable too


def test_deadlines_of_ended_trials_are_dropped(tmp_path: Path) -> None:
    controller: list[Controller] = []
    config = make_config(n_trials=40, trial_timeout=1000.0)
    run(tmp_path, config, quadratic, slots=4, before=controller.append)
    assert controller[0]._next_deadline() is None and controller[0]._deadlines == []


def test_first_interrupt_lets_running_trials_finish(tmp_path: Path) -> None:
    holder: list[Controller] = []

    messages: list[str] = []

    def script(spec: TrialSpec) -> FakeTrial:
        if spec.number == 3:
            holder[0].interrupt()
        return FakeTrial(duration=1.0 + spec.number, result=1.0)

    def hold(controller: Controller) -> None:
        holder.append(controller)
        controller.progress.message = messages.append  # type: ignore[method-assign]

    summary, executor, study = run(
        tmp_path, make_config(n_trials=10), script, slots=3, before=hold
    )
    assert summary.interrupted and summary.exit_code == 130
    assert len(executor.started) == 4 and executor.stops == []
    assert states(study) == ["complete"] * 4
    assert messages == [  # a countdown of what still runs, in plain output too
        "interrupted: no new trials; waiting for 3 running (trial 1, 2, 3). Press Ctrl-C again "
        "to stop them.",
        "still running: 2 (trial 2, 3); press Ctrl-C again to stop them",
        "still running: 1 (trial 3); press Ctrl-C again to stop them",
    ]


def test_second_interrupt_kills_running_trials(tmp_path: Path) -> None:
    holder: list[Controller] = []

    def script(spec: TrialSpec) -> FakeTrial:
        if spec.number == 1:
            holder[0].interrupt()
            holder[0].interrupt()
        return FakeTrial(duration=50.0, result=1.0)

    summary, executor, study = run(
        tmp_path, make_config(n_trials=10), script, slots=2, before=holder.append
    )
    assert summary.counts == {"killed": 2} and summary.exit_code == 130
    assert states(study) == ["fail", "fail"]
    assert {t.user_attrs["why"] for t in study.trials} == {"killed"}


def test_multi_objective_results(tmp_path: Path) -> None:
    def script(spec: TrialSpec) -> FakeTrial:
        x = spec.params["x"]
        return FakeTrial(duration=1.0, result={"loss": x, "acc": 1 - x})

    config = make_config(n_trials=4, directions=["minimize", "maximize"], metrics=["loss", "acc"])
    summary, _, study = run(tmp_path, config, script)
    assert summary.counts == {"complete": 4}
    assert all(t.values == [t.params["x"], 1 - t.params["x"]] for t in study.trials)


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_trials_left_running_by_a_dead_controller_are_lost_and_rerun(tmp_path: Path) -> None:
    config = make_config(n_trials=3)
    store = open_store(str(tmp_path / "store.journal"))
    study = open_study(config, store)
    ghost = dataclasses.replace(Owner.current(), id="ghost", pid=dead_pid(), start_ticks=None)
    store.storage.set_study_system_attr(study._study_id, OWNER_PREFIX + "ghost", ghost.record())
    orphan = study.ask()
    orphan.suggest_float("x", 0.0, 1.0)
    store.storage.set_trial_system_attr(orphan._trial_id, RUN_ATTR, {"owner": "ghost"})
    store.close()

    seen: list[float] = []

    def script(spec: TrialSpec) -> FakeTrial:
        seen.append(spec.params["x"])
        return FakeTrial(duration=1.0, result=spec.params["x"])

    summary, _, reloaded = run(tmp_path, config, script)
    assert summary.counts == {"lost": 1, "complete": 3} and summary.total == 3
    assert reloaded.trials[0].user_attrs["why"] == "lost"
    assert seen[0] == reloaded.trials[0].params["x"]  # its params run first
    assert states(reloaded) == ["fail", "complete", "complete", "complete"]


def test_a_live_controllers_trials_are_not_stolen(tmp_path: Path) -> None:
    config = make_config(n_trials=2)
    store = open_store(str(tmp_path / "store.journal"))
    study = open_study(config, store)
    alive = dataclasses.replace(Owner.current(), id="alive", pid=os.getppid(), start_ticks=None)
    store.storage.set_study_system_attr(study._study_id, OWNER_PREFIX + "alive", alive.record())
    busy = study.ask()
    busy.suggest_float("x", 0.0, 1.0)
    store.storage.set_trial_system_attr(busy._trial_id, RUN_ATTR, {"owner": "alive"})
    store.close()
    summary, executor, reloaded = run(tmp_path, config, quadratic)
    assert "lost" not in summary.counts and len(executor.started) == 1
    assert states(reloaded) == ["running", "complete"]


def test_nothing_is_left_running_after_a_clean_exit(tmp_path: Path) -> None:
    _, _, study = run(
        tmp_path, pruning_config(n_trials=6, trial_timeout=3.0), curve_script(False), slots=3
    )
    assert "running" not in states(study)


def test_gpu_slots_pin_each_trial_and_never_overbook(tmp_path: Path) -> None:
    from hpsweep.runner._gpus import GpuSlots

    config = make_config(n_trials=12)
    store = open_store(str(tmp_path / "store.journal"))
    clock = FakeClock()
    durations = iter([3.0, 1.0, 2.0, 1.0, 1.0, 4.0, 1.0, 2.0, 1.0, 1.0, 3.0, 1.0])
    live: dict[int, str] = {}
    peak: dict[str, int] = {}

    def script(spec: TrialSpec) -> FakeTrial:
        device = spec.env["CUDA_VISIBLE_DEVICES"]
        assert spec.env["HPSWEEP_GPUS"] == device
        for number in [n for n in live if n not in executor._trials]:
            del live[number]
        live[spec.number] = device
        for name in set(live.values()):
            peak[name] = max(peak.get(name, 0), list(live.values()).count(name))
        return FakeTrial(duration=next(durations), result=1.0)

    executor = FakeExecutor(script, clock, slots=4)
    study = open_study(config, store)
    Controller(
        config,
        store,
        study,
        executor,
        clock=clock,
        progress=PlainProgress(quiet=True),
        gpu_slots=GpuSlots(["0", "1"], per_gpu=2),
    ).run()
    store.close()
    assert len(executor.started) == 12
    assert peak == {"0": 2, "1": 2}


def test_a_zombie_owner_counts_as_dead() -> None:
    import time

    from hpsweep.engine._liveness import pid_alive
    from hpsweep.engine._liveness import process_start_ticks

    process = subprocess.Popen([sys.executable, "-c", "pass"])
    ticks = process_start_ticks(process.pid)
    stat = Path(f"/proc/{process.pid}/stat")
    for _ in range(100):
        if stat.read_text().split(") ")[1].startswith("Z"):
            break
        time.sleep(0.05)
    assert not pid_alive(process.pid, ticks)  # exited but not reaped yet
    process.wait()
    assert not pid_alive(process.pid, ticks)
    assert pid_alive(os.getpid(), process_start_ticks(os.getpid()))
