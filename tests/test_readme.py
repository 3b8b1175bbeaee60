"""The README's commands work as written."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from support import clean_env

ROOT = Path(__file__).resolve().parents[1]


def readme_command(name: str) -> str:
    text = (ROOT / "README.md").read_text()
    match = re.search(rf"<!-- readme-command: {name} -->\s*```bash\n(.+?)\n```", text, re.S)
    assert match, f"README has no {name} command"
    return match.group(1).strip()


def test_the_quickstart_command_runs_the_quickstart(tmp_path: Path) -> None:
    command = readme_command("quickstart")
    setup, _, run = command.partition(" && ")
    assert setup == "scripts/setup"  # the set-up step itself is what CI runs first
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    venv_bin = Path(os.environ.get("VIRTUAL_ENV", ROOT / ".venv")) / "bin"
    argv = run.split()
    argv[0] = str(venv_bin / "hpsweep") if argv[0] == ".venv/bin/hpsweep" else argv[0]
    env = clean_env()
    result = subprocess.run(
        argv, cwd=tmp_path, capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "30 in the study" in result.stderr
    assert (tmp_path / "hpsweep.journal").exists()


def test_the_test_command_is_what_ci_runs() -> None:
    assert readme_command("tests") == "scripts/test"
    assert "scripts/test" in (ROOT / ".ci" / "run").read_text()
