"""One run of a study: open the store, build the executor, drive the controller, clean up."""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import os
import signal
import sys
import threading
from collections.abc import Callable
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any

from hpsweep._config import SweepConfig
from hpsweep._controller import Controller
from hpsweep._controller import RunSummary
from hpsweep._errors import ConfigError
from hpsweep._progress import Progress
from hpsweep.runner import Executor
from hpsweep.runner import InProcessExecutor
from hpsweep.runner._gpus import GpuSlots
from hpsweep.runner._gpus import parse_gpus

if TYPE_CHECKING:
    import optuna

Objective = Callable[[dict[str, Any]], object]


def load_objective(target: str) -> Objective:
    """Import ``module:function`` from the working directory or ``PYTHONPATH``."""
    module_name, _, function_name = target.partition(":")
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name and module_name.startswith(error.name):
            raise ConfigError(
                f"objective {target!r}: no module {module_name!r} in the working directory or "
                "on PYTHONPATH; run hpsweep where the module is, or set PYTHONPATH"
            ) from None
        raise _import_failed(target, module_name, error) from error
    except Exception as error:  # the user's module itself fails: its own error, on one line
        raise _import_failed(target, module_name, error) from error
    function = getattr(module, function_name, None)
    if not callable(function):
        names = [n for n in dir(module) if callable(getattr(module, n)) and not n.startswith("_")]
        raise ConfigError(
            f"objective {target!r}: {module_name} has no function "
            f"{function_name!r} (functions: {', '.join(names) or 'none'})"
        )
    return function  # type: ignore[no-any-return]


def _import_failed(target: str, module_name: str, error: Exception) -> ConfigError:
    if isinstance(error, SyntaxError):
        where = f" ({error.filename}, line {error.lineno})" if error.filename else ""
        what = f"SyntaxError: {error.msg}{where}"
    else:
        what = f"{type(error).__name__}: {error}".rstrip(": ")
    return ConfigError(
        f"objective {target!r}: importing {module_name} failed with {what}; fix the module "
        "(--debug shows the traceback)"
    )


def check_objective_module(target: str) -> None:
    """Find (without importing it, which may be slow) the module a worker process will import,
    so a typo is one error now rather than one failed trial per trial."""
    module_name = target.partition(":")[0]
    if module_name.endswith(".py") or "/" in module_name:
        if not os.path.isfile(module_name):
            raise ConfigError(f"objective {target!r}: no file {module_name!r}")
        return
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        found = importlib.util.find_spec(module_name)
    except (ImportError, ValueError):
        found = None
    if found is None:
        raise ConfigError(
            f"objective {target!r}: no module {module_name!r} in the working directory or "
            "on PYTHONPATH; run hpsweep where the module is, or set PYTHONPATH"
        )


def make_executor(
    config: SweepConfig, objective: Objective | None, jobs: int, *, gpus: bool = False
) -> Executor:
    """The executor ``config`` asks for. With ``gpus`` (GPU slots) every trial needs a process of
    its own, since CUDA_VISIBLE_DEVICES is read per process: Python objectives then run in
    worker processes, and threads (or Ray, which places GPUs itself) are refused."""
    if gpus and config.executor in ("thread", "ray"):
        instead = (
            "give Ray's resources_per_trial: {gpu: 1} instead of gpus"
            if config.executor == "ray"
            else "use executor: process (or auto)"
        )
        raise ConfigError(
            f"GPU slots give each trial its own CUDA_VISIBLE_DEVICES, which needs a process per "
            f"trial, but executor is {config.executor!r}; {instead}"
        )
    if config.executor == "ray":
        from hpsweep.runner._ray import RayExecutor

        target = objective if objective is not None else config.objective
        if target is None:
            raise ConfigError(
                "executor: ray runs Python objectives (--objective module:function or "
                "objective: in the config); command trials run on the local executor"
            )
        return RayExecutor(
            target, jobs=jobs, resources=config.resources_per_trial, address=config.ray_address
        )
    if objective is not None:
        if gpus:
            raise ConfigError(
                "GPU slots need each trial in its own process, but the objective is a Python "
                "function in this process; name it instead (objective: module:function)"
            )
        return InProcessExecutor(objective, jobs=jobs)
    if config.command is not None:
        from hpsweep.runner import CommandExecutor

        return CommandExecutor(
            config.command,
            jobs=jobs,
            shell=config.shell,
            metric=_first_metric(config),
            cwd_mode=config.trial_cwd,
        )
    if config.objective is None:
        raise ConfigError(
            "nothing to run: give an objective (--objective module:function or "
            "objective: in the config) or a command after --"
        )
    if config.executor == "process" or (config.executor == "auto" and (jobs > 1 or gpus)):
        from hpsweep.runner import PythonProcessExecutor

        check_objective_module(config.objective)
        return PythonProcessExecutor(config.objective, jobs=jobs)
    return InProcessExecutor(load_objective(config.objective), jobs=jobs)


def gpu_slots(config: SweepConfig) -> GpuSlots | None:
    if config.gpus is None:
        return None
    devices = parse_gpus("auto") if config.gpus == "auto" else list(config.gpus)
    if not devices:
        return None  # `auto` on a machine without GPUs: run on the CPU
    return GpuSlots(devices, per_gpu=config.per_gpu, gpus_per_trial=config.gpus_per_trial)


def resolve_jobs(config: SweepConfig, slots: GpuSlots | None) -> int:
    """-j, defaulting to one trial per GPU slot; never more trials than slots."""
    if slots is None:
        return config.jobs or 1
    return min(config.jobs or slots.capacity, slots.capacity)


def _first_metric(config: SweepConfig) -> str | None:
    return config.metrics[0] if config.metrics else None


def execute(
    config: SweepConfig,
    *,
    objective: Objective | None = None,
    progress: Progress | None = None,
    handle_signals: bool = True,
    host_id: str | None = None,
    record_config: bool = True,
    on_done: Callable[[optuna.Study], None] | None = None,
) -> RunSummary:
    """Run the study described by ``config`` until its budget is reached. ``host_id`` (default:
    ``$HPSWEEP_HOST_ID``, else the host name) is the host this controller records as its own;
    ``record_config=False`` (workers) keeps the config stored in the study as it is;
    ``on_done(study)`` reads the study before the store closes."""
    from hpsweep.engine import Owner
    from hpsweep.engine import open_store
    from hpsweep.engine import open_study
    from hpsweep.engine._study import make_algorithms

    if config.command is not None:
        from hpsweep.runner import check_template

        check_template(config.command, _template_names(config))
    slots = gpu_slots(config)
    algorithms = make_algorithms(config)
    executor = make_executor(
        config, objective, resolve_jobs(config, slots), gpus=slots is not None
    )
    store = open_store(config.storage, study=config.study)  # scopes a server DB's budget lock
    try:
        study = open_study(config, store, record_config=record_config, algorithms=algorithms)
        trial_root = (Path(config.run_dir) / config.study).absolute()
        owner = Owner.current(host=host_id or os.environ.get("HPSWEEP_HOST_ID") or None)
        controller = Controller(
            config,
            store,
            study,
            executor,
            progress=progress,
            trial_root=trial_root,
            owner=owner,
            gpu_slots=slots,
        )
        with _signals(controller, enabled=handle_signals):
            summary = controller.run()
        if on_done is not None:
            on_done(study)
        return summary
    finally:
        executor.close()
        store.close()
        if progress is not None:
            progress.close()


def _template_names(config: SweepConfig) -> list[str]:
    names = list(config.space.names)
    stack: list[tuple[str, Any]] = list(config.params.items())
    while stack:
        name, value = stack.pop()
        names.append(name)
        if isinstance(value, dict):
            stack.extend((f"{name}.{k}", v) for k, v in value.items())
    return names


@contextlib.contextmanager
def _signals(controller: Controller, *, enabled: bool) -> Iterator[None]:
    """SIGINT: first stops launching, second stops running trials; SIGTERM: like the second."""
    if not enabled or threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_interrupt(signum: int, frame: object) -> None:
        controller.interrupt()

    def on_terminate(signum: int, frame: object) -> None:
        controller.terminate()

    previous_int = signal.signal(signal.SIGINT, on_interrupt)
    previous_term = signal.signal(signal.SIGTERM, on_terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous_int)
        signal.signal(signal.SIGTERM, previous_term)
