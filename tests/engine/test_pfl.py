"""The Predicted-Final-Loss pruner: the prediction math, each variant's decisions, and state that
lives in the study's storage rather than in the pruner."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from hpsweep._errors import ConfigError
from hpsweep.engine._algorithms import make_pruner
from hpsweep.engine._pfl import PFLPruner
from hpsweep.engine._pfl import predict_final_loss

optuna.logging.set_verbosity(optuna.logging.ERROR)


def curve(scale: float, rate: float, floor: float, n: int) -> list[float]:
    return [scale * math.exp(-rate * t) + floor for t in range(n)]


# ------------------------------------------------------------------ the prediction


def test_short_curves_give_the_last_value_on_each_scale() -> None:
    assert predict_final_loss([1, 0.5, 0.3, 0.2, 0.1], 50, variant="raw") == 0.1
    assert predict_final_loss([1, 0.5, 0.3, 0.2, 0.1], 50, variant="log10") == pytest.approx(1.0)


def test_exponential_curve_matches_both_published_versions() -> None:
    losses = curve(1.0, 0.1, 0.05, 20)
    assert predict_final_loss(losses, 50, variant="raw") == pytest.approx(0.10271, abs=5e-6)
    assert predict_final_loss(losses, 50, variant="log10") == pytest.approx(1.89630, abs=5e-6)


def test_log10_variant_is_numpys_polyfit() -> None:
    np = pytest.importorskip("numpy")
    losses = curve(2.0, 0.07, 0.3, 33)
    slope, intercept = np.polyfit(np.arange(33), np.log(losses), 1)
    expected = -math.log10(math.exp(intercept) * math.exp(slope * 80))
    assert predict_final_loss(losses, 80, variant="log10") == pytest.approx(expected, rel=1e-12)


def test_raw_variant_falls_back_to_the_ema_slope_when_not_decaying() -> None:
    rising = [0.01 * t * t for t in range(12)]  # accelerating: r > 1, not a decaying exponential
    n, span = 12, 4
    alpha = 2 / (span + 1)
    ema = [rising[0]]
    for value in rising[1:]:
        ema.append(alpha * value + (1 - alpha) * ema[-1])
    w = min(10, n - 1)
    expected = ema[-1] + (ema[-1] - ema[-1 - w]) / w * (50 - n) * 0.5
    assert predict_final_loss(rising, 50, variant="raw") == pytest.approx(expected)
    flat = [0.5] * 15
    assert predict_final_loss(flat, 50, variant="raw") == 0.5


def test_log10_of_non_positive_losses_is_nan() -> None:
    assert math.isnan(predict_final_loss([1.0] * 9 + [0.0], 50, variant="log10"))
    assert math.isnan(predict_final_loss([0.0], 50, variant="log10"))


def test_fewer_than_two_values_are_the_worst_prediction() -> None:
    assert PFLPruner(variant="raw").predict([0.3]) == math.inf
    assert PFLPruner(variant="log10").predict([0.3]) == -math.inf


# ------------------------------------------------------------------ decisions


def finished(
    study: optuna.Study, losses: Sequence[float], state: TrialState = TrialState.COMPLETE
) -> None:
    study.add_trial(
        optuna.trial.create_trial(
            state=state,
            value=losses[-1] if state == TrialState.COMPLETE and losses else None,
            intermediate_values=dict(enumerate(losses)),
        )
    )


def decide(pruner: PFLPruner, study: optuna.Study, values: dict[int, float]) -> bool:
    trial = study.ask()
    for step, value in values.items():
        trial.report(value, step)
    # the trial stays RUNNING, so it does not count among the finished ones
    return pruner.prune(study, study._storage.get_trial(trial._trial_id))


def study_with(pruner: PFLPruner) -> optuna.Study:
    return optuna.create_study(pruner=pruner)


GOOD = curve(1.0, 0.1, 0.05, 20)  # last 0.1996, PFL(raw) 0.10271, PFL(log10) 1.89630
OK = curve(1.5, 0.1, 0.10, 20)
BAD = curve(3.0, 0.02, 0.50, 20)


@pytest.mark.parametrize("variant", ["raw", "log10"])
def test_prunes_a_curve_predicted_worse_than_every_top_k_trial(variant: str) -> None:
    pruner = PFLPruner(n_startup_trials=2, n_warmup_epochs=5, top_k=2, variant=variant)
    study = study_with(pruner)
    finished(study, GOOD)
    finished(study, OK)
    top = [pruner.pair(dict(enumerate(c))) for c in (GOOD, OK)]
    bad_pfl = pruner.predict(BAD)
    if variant == "raw":
        assert bad_pfl > max(p for _, p in top)
    else:
        assert bad_pfl < min(p for _, p in top)
    assert decide(pruner, study, dict(enumerate(BAD))) is True
    # a curve as good as the best is kept
    assert decide(pruner, study, dict(enumerate(GOOD))) is False


def test_each_variant_compares_on_its_own_scale() -> None:
    # between GOOD and OK: above GOOD's raw PFL but below OK's, so both variants keep it
    middle = curve(1.2, 0.1, 0.07, 20)
    for variant in ("raw", "log10"):
        pruner = PFLPruner(n_startup_trials=2, n_warmup_epochs=5, top_k=2, variant=variant)
        study = study_with(pruner)
        finished(study, GOOD)
        finished(study, OK)
        assert decide(pruner, study, dict(enumerate(middle))) is False
    # the raw variant prunes against the top-k maximum, the log10 one against the minimum:
    # with top_k=1 only GOOD sets the bar, and `middle` is worse than it on both scales
    for variant in ("raw", "log10"):
        pruner = PFLPruner(n_startup_trials=2, n_warmup_epochs=5, top_k=1, variant=variant)
        study = study_with(pruner)
        finished(study, GOOD)
        finished(study, OK)
        assert decide(pruner, study, dict(enumerate(middle))) is True


def test_warm_up_counts_the_current_seeds_epochs_with_less_or_equal() -> None:
    pruner = PFLPruner(n_startup_trials=1, n_warmup_epochs=12, top_k=1)
    study = study_with(pruner)
    finished(study, GOOD)
    assert decide(pruner, study, dict(enumerate(BAD[:12]))) is False  # 12 <= 12: warm-up
    assert decide(pruner, study, dict(enumerate(BAD[:13]))) is True


def test_warm_up_restarts_for_every_seed() -> None:
    pruner = PFLPruner(n_startup_trials=1, n_warmup_epochs=5, top_k=1)
    study = study_with(pruner)
    finished(study, GOOD)
    seed0 = dict(enumerate(BAD))
    seed1_short = {1000 + i: v for i, v in enumerate(BAD[:5])}
    assert decide(pruner, study, {**seed0, **seed1_short}) is False
    seed1 = {1000 + i: v for i, v in enumerate(BAD[:6])}
    assert decide(pruner, study, {**seed0, **seed1}) is True


def test_startup_counts_every_finished_trial_pruned_and_failed_included() -> None:
    pruner = PFLPruner(n_startup_trials=3, n_warmup_epochs=2, top_k=5)
    study = study_with(pruner)
    finished(study, GOOD)
    finished(study, OK[:8], TrialState.PRUNED)
    values = dict(enumerate(BAD))
    assert decide(pruner, study, values) is False  # 2 finished < 3
    finished(study, [], TrialState.FAIL)  # a crash before any report counts too
    assert decide(pruner, study, values) is True


def test_non_finite_values_prune_at_once_even_in_startup_and_warm_up() -> None:
    pruner = PFLPruner()  # 10 startup trials, 10 warm-up epochs: nothing else could prune
    study = study_with(pruner)
    assert decide(pruner, study, {0: 1.0, 1: math.nan}) is True
    assert decide(pruner, study, {0: math.inf}) is True
    assert decide(pruner, study, {0: 1.0, 1: 0.5}) is False
    # a non-finite last value of an earlier seed still prunes
    assert decide(pruner, study, {0: 1.0, 1: -math.inf, 1000: 0.3}) is True


def test_top_k_keeps_the_seeds_insertion_order_semantics() -> None:
    a = curve(1, 0.1, 0.5, 15)
    b = curve(1, 0.1, 0.3, 15)
    c = [v * 1.5 for v in b[:-1]] + [b[-1]]  # the same last loss as b, another PFL
    pruner = PFLPruner(top_k=2)
    pa, pb, pc = (pruner.pair(dict(enumerate(x))) for x in (a, b, c))
    assert pb[0] == pc[0] and pb[1] != pc[1]
    study = study_with(pruner)
    for losses in (a, b, c):
        finished(study, losses)
    finished(study, [], TrialState.FAIL)  # (inf, -inf): never better than a full list
    count, top = pruner.top_pairs(study)
    assert count == 4 and top == sorted([pb, pc])
    # with room for one, a tie on the last loss does not replace the first (strict <)
    for order, expected in (((b, c), pb), ((c, b), pc)):
        one = PFLPruner(top_k=1)
        study = study_with(one)
        for losses in order:
            finished(study, losses)
        assert one.top_pairs(study) == (2, [expected])
    assert pruner.pair({}) == (math.inf, -math.inf)


def test_top_k_averages_over_seeds() -> None:
    pruner = PFLPruner()
    values = {**dict(enumerate(GOOD)), **{1000 + i: v for i, v in enumerate(OK)}}
    last, pfl = pruner.pair(values)
    assert last == pytest.approx((GOOD[-1] + OK[-1]) / 2)
    assert pfl == pytest.approx((pruner.predict(GOOD) + pruner.predict(OK)) / 2)
    assert PFLPruner(seed_stride=0).seed_losses(values) == [GOOD + OK]


def test_decisions_come_from_storage_so_a_new_process_agrees(tmp_path: Path) -> None:
    from hpsweep.engine import open_store

    store = open_store(str(tmp_path / "s.journal"))
    study = optuna.create_study(study_name="s", storage=store.storage)
    finished(study, GOOD)
    finished(study, OK)
    store.close()
    # "another process": a fresh store object, a fresh pruner with no memory of anything
    again = open_store(str(tmp_path / "s.journal"))
    pruner = PFLPruner(n_startup_trials=2, n_warmup_epochs=5, top_k=2)
    loaded = optuna.load_study(study_name="s", storage=again.storage, pruner=pruner)
    assert decide(pruner, loaded, dict(enumerate(BAD))) is True
    again.close()


def test_bad_options_are_one_line_config_errors() -> None:
    with pytest.raises(ConfigError, match="variant must be raw"):
        make_pruner("pfl", {"variant": "v3"})
    with pytest.raises(ConfigError, match="top_k must be an integer >= 1"):
        make_pruner("pfl", {"top_k": 0})
    with pytest.raises(ConfigError, match="direction: minimize"):
        make_pruner("pfl", {}, directions=["maximize"])
    pruner = make_pruner("pfl", {"variant": "v2025", "n_startup_trials": 3})
    assert isinstance(pruner, PFLPruner) and pruner.variant == "log10"
    assert (pruner.n_warmup_epochs, pruner.top_k, pruner.target_epoch) == (10, 10, 50)
