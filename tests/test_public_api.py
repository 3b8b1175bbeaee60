"""The public surface: what `import hpsweep` exports, and what it costs to import."""

from __future__ import annotations

import subprocess
import sys

import hpsweep
import hpsweep.client
import hpsweep.runner
import hpsweep.space


def test_all_is_sorted_and_complete() -> None:
    assert hpsweep.__all__ == sorted(hpsweep.__all__)
    for name in hpsweep.__all__:
        assert getattr(hpsweep, name) is not None
    public = {name for name in vars(hpsweep) if not name.startswith("_")}
    submodules = {
        "client",
        "space",
        "runner",
        "engine",
        "results",
        "cli",
        "testing",
        "compat",
        "dialects",
        "tune",
    }
    assert public - set(hpsweep.__all__) - submodules <= {"annotations", "TYPE_CHECKING", "Any"}


def test_subpackages_have_sorted_all() -> None:
    for module in (hpsweep.client, hpsweep.space, hpsweep.runner):
        assert module.__all__ == sorted(module.__all__), module.__name__


def modules_after(code: str) -> set[str]:
    output = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys; print('\\n'.join(sys.modules))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return set(output.split())


def test_the_trial_side_imports_only_the_standard_library() -> None:
    loaded = modules_after("import hpsweep.client") - modules_after("pass")
    third_party = {m.split(".")[0] for m in loaded} - set(sys.stdlib_module_names) - {"hpsweep"}
    assert third_party == set()


def test_cli_help_does_not_import_optuna() -> None:
    loaded = modules_after(
        "import contextlib, io\n"
        "from hpsweep.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        "    main(['--help'])"
    )
    heavy = {m.split(".")[0] for m in loaded} & {
        "optuna",
        "plotly",
        "ray",
        "rich",
        "yaml",
        "sqlalchemy",
        "numpy",
    }
    assert heavy == set()


def console_state(*argv: str) -> list[str]:
    """What ``hpsweep ARGV`` leaves behind: the cyclic GC's state, and whether Optuna loaded."""
    code = (
        "import contextlib, gc, io, sys\n"
        "from hpsweep.cli import console\n"
        f"sys.argv = ['hpsweep', *{list(argv)!r}]\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        "    console()\n"
        "print(gc.isenabled(), gc.get_freeze_count() > 0, 'optuna' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return done.stdout.split()


def test_the_program_loads_the_engine_first_only_for_commands_that_use_it() -> None:
    """``run`` (and ``create``, ``worker``, ``hunt``) import Optuna with the GC paused, then
    freeze it, and leave the GC on; the read-only commands load no Optuna at all."""
    assert console_state("run", "--help") == ["True", "True", "True"]
    assert console_state("--debug", "worker", "--help") == ["True", "True", "True"]
    assert console_state("studies", "--help") == ["True", "False", "False"]
    assert console_state("--help") == ["True", "False", "False"]


def test_the_report_function_survives_importing_every_subpackage() -> None:
    import importlib

    for name in ("results", "engine", "runner", "cli", "compat", "dialects", "space"):
        importlib.import_module(f"hpsweep.{name}")
    assert hpsweep.report is hpsweep.client.report
