from __future__ import annotations

import ast
import ctypes
import json
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from hpsweep._errors import ConfigError
from hpsweep.runner._gpus import GpuSlots
from hpsweep.runner._gpus import detect_gpus
from hpsweep.runner._gpus import parse_gpus
from support import hpsweep
from support import stored_trials


def test_one_trial_per_gpu() -> None:
    slots = GpuSlots(["0", "1", "2", "3"])
    assert slots.capacity == 4
    envs = [slots.acquire(n) for n in range(4)]
    assert [e["CUDA_VISIBLE_DEVICES"] for e in envs] == ["0", "1", "2", "3"]
    assert all(e["HPSWEEP_GPUS"] == e["CUDA_VISIBLE_DEVICES"] for e in envs)
    with pytest.raises(RuntimeError):
        slots.acquire(4)
    slots.release(2)
    assert slots.acquire(5)["CUDA_VISIBLE_DEVICES"] == "2"


def test_per_gpu_shares_each_device_at_most_k_times() -> None:
    slots = GpuSlots(["0", "1"], per_gpu=3)
    assert slots.capacity == 6
    held = [slots.acquire(n)["CUDA_VISIBLE_DEVICES"] for n in range(6)]
    assert held[:2] == ["0", "1"]  # spread before stacking
    assert Counter(held) == {"0": 3, "1": 3}
    for number in range(100, 130):  # churn never gives a device to more than 3 trials
        slots.release(number - 100 if number < 106 else number - 1)
        held_now = Counter(g for g in slots._held.values())
        assert all(count <= 3 for count in held_now.values())
        slots.acquire(number)


def test_gpus_per_trial_groups_devices() -> None:
    slots = GpuSlots(["0", "1", "2", "3", "4"], gpus_per_trial=2)
    assert slots.capacity == 2
    assert slots.acquire(0)["CUDA_VISIBLE_DEVICES"] == "0,1"
    assert slots.acquire(1)["CUDA_VISIBLE_DEVICES"] == "2,3"


def test_invalid_requests() -> None:
    with pytest.raises(ConfigError, match="not both"):
        GpuSlots(["0", "1"], per_gpu=2, gpus_per_trial=2)
    with pytest.raises(ConfigError, match="needs at least that many GPUs"):
        GpuSlots(["0"], gpus_per_trial=2)
    with pytest.raises(ConfigError, match="distinct device ids"):
        parse_gpus("0,0")


def test_detection_reads_cuda_visible_devices_and_finds_none_on_a_cpu_machine() -> None:
    assert detect_gpus({"CUDA_VISIBLE_DEVICES": "2,5"}) == ["2", "5"]
    assert detect_gpus({"CUDA_VISIBLE_DEVICES": ""}) == []
    assert detect_gpus({"CUDA_VISIBLE_DEVICES": "-1"}) == []
    assert parse_gpus("1,3") == ["1", "3"] and parse_gpus("none") == []
    # this machine has no GPU and no nvidia-smi
    assert detect_gpus({"PATH": "/nonexistent"}) == []


# -- end to end: the CLI with a fake device list -------------------------------------------------

GPU_OBJECTIVE = """
import os, time
import hpsweep

def which(p):
    time.sleep(0.3)  # long enough for the slots to overlap
    seen = [os.environ.get("CUDA_VISIBLE_DEVICES"), os.environ.get("HPSWEEP_GPUS")]
    (hpsweep.trial_dir() / "gpus.txt").write_text(repr(seen))
    return p["x"]
"""


def _devices_seen(cwd: Path, *args: str) -> list[list[str | None]]:
    (cwd / "gpuobj.py").write_text(GPU_OBJECTIVE)
    hpsweep(cwd, "run", "-p", "x=float(0,1)", "-n", "4", "--objective", "gpuobj:which", *args)
    assert [t.state.name for t in stored_trials(cwd)] == ["COMPLETE"] * 4
    runs = cwd / "hpsweep-runs" / "default"
    return [ast.literal_eval((runs / f"trial-{n}" / "gpus.txt").read_text()) for n in range(4)]


@pytest.mark.parametrize(
    "args",
    [
        ("--gpus", "0"),  # one slot: -j 1, which would be a thread without GPUs
        ("--gpus", "0,1", "-j", "1"),
        ("--gpus", "0,1"),  # -j defaults to the 2 slots
        ("--gpus", "3,5", "--per-gpu", "2", "--executor", "process"),
    ],
)
def test_a_python_objective_sees_only_its_gpus(tmp_path: Path, args: tuple[str, ...]) -> None:
    devices = set(args[1].split(","))
    seen = _devices_seen(tmp_path, *args)
    assert len(seen) == 4
    for cuda, gpus in seen:
        assert cuda is not None and cuda == gpus and cuda in devices, seen
    assert {cuda for cuda, _ in seen} == devices  # every slot was used


def test_gpu_slots_refuse_threads_and_say_what_to_do(tmp_path: Path) -> None:
    (tmp_path / "gpuobj.py").write_text(GPU_OBJECTIVE)
    args = ("run", "-p", "x=float(0,1)", "-n", "1", "--objective", "gpuobj:which", "--gpus", "0")
    result = hpsweep(tmp_path, *args, "--executor", "thread", check=False)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "hpsweep: error: GPU slots give each trial its own CUDA_VISIBLE_DEVICES, which needs a "
        "process per trial, but executor is 'thread'; use executor: process (or auto)"
    ]
    assert not (tmp_path / "hpsweep.journal").exists()


# -- on a machine with NVIDIA GPUs: what CUDA itself sees in each trial ---------------------------

CUDA_TRIAL = r"""
import ctypes, json, os, sys, time

began = time.time()
cuda = ctypes.CDLL("libcuda.so.1")
assert cuda.cuInit(0) == 0, "cuInit failed"
count = ctypes.c_int()
assert cuda.cuDeviceGetCount(ctypes.byref(count)) == 0
uuids = []
for ordinal in range(count.value):
    device, uuid = ctypes.c_int(), (ctypes.c_ubyte * 16)()
    assert cuda.cuDeviceGet(ctypes.byref(device), ordinal) == 0
    assert cuda.cuDeviceGetUuid(uuid, device) == 0
    uuids.append(bytes(uuid).hex())
    # Hold memory on it while the other trials run, as training would.
    context, memory = ctypes.c_void_p(), ctypes.c_uint64()
    assert cuda.cuCtxCreate_v2(ctypes.byref(context), 0, device) == 0
    assert cuda.cuMemAlloc_v2(ctypes.byref(memory), 64 << 20) == 0
time.sleep(float(sys.argv[1]))
seen = {
    "cuda_visible": os.environ["CUDA_VISIBLE_DEVICES"],
    "hpsweep_gpus": os.environ["HPSWEEP_GPUS"],
    "uuids": uuids,
    "began": began,
    "ended": time.time(),
}
with open(os.path.join(os.environ["HPSWEEP_TRIAL_DIR"], "cuda.json"), "w") as out:
    json.dump(seen, out)
print('hpsweep: {"result": 0}')
"""


def _gpu_count() -> int:
    if shutil.which("nvidia-smi") is None:
        return 0
    try:
        ctypes.CDLL("libcuda.so.1")
    except OSError:
        return 0
    listed = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, check=False)
    return sum(line.startswith("GPU ") for line in listed.stdout.splitlines())


@pytest.mark.skipif(_gpu_count() == 0, reason="needs NVIDIA GPUs (nvidia-smi and libcuda)")
def test_on_real_gpus_each_trial_sees_only_its_devices(tmp_path: Path) -> None:
    """``--gpus auto --per-gpu 2``: each trial's CUDA sees exactly one device, always the same
    physical one (by UUID) for the same index, and never more than 2 trials hold one at once."""
    gpus = _gpu_count()
    (tmp_path / "cuda_trial.py").write_text(CUDA_TRIAL)
    n = 4 * gpus
    command = ("--", sys.executable, "cuda_trial.py", "1.0")
    hpsweep(
        tmp_path,
        "run",
        "-p",
        "x=int(0,100)",
        "-n",
        str(n),
        "--gpus",
        "auto",
        "--per-gpu",
        "2",
        *command,
    )
    assert [t.state.name for t in stored_trials(tmp_path)] == ["COMPLETE"] * n
    runs = tmp_path / "hpsweep-runs" / "default"
    seen = [json.loads((runs / f"trial-{k}" / "cuda.json").read_text()) for k in range(n)]
    uuid_of: dict[str, str] = {}
    for trial in seen:
        assert trial["cuda_visible"] == trial["hpsweep_gpus"]
        assert len(trial["uuids"]) == 1, trial  # CUDA itself sees one device, not all
        assert uuid_of.setdefault(trial["cuda_visible"], trial["uuids"][0]) == trial["uuids"][0]
    assert len(uuid_of) == gpus and len(set(uuid_of.values())) == gpus  # every GPU, each once
    for index in uuid_of:
        spans = [(t["began"], t["ended"]) for t in seen if t["cuda_visible"] == index]
        for moment, _ in spans:  # at the start of each trial, who else holds that GPU
            assert sum(began <= moment < ended for began, ended in spans) <= 2, spans
