from __future__ import annotations

from collections import Counter

import pytest

from hpsweep._errors import ConfigError
from hpsweep.runner._gpus import GpuSlots
from hpsweep.runner._gpus import detect_gpus
from hpsweep.runner._gpus import parse_gpus


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
