"""Creating and loading studies, and the attributes hpsweep keeps on them."""

from __future__ import annotations

import json
from collections.abc import Collection
from collections.abc import Mapping
from collections.abc import Sequence
from typing import TYPE_CHECKING
from typing import Any

from hpsweep._config import SweepConfig
from hpsweep._errors import ConfigError
from hpsweep._errors import StoreNotFound
from hpsweep.engine._algorithms import enqueue_initial_points
from hpsweep.engine._algorithms import make_pruner
from hpsweep.engine._algorithms import make_sampler
from hpsweep.engine._liveness import SUPERSEDED_ATTR
from hpsweep.engine._storage import Store
from hpsweep.engine._storage import check_format
from hpsweep.engine._storage import mark_format

if TYPE_CHECKING:
    import optuna
    from optuna.pruners import BasePruner
    from optuna.samplers import BaseSampler
    from optuna.trial import FrozenTrial

CONFIG_ATTR = "hpsweep.config"


def make_algorithms(config: SweepConfig) -> tuple[BaseSampler, BasePruner]:
    """The study's sampler and pruner; built before any store is opened, so that a bad name
    is an error that leaves no trace."""
    sampler = make_sampler(
        config.sampler.name,
        config.sampler.kwargs,
        seed=config.seed,
        space=config.space,
        directions=config.directions,
        n_trials=config.n_trials,
    )
    pruner = make_pruner(config.pruner.name, config.pruner.kwargs, directions=config.directions)
    from hpsweep.engine._rounding import with_rounding  # imports Optuna, as make_sampler did

    return with_rounding(sampler, config.space), pruner


def open_study(
    config: SweepConfig,
    store: Store,
    *,
    record_config: bool = True,
    algorithms: tuple[BaseSampler, BasePruner] | None = None,
) -> optuna.Study:
    """Create the study or load the existing one, checking that its directions agree.
    ``record_config=False`` (``hpsweep worker``) leaves the stored config as it is, so that one
    worker's host settings (-j, --executor, ...) do not become every later worker's."""
    import optuna

    sampler, pruner = algorithms or make_algorithms(config)
    with store.mutex():
        existing = find_study(store, config.study)
        if existing is not None:
            check_format(store, existing, config.study)  # a newer hpsweep's study: refuse
            stored = [d.name.lower() for d in store.storage.get_study_directions(existing)]
            if stored != list(config.directions):
                raise ConfigError(
                    f"study {config.study!r} in {store.display_url} was created with "
                    f"directions {stored}, but the config says {list(config.directions)}; "
                    "use another study name or fix the direction"
                )
        study = optuna.create_study(
            study_name=config.study,
            storage=store.storage,
            sampler=sampler,
            pruner=pruner,
            directions=list(config.directions),
            load_if_exists=True,
        )
        mark_format(store, study._study_id)
        if record_config or stored_config(study) is None:
            mapping = config.to_mapping()
            mapping.pop("storage", None)  # its own URL, password and all: workers pass it
            study.set_user_attr(CONFIG_ATTR, json.loads(json.dumps(mapping, default=str)))
        enqueue_initial_points(study, config.initial_points, config.space)
    return study


def load_study(store: Store, name: str | None) -> optuna.Study:
    """An existing study for reading; with no name, the store's only study."""
    import optuna

    summaries = store.storage.get_all_studies()
    if name is None:
        if len(summaries) == 1:
            name = summaries[0].study_name
        elif not summaries:
            raise StoreNotFound(f"{store.display_url} holds no study yet; run `hpsweep run` first")
        else:
            names = ", ".join(s.study_name for s in summaries)
            raise ConfigError(
                f"{store.display_url} holds several studies ({names}); pick one with --study NAME"
            )
    if find_study(store, name) is None:
        names = ", ".join(s.study_name for s in summaries) or "none"
        raise ConfigError(
            f"no study {name!r} in {store.display_url} (studies: {names}); "
            "check --study and --storage"
        )
    return optuna.load_study(study_name=name, storage=store.storage)


def find_study(store: Store, name: str) -> int | None:
    for summary in store.storage.get_all_studies():
        if summary.study_name == name:
            return int(summary._study_id)
    return None


def trials_from(
    store: Store, study_id: int, start: int, numbers: Collection[int] = ()
) -> tuple[list[FrozenTrial], list[FrozenTrial]]:
    """The study's trials with the given ``numbers`` (all below ``start``), and those numbered
    ``start`` and above. On the journal store this reads Optuna's replayed state directly, so
    that a launch in a study of 10 000 trials neither walks nor copies all 10 000 (Optuna's
    ``get_all_trials`` does)."""
    from optuna.storages import JournalStorage

    storage = store.storage
    if isinstance(storage, JournalStorage):
        storage.get_study_directions(study_id)  # syncs with the file, under the storage's lock
        replay = storage._replay_result
        with storage._thread_lock:
            ids = replay._study_id_to_trial_ids[study_id]
            trials = replay._trials
            return [trials[ids[n]] for n in numbers], [trials[i] for i in ids[start:]]
    every = storage.get_all_trials(study_id, deepcopy=False)
    return [every[n] for n in numbers], every[start:]


def ask(
    study: optuna.Study, *, waiting: Sequence[int], system_attrs: Mapping[str, Any]
) -> optuna.Trial | None:
    """Start the study's next trial, marked with ``system_attrs`` before it is RUNNING, so
    that a controller killed at any moment never leaves a RUNNING trial without its owner's
    mark (recovery closes only marked trials). The trial is the first of the ``waiting`` trial
    ids that is still waiting, or, with none given, a new one; None if all were taken meanwhile
    (by a plain Optuna worker: hpsweep's controllers start trials under the store's mutex).

    Like ``study.ask()``, minus its walk over every trial looking for a queued one: the caller,
    holding the mutex, knows the waiting ones, and asking stays O(1) in the study's size."""
    import datetime

    import optuna
    from optuna.trial import FrozenTrial
    from optuna.trial import TrialState

    storage = study._storage
    study._thread_local.cached_all_trials = None  # what study.ask() does, so samplers re-read
    for trial_id in waiting:
        for key, value in system_attrs.items():
            storage.set_trial_system_attr(trial_id, key, value)  # allowed while WAITING
        if storage.set_trial_state_values(trial_id, state=TrialState.RUNNING):
            return optuna.Trial(study, trial_id)
    if waiting:
        return None
    template = FrozenTrial(
        number=-1,  # the storage numbers it
        state=TrialState.RUNNING,
        value=None,
        datetime_start=datetime.datetime.now(),
        datetime_complete=None,
        params={},
        distributions={},
        user_attrs={},
        system_attrs=dict(system_attrs),
        intermediate_values={},
        trial_id=-1,
    )
    return optuna.Trial(study, storage.create_new_trial(study._study_id, template_trial=template))


def counts_toward_budget(trial: FrozenTrial) -> bool:
    """Every trial counts toward the study total except attempts replaced by a re-run."""
    return not trial.system_attrs.get(SUPERSEDED_ATTR, False)


def stored_config(study: optuna.Study) -> dict[str, Any] | None:
    value = study.user_attrs.get(CONFIG_ATTR)
    return value if isinstance(value, dict) else None


def finished_values(trials: Sequence[FrozenTrial]) -> list[FrozenTrial]:
    from optuna.trial import TrialState

    return [t for t in trials if t.state == TrialState.COMPLETE and t.values is not None]
