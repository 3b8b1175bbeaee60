"""Beyond one machine: PostgreSQL workers and the Ray executor, against Optuna and Ray Tune.

**PostgreSQL throughput.** 1, 2 and 4 ``hpsweep worker`` processes (``-j 1``, threads, random
sampler, no pruner) run one study of trivial trials (``x**2``) on a PostgreSQL server, against
1, 2 and 4 plain Optuna processes running ``study.optimize`` with ``MaxTrialsCallback`` on the
same server and schema. Each configuration gets a fresh database. Throughput is trials per second
between the first trial's start and the last trial's end as the database recorded them, so
process start-up is left out (it is shown apart, as the wall time of the whole configuration);
the trials column shows what each one actually ran for the requested total.

**Ray per-trial overhead.** The same trivial objective, one trial at a time, on a local Ray with
2 CPUs: hpsweep's Ray executor alone (start → ended, as the controller drives it), hpsweep end to
end (``executor: ray`` under the controller on a journal store), and Ray Tune's ``Tuner.fit`` with
its default ``reuse_actors``, with ``reuse_actors=False`` and with ``reuse_actors=True``.

    .venv/bin/python benchmarks/distributed.py           # 400 PG trials, 100 Ray trials
    .venv/bin/python benchmarks/distributed.py --quick   # 120 and 20 (a smoke run, ~3 min)

Without ``--storage``, a private PostgreSQL server is started in a temporary directory (the test
suite's helper, tests/distributed/_servers.py) and stopped at the end. Needs the ``postgres`` and
``ray`` extras and ``ray[tune]`` for the Tune rows (skipped with a note when missing).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

if __package__:
    from ._common import format_kv
    from ._common import format_table
    from ._common import load_note
    from ._common import machine_info
else:  # run as a script: benchmarks/ is on sys.path
    from _common import format_kv
    from _common import format_table
    from _common import load_note
    from _common import machine_info

OBJECTIVE = "def f(p):\n    return p['x'] ** 2\n"

OPTUNA_WORKER = textwrap.dedent("""
    import sys
    import optuna
    from optuna.study import MaxTrialsCallback

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    url, name, total = sys.argv[1], sys.argv[2], int(sys.argv[3])
    study = optuna.load_study(
        study_name=name, storage=url, sampler=optuna.samplers.RandomSampler()
    )
    study.optimize(
        lambda t: t.suggest_float("x", 0, 1) ** 2,
        callbacks=[MaxTrialsCallback(total, states=None)],
    )
    """)


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("HPSWEEP_")}


@contextlib.contextmanager
def postgres(url: str | None) -> Iterator[Any]:
    """An object with ``create_database(name) -> url``: the server at ``url`` (its admin
    database) or a private one."""
    if url is not None:

        class Existing:
            def create_database(self, name: str) -> str:
                import psycopg

                target = url.replace("postgresql+psycopg://", "postgresql://")
                with psycopg.connect(target, autocommit=True) as connection:
                    connection.execute(f'CREATE DATABASE "{name}"')
                return target.rsplit("/", 1)[0] + "/" + name

        yield Existing()
        return
    sys.path.insert(0, str(ROOT / "tests" / "distributed"))
    from _servers import find_pg_bindir  # type: ignore[import-not-found]
    from _servers import postgres_server

    bindir = find_pg_bindir()
    if bindir is None:
        raise SystemExit("no PostgreSQL binaries: apt-get install postgresql, or pass --storage")
    with postgres_server(bindir) as server:
        yield server


def _span(url: str, study: str) -> tuple[int, float]:
    """Trials in the study, and seconds from the first start to the last completion."""
    from sqlalchemy import create_engine
    from sqlalchemy import text

    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as connection:
            count, first, last = connection.execute(
                text(
                    "SELECT count(*), min(t.datetime_start), max(t.datetime_complete) "
                    "FROM trials t JOIN studies s ON s.study_id = t.study_id "
                    "WHERE s.study_name = :name"
                ),
                {"name": study},
            ).one()
    finally:
        engine.dispose()
    return int(count), (last - first).total_seconds()


def _wait_all(processes: list[subprocess.Popen[bytes]], what: str) -> None:
    for process in processes:
        if process.wait(timeout=1800) != 0:
            raise RuntimeError(f"{what} exited {process.returncode}")


def hpsweep_workers(server: Any, workdir: Path, count: int, total: int) -> dict[str, Any]:
    url = server.create_database("b_" + uuid.uuid4().hex[:10])
    (workdir / "bench_objective.py").write_text(OBJECTIVE)
    (workdir / "s.yaml").write_text(
        "study: s\nobjective: bench_objective:f\nexecutor: thread\nsampler: random\n"
        f"pruner: none\nn_trials: {total}\nspace:\n  x: {{type: float, low: 0, high: 1}}\n"
    )
    hpsweep = [sys.executable, "-m", "hpsweep"]
    subprocess.run(
        [*hpsweep, "create", "s.yaml", "--storage", url],
        cwd=workdir,
        env=_env(),
        check=True,
        capture_output=True,
    )
    started = time.perf_counter()
    processes = [
        subprocess.Popen(
            [
                *hpsweep,
                "worker",
                "--study",
                "s",
                "--storage",
                url,
                "-j",
                "1",
                "-q",
                "--host-id",
                f"bench-{i}",
            ],
            cwd=workdir,
            env=_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for i in range(count)
    ]
    _wait_all(processes, "hpsweep worker")
    wall = time.perf_counter() - started
    trials, span = _span(url, "s")
    return {
        "tool": "hpsweep worker",
        "processes": count,
        "trials": trials,
        "span_s": span,
        "wall_s": wall,
    }


def optuna_processes(server: Any, workdir: Path, count: int, total: int) -> dict[str, Any]:
    import optuna

    url = server.create_database("b_" + uuid.uuid4().hex[:10])
    driver = url.replace("postgresql://", "postgresql+psycopg://", 1)
    storage = optuna.storages.RDBStorage(driver)
    optuna.create_study(study_name="s", storage=storage)
    storage.engine.dispose()
    script = workdir / "optuna_worker.py"
    script.write_text(OPTUNA_WORKER)
    started = time.perf_counter()
    processes = [
        subprocess.Popen(
            [sys.executable, str(script), driver, "s", str(total)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(count)
    ]
    _wait_all(processes, "optuna worker")
    wall = time.perf_counter() - started
    trials, span = _span(url, "s")
    return {
        "tool": "Optuna study.optimize",
        "processes": count,
        "trials": trials,
        "span_s": span,
        "wall_s": wall,
    }


def bench_postgres(url: str | None, total: int, counts: list[int]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with postgres(url) as server, tempfile.TemporaryDirectory() as directory:
        workdir = Path(directory)
        for count in counts:  # interleaved, so that machine noise hits both alike
            rows.append(hpsweep_workers(server, workdir, count, total))
            rows.append(optuna_processes(server, workdir, count, total))
    return rows


# ----------------------------------------------------------------------------------- Ray


def square(params: dict[str, Any]) -> float:
    return float(params["x"]) ** 2


def tune_trainable(config: dict[str, Any]) -> dict[str, float]:
    return {"score": float(config["x"]) ** 2}


def ray_executor_only(trials: int) -> float:
    from hpsweep.runner import TrialSpec
    from hpsweep.runner._ray import RayExecutor
    from hpsweep.testing import drive

    executor = RayExecutor(square, jobs=1)
    try:
        executor.start(TrialSpec(0, 0, "warm", {"x": 0.5}))  # the actor's start is not per trial
        drive(executor, [0])
        started = time.perf_counter()
        for number in range(1, trials + 1):
            executor.start(TrialSpec(number, number, "b", {"x": number / trials}))
            drive(executor, [number], timeout=120)
        return (time.perf_counter() - started) / trials
    finally:
        executor.close()


def ray_end_to_end(trials: int, directory: Path) -> float:
    from hpsweep._config import from_mapping
    from hpsweep._progress import PlainProgress
    from hpsweep._session import execute

    (directory / "bench_ray_objective.py").write_text(OBJECTIVE)
    sys.path.insert(0, str(directory))
    config = from_mapping(
        {
            "study": "ray",
            "storage": str(directory / "ray.journal"),
            "objective": "bench_ray_objective:f",
            "executor": "ray",
            "sampler": "random",
            "pruner": "none",
            "n_trials": trials,
            "space": {"x": {"type": "float", "low": 0.0, "high": 1.0}},
        }
    )
    cwd = os.getcwd()
    os.chdir(directory)  # the actor imports the objective from the driver's directory
    try:
        started = time.perf_counter()
        execute(config, progress=PlainProgress(quiet=True), handle_signals=False)
        return (time.perf_counter() - started) / trials
    finally:
        os.chdir(cwd)


def ray_tune(trials: int, directory: Path, reuse: bool | None) -> float | None:
    try:
        from ray import tune
    except ImportError:
        return None
    options: dict[str, Any] = {"num_samples": trials, "max_concurrent_trials": 1}
    if reuse is not None:
        options["reuse_actors"] = reuse
    tuner = tune.Tuner(
        tune_trainable,
        param_space={"x": tune.uniform(0, 1)},
        tune_config=tune.TuneConfig(**options),
        run_config=tune.RunConfig(
            storage_path=str(directory / f"tune-{reuse}"), verbose=0, log_to_file=False
        ),
    )
    started = time.perf_counter()
    tuner.fit()
    return (time.perf_counter() - started) / trials


def bench_ray(trials: int) -> list[tuple[str, float | None]]:
    import ray

    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    os.environ.setdefault("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")
    ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.ERROR, log_to_driver=False)
    try:
        with tempfile.TemporaryDirectory() as directory:
            path = Path(directory)
            return [
                ("hpsweep RayExecutor (start → ended)", ray_executor_only(trials)),
                (
                    "hpsweep run --executor ray (controller + journal store)",
                    ray_end_to_end(trials, path),
                ),
                ("Ray Tune Tuner.fit, defaults", ray_tune(trials, path, None)),
                ("Ray Tune Tuner.fit, reuse_actors=False", ray_tune(trials, path, False)),
                ("Ray Tune Tuner.fit, reuse_actors=True", ray_tune(trials, path, True)),
            ]
    finally:
        ray.shutdown()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="120 PG and 20 Ray trials")
    parser.add_argument("--trials", type=int, help="trials per PostgreSQL study (400)")
    parser.add_argument("--ray-trials", type=int, help="sequential Ray trials (100)")
    parser.add_argument("--storage", help="admin URL of a PostgreSQL server to use")
    parser.add_argument("--skip-pg", action="store_true")
    parser.add_argument("--skip-ray", action="store_true")
    parser.add_argument("--json", help="write the raw numbers here")
    args = parser.parse_args(argv)
    total = args.trials or (120 if args.quick else 400)
    ray_trials = args.ray_trials or (20 if args.quick else 100)
    print(format_kv(machine_info(["optuna", "ray", "psycopg", "SQLAlchemy"])))
    print()
    results: dict[str, Any] = {}
    if not args.skip_pg:
        rows = bench_postgres(args.storage, total, [1, 2, 4])
        results["postgres"] = rows
        print(f"## PostgreSQL: {total} trivial trials per study, trials/s\n")
        print(
            format_table(
                ["tool", "processes", "trials run", "trials/s", "wall s (with start-up)"],
                [
                    [
                        r["tool"],
                        r["processes"],
                        r["trials"],
                        f"{r['trials'] / r['span_s']:.1f}",
                        f"{r['wall_s']:.1f}",
                    ]
                    for r in rows
                ],
            )
        )
        print()
    if not args.skip_ray:
        ray_rows = bench_ray(ray_trials)
        results["ray"] = ray_rows
        print(f"## Ray: {ray_trials} sequential trivial trials, ms per trial\n")
        print(
            format_table(
                ["configuration", "ms/trial"],
                [[name, "-" if v is None else f"{v * 1000:.1f}"] for name, v in ray_rows],
            )
        )
        print()
    print(load_note())
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
