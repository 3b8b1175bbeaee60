"""The user guide: its links resolve and the examples it names run."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from support import clean_env

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted((ROOT / "docs").glob("*.md"))


@pytest.mark.parametrize("page", DOCS, ids=lambda p: p.name)
def test_links_resolve(page: Path) -> None:
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", page.read_text()):
        if "://" in target:
            continue
        assert (page.parent / target).exists(), f"{page.name} links to missing {target}"


def test_every_page_is_in_the_index() -> None:
    index = (ROOT / "docs" / "README.md").read_text()
    for page in DOCS:
        if page.name != "README.md":
            assert f"({page.name})" in index, f"docs/README.md does not list {page.name}"


def test_the_optuna_migration_example_runs(tmp_path: Path) -> None:
    env = clean_env()
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "migrations" / "from_optuna.py")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("best ")
    assert (tmp_path / "hpsweep.journal").exists()


def _sweep_yaml_blocks() -> list[tuple[str, str]]:
    """Every ```yaml block of the guide whose keys are all sweep-config keys (other blocks are
    other tools' files, the dialects' tests read those)."""
    import yaml

    from hpsweep._config import KEYS

    blocks = []
    for page in DOCS:
        for number, text in enumerate(re.findall(r"```yaml\n(.*?)```", page.read_text(), re.S)):
            document = yaml.safe_load(text)
            if isinstance(document, dict) and document and set(document) <= set(KEYS):
                blocks.append((f"{page.name}#{number}", text))
    return blocks


@pytest.mark.parametrize(("where", "text"), _sweep_yaml_blocks(), ids=lambda v: str(v)[:30])
def test_every_sweep_yaml_in_the_guide_loads(tmp_path: Path, where: str, text: str) -> None:
    from hpsweep._config import load_config

    path = tmp_path / "sweep.yaml"
    path.write_text(text)
    load_config(path, environ={})  # a ConfigError names what the page gets wrong


def test_the_quickstart_command_trial_runs_as_written(tmp_path: Path) -> None:
    import shlex

    [line] = [
        line
        for line in (ROOT / "docs" / "quickstart.md").read_text().splitlines()
        if "examples/train.py" in line
    ]
    (tmp_path / "examples").mkdir()
    (tmp_path / "examples" / "train.py").write_text((ROOT / "examples" / "train.py").read_text())
    argv = []
    for word in shlex.split(line):
        if word == ".venv/bin/hpsweep":
            argv += [sys.executable, "-m", "hpsweep"]
        else:
            argv.append(sys.executable if word == ".venv/bin/python" else word)
    result = subprocess.run(
        argv, cwd=tmp_path, env=clean_env(), capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert "20 complete this run" in result.stderr or "pruned" in result.stderr, result.stderr
