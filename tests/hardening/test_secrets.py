"""Secrets and isolation: passwords never reach an output or the study; files follow the user's
umask; a trial's environment is the user's plus hpsweep's variables; nothing is evaluated."""

from __future__ import annotations

import io
import json
import os
import re
import stat
import sys
from pathlib import Path

import pytest

from hpsweep._config import SweepConfig
from hpsweep._config import load_config
from hpsweep._errors import ConfigError
from hpsweep._progress import PlainProgress
from hpsweep.engine import mask_url
from hpsweep.engine import open_store

from .conftest import ROOT
from .conftest import cli
from .conftest import cli_process

SECRET = "s3cr#t"
URLS = [
    f"postgresql://user:{SECRET}@db.example:5432/studies",
    f"postgresql+psycopg://user:{SECRET}@db.example/studies?sslmode=require",
    f"postgresql://user:p@ss/w{SECRET}@127.0.0.1:1/db",  # '@' and '/' in the password
    f"mysql://root:{SECRET}@127.0.0.1:1/db",
    f"postgresql://db.example/studies?user=u&password={SECRET}",
    f"ftp://u:{SECRET}@host/x",
]


@pytest.mark.parametrize("url", URLS)
def test_mask_url_hides_every_password(url: str) -> None:
    masked = mask_url(url)
    assert SECRET not in masked and "***" in masked
    assert mask_url(masked) == masked


def test_mask_url_keeps_what_is_not_a_secret() -> None:
    assert mask_url("postgresql://user@host/db") == "postgresql://user@host/db"
    assert mask_url("sqlite:////tmp/a:b@c.db") == "sqlite:////tmp/a:b@c.db"
    assert mask_url("hpsweep.journal") == "hpsweep.journal"
    assert mask_url("postgresql://u:pw@h:5432/db") == "postgresql://u:***@h:5432/db"


@pytest.mark.parametrize("url", URLS[2:])  # reachable by none: each fails to open
@pytest.mark.parametrize("command", ["info", "trials", "run", "doctor"])
def test_errors_never_show_a_password(url: str, command: str, workdir: Path) -> None:
    argv = [command, "--storage", url]
    if command == "run":
        argv = ["run", "-q", "-n", "1", "-p", "x=float(0,1)", "--storage", url, "--", "true"]
    result = cli(*argv)
    assert result.code != 0
    assert SECRET not in result.out + result.err
    assert len(result.err_lines) == 1 and "***" in result.err, result.err


def test_progress_and_summary_never_show_a_password(workdir: Path) -> None:
    from hpsweep._controller import Controller
    from hpsweep._controller import run_summary_line
    from hpsweep.engine import open_study
    from hpsweep.runner import InProcessExecutor
    from hpsweep.space import Float
    from hpsweep.space import SearchSpace

    config = SweepConfig(
        study="s", storage=URLS[0], n_trials=3, space=SearchSpace({"x": Float(0, 1)})
    )
    store = open_store("s.journal")
    store.url = URLS[0]  # a server database's URL, as the controller sees it
    out = io.StringIO()
    try:
        study = open_study(config, store)
        controller = Controller(
            config,
            store,
            study,
            InProcessExecutor(lambda p: p["x"], jobs=1),
            progress=PlainProgress(stream=out),
        )
        summary = controller.run()
    finally:
        store.close()
    assert SECRET not in out.getvalue() + run_summary_line(summary) + summary.storage
    assert "***" in summary.storage


def test_the_stored_config_holds_no_password(workdir: Path) -> None:
    from hpsweep.engine import open_study
    from hpsweep.engine._study import stored_config

    store = open_store("s.journal")
    try:
        study = open_study(SweepConfig(study="s", storage=URLS[0]), store)
        config = stored_config(study)
    finally:
        store.close()
    assert config is not None
    assert "storage" not in config
    assert SECRET.encode() not in (workdir / "s.journal").read_bytes()


def test_the_html_report_shows_no_password(workdir: Path) -> None:
    pytest.importorskip("plotly")
    assert cli("run", "-q", "-n", "2", "-p", "x=float(0,1)", "--", "true").code == 0
    store = open_store("hpsweep.journal")
    store.storage.set_study_user_attr(
        0, "hpsweep.config", {"study": "default", "storage": URLS[0]}
    )
    store.close()  # a config stored by an older hpsweep, password and all
    result = cli("report", "-o", "r.html")
    assert result.code == 0, result.err
    page = (workdir / "r.html").read_text()
    if SECRET in page:
        pytest.fail("the HTML report shows a stored storage URL's password")


# -- files follow the user's umask ---------------------------------------------------------------

TRIAL = "import json, sys; print('hpsweep: ' + json.dumps({'result': float(sys.argv[1])}))\n"


@pytest.mark.parametrize("umask", [0o002, 0o022, 0o077])
@pytest.mark.parametrize("storage", ["hpsweep.journal", "sqlite:///s.db"])
def test_files_and_dirs_follow_the_umask(umask: int, storage: str, tmp_path: Path) -> None:
    script = tmp_path.parent / f"{tmp_path.name}-trial.py"
    script.write_text(TRIAL)
    result = cli_process(
        *("run", "-n", "2", "-p", "x=float(0,1)", "--storage", storage, "--"),
        *(sys.executable, str(script), "{x}"),
        cwd=tmp_path,
        preexec_fn=lambda: os.umask(umask),
    )
    assert result.code == 0, result.err
    created = [p for p in tmp_path.rglob("*") if "__pycache__" not in p.parts]
    assert any(p.name == "stdout.log" for p in created) and len(created) > 5
    for path in created:
        mode = stat.S_IMODE(path.lstat().st_mode)
        assert mode & umask == 0, f"{path.relative_to(tmp_path)} is {oct(mode)} (umask {umask:o})"
        assert not mode & stat.S_IWOTH


# -- a trial's environment -----------------------------------------------------------------------

DUMP = """
import json, os
with open(os.path.join(os.environ["HPSWEEP_TRIAL_DIR"], "env.json"), "w") as out:
    json.dump(dict(os.environ), out)
print('hpsweep: {"result": 1.0}')
"""
OURS = re.compile(r"^(HPSWEEP_|ORION_)|^(CUDA_VISIBLE_DEVICES)$")


def test_a_trial_sees_the_users_environment_plus_hpsweeps_only(tmp_path: Path) -> None:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("HPSWEEP_", "PYTEST_", "COV_"))
    }
    env["USER_SETTING"] = "kept as is"
    (tmp_path / "dump.py").write_text(DUMP)
    result = cli_process(
        *("run", "-n", "1", "-p", "x=float(0,1)", "--", sys.executable, "dump.py"),
        cwd=tmp_path,
        env=env,
    )
    assert result.code == 0, result.err
    seen = json.loads(next(tmp_path.rglob("env.json")).read_text())
    added = {key for key in seen if key not in env}
    assert added and all(OURS.match(key) for key in added), sorted(added)
    changed = {key for key in env if key in seen and seen[key] != env[key]}
    assert changed <= {key for key in changed if OURS.match(key)}, sorted(changed)
    assert seen["USER_SETTING"] == "kept as is"
    assert set(env) <= set(seen)  # nothing of the user's is taken away


# -- nothing is evaluated ------------------------------------------------------------------------

EVAL_CALL = re.compile(r"(?<![\w.])(eval|exec)\s*\(")


def test_no_eval_or_exec_in_the_source() -> None:
    offenders = []
    for path in sorted((ROOT / "src").rglob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#", 1)[0]
            if EVAL_CALL.search(code) and not code.lstrip().startswith(("def ", '"', "'")):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not offenders, offenders


@pytest.mark.parametrize(
    "tag",
    [
        "!!python/object/apply:os.system [touch pwned]",
        "!!python/object:os.system {}",
        "!!python/name:os.system",
        "!!python/module:os",
    ],
)
def test_python_tags_in_a_config_are_rejected(tag: str, tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(f"study: {tag}\n")
    with pytest.raises(ConfigError) as error:
        load_config(path, environ={})
    assert str(error.value).startswith(f"{path}: line 1, column 8: could not determine a ")
    assert "fix the YAML syntax" in str(error.value)
    assert not (tmp_path / "pwned").exists()
