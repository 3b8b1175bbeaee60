"""What the report shows, computed from plain records (no plotting involved)."""

from __future__ import annotations

import datetime as dt
import math
import warnings
from typing import Any

import optuna
import pytest

from hpsweep.results import StudyData
from hpsweep.results import TrialRecord
from hpsweep.results import summarize
from hpsweep.results._figures import ParamSpec
from hpsweep.results._figures import ReportData
from hpsweep.results._figures import figures
from hpsweep.results._figures import importances
from hpsweep.results._figures import objective_labels
from hpsweep.results._figures import param_spec

T0 = dt.datetime(2025, 1, 1, 12, 0, 0)


def record(
    number: int,
    state: str = "complete",
    values: tuple[float, ...] | None = None,
    *,
    intermediate: dict[int, float] | None = None,
    **params: Any,
) -> TrialRecord:
    return TrialRecord(
        number=number,
        state=state,
        values=values,
        params=params,
        datetime_start=T0 + dt.timedelta(seconds=number),
        datetime_complete=T0 + dt.timedelta(seconds=number + 1.5),
        user_attrs={"why": {"fail": "failed"}.get(state, state)},
        intermediate=intermediate or {},
    )


PARAMS = {
    "lr": ParamSpec("lr", "float", log=True),
    "opt": ParamSpec("opt", "categorical", choices=("sgd", "adam", None)),
    "momentum": ParamSpec("momentum", "float"),
}


def report_of(
    records: list[TrialRecord], directions: tuple[str, ...] = ("minimize",)
) -> ReportData:
    data = StudyData("s", "x.journal", directions, {}, records)
    return ReportData(
        info=summarize(data),
        records=records,
        params=PARAMS,
        objectives=objective_labels(data),
        importances=(),
    )


RECORDS = [
    record(0, values=(3.0,), lr=0.1, opt="sgd", momentum=0.9, intermediate={0: 5.0, 1: 3.0}),
    record(1, values=(2.0,), lr=0.01, opt="adam", intermediate={0: 4.0, 1: 2.0}),
    record(2, "pruned", (4.5,), lr=1.0, opt="adam", intermediate={0: 4.5}),
    record(3, "fail", None, lr=0.5, opt=None),
    record(4, values=(2.5,), lr=0.001, opt=None),
]


def test_history_has_the_best_so_far_in_the_study_direction() -> None:
    (low,) = figures(report_of(RECORDS)).histories
    assert low.numbers == [0, 1, 4] and low.values == [3.0, 2.0, 2.5]
    assert low.best_so_far == [3.0, 2.0, 2.0]
    (high,) = figures(report_of(RECORDS, ("maximize",))).histories
    assert high.best_so_far == [3.0, 3.0, 3.0]


def test_parallel_axes_put_choices_at_positions_and_log_params_in_log10() -> None:
    (parallel,) = figures(report_of(RECORDS)).parallels
    lr, opt, value = parallel.axes
    assert lr.label == "log10(lr)" and lr.values == pytest.approx([-1, -2, -3])
    assert opt.values == [0.0, 1.0, 2.0]
    assert opt.tick_values == [0.0, 1.0, 2.0] and opt.tick_text == ["sgd", "adam", "null"]
    assert value.label == "value" and value.values == [3.0, 2.0, 2.5]
    assert parallel.left_out == ["momentum"]  # a conditional param cannot make an axis


def test_slices_show_each_param_for_the_complete_trials_that_have_it() -> None:
    slices = {s.param.name: s for s in figures(report_of(RECORDS)).slices}
    assert list(slices) == ["lr", "opt", "momentum"]
    assert slices["lr"].x == [0.1, 0.01, 0.001] and slices["lr"].y == [3.0, 2.0, 2.5]
    assert slices["opt"].categories == ["sgd", "adam", "null"]
    assert slices["opt"].x == ["sgd", "adam", "null"]
    assert slices["momentum"].numbers == [0]


def test_learning_curves_are_grouped_by_how_trials_ended() -> None:
    curves = figures(report_of(RECORDS)).curves
    assert curves is not None
    assert curves.groups["complete"] == [(0, [0, 1], [5.0, 3.0]), (1, [0, 1], [4.0, 2.0])]
    assert curves.groups["pruned"] == [(2, [0], [4.5])]
    assert "other" not in curves.groups
    assert figures(report_of([record(0, values=(1.0,), lr=0.1)])).curves is None


def test_the_trial_table_sorts_numbers_as_numbers_and_blanks_last() -> None:
    table = figures(report_of(RECORDS)).table
    assert table.header == [
        "number",
        "state",
        "why",
        "value",
        "duration (s)",
        "lr",
        "opt",
        "momentum",
        "error",
    ]
    assert table.rows[3][:4] == ["3", "fail", "failed", ""]
    assert table.sort_keys[3][3] is None and table.sort_keys[1][3] == 2.0
    assert table.rows[0][4] == "1.500" and table.states[2] == "pruned"


def test_table_columns_cover_every_param_and_the_error() -> None:
    failing = record(5, "fail", None, lr=0.2, extra=7)
    failing = TrialRecord(**{**failing.__dict__, "user_attrs": {"why": "failed", "error": "boom"}})
    table = figures(report_of([*RECORDS, failing])).table
    assert table.header[-3:] == ["momentum", "extra", "error"]
    assert table.rows[-1][-1] == "boom"


def test_pareto_plots_mark_the_front_for_several_objectives() -> None:
    records = [
        record(0, values=(1.0, 1.0), lr=0.1),
        record(1, values=(2.0, 3.0), lr=0.2),
        record(2, values=(0.5, 0.2), lr=0.3),
        record(3, values=(3.0, 2.0), lr=0.4),
    ]
    figs = figures(report_of(records, ("minimize", "maximize")))
    (front,) = figs.paretos
    assert front.x_objective == "value 0" and front.y_objective == "value 1"
    assert front.on_front == [True, True, True, False]  # 3 is worse than 1 in both
    assert [h.best_so_far for h in figs.histories] == [None, None]
    assert figs.count == 2 + 1 + 1 + 1  # histories, pareto, parallel, one slice


def test_a_study_without_complete_trials_has_only_the_table() -> None:
    figs = figures(report_of([record(0, "fail", None, lr=0.1)]))
    assert figs.count == 0 and len(figs.table.rows) == 1


def test_objective_labels_come_from_the_metrics() -> None:
    config = {"hpsweep.config": {"metrics": ["loss", "latency"]}}
    data = StudyData("s", "x", ("minimize", "minimize"), config, [])
    assert objective_labels(data) == ("loss", "latency")
    data = StudyData("s", "x", ("minimize",), {"hpsweep.config": {"metric": "acc"}}, [])
    assert objective_labels(data) == ("acc",)
    assert objective_labels(StudyData("s", "x", ("minimize",), {}, [])) == ("value",)


def test_param_specs_from_distributions() -> None:
    from optuna.distributions import CategoricalDistribution
    from optuna.distributions import FloatDistribution
    from optuna.distributions import IntDistribution

    assert param_spec("a", FloatDistribution(1e-3, 1, log=True)) == ParamSpec("a", "float", True)
    assert param_spec("b", IntDistribution(1, 9)) == ParamSpec("b", "int")
    assert param_spec("c", CategoricalDistribution([1, "x"])) == ParamSpec(
        "c", "categorical", choices=(1, "x")
    )


def study_with(n_trials: int, *names: str, directions: tuple[str, ...] = ("minimize",)) -> Any:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        directions=list(directions), sampler=optuna.samplers.RandomSampler(seed=1)
    )

    def objective(trial: optuna.Trial) -> Any:
        values = [trial.suggest_float(n, 0, 1) for n in names]
        score = sum(v * (i + 1) for i, v in enumerate(values))
        return score if len(directions) == 1 else (score, values[0])

    study.optimize(objective, n_trials=n_trials)
    return study


def test_importances_say_why_when_they_cannot_be_computed() -> None:
    (few,) = importances(study_with(1, "x", "y"), ["value"])
    assert not few.values and few.note == "needs at least 2 complete trials; the study has 1"
    (one,) = importances(study_with(5, "x"), ["value"])
    assert not one.values and one.note == "only one param (x): there is nothing to compare"


def test_importances_per_objective() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # optuna's warnings become notes, never escape
        (single,) = importances(study_with(20, "x", "y", "z"), ["value"])
        both = importances(
            study_with(20, "x", "y", directions=("minimize", "maximize")), ["a", "b"]
        )
    assert set(single.values) == {"x", "y", "z"}
    assert math.isclose(sum(single.values.values()), 1.0)
    assert [i.objective for i in both] == ["a", "b"]
    assert all(set(i.values) == {"x", "y"} for i in both)


def test_importances_warnings_become_the_note() -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study()
    study.optimize(lambda t: 0 * t.suggest_float("x", 0, 1) + 0 * t.suggest_int("y", 0, 3), 8)
    (item,) = importances(study, ["value"])
    assert item.values and item.note is not None and "will be equal" in item.note
