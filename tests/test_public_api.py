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


def test_the_report_function_survives_importing_every_subpackage() -> None:
    import importlib

    for name in ("results", "engine", "runner", "cli", "compat", "dialects", "space"):
        importlib.import_module(f"hpsweep.{name}")
    assert hpsweep.report is hpsweep.client.report
