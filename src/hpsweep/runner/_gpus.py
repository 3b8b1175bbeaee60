"""GPU slots: which devices a trial may use, without a cluster manager.

A device list (``--gpus 0,1`` or detected) is cut into slots: ``per_gpu`` trials share one device,
or one trial takes ``gpus_per_trial`` devices. The controller holds a slot for each running trial
and gives the trial only its devices through ``CUDA_VISIBLE_DEVICES`` and ``HPSWEEP_GPUS``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from collections.abc import Sequence

from hpsweep._errors import ConfigError


def detect_gpus(environ: Mapping[str, str] | None = None) -> list[str]:
    """Visible GPUs: ``CUDA_VISIBLE_DEVICES`` when set, else ``nvidia-smi -L``, else none."""
    env = os.environ if environ is None else environ
    visible = env.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return [d.strip() for d in visible.split(",") if d.strip() and d.strip() != "-1"]
    tool = shutil.which("nvidia-smi", path=env.get("PATH"))
    if tool is None:
        return []
    try:
        listing = subprocess.run([tool, "-L"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return []
    if listing.returncode != 0:
        return []
    return [str(i) for i, line in enumerate(listing.stdout.splitlines()) if line.startswith("GPU")]


def parse_gpus(text: str, environ: Mapping[str, str] | None = None) -> list[str]:
    """``auto`` (detect), ``none``, or a comma-separated list of device ids."""
    value = text.strip()
    if value.lower() == "auto":
        return detect_gpus(environ)
    if value.lower() in ("", "none"):
        return []
    devices = [d.strip() for d in value.split(",")]
    if any(not d for d in devices) or len(set(devices)) != len(devices):
        raise ConfigError(f"--gpus {text!r}: expected distinct device ids such as 0,1,2 or auto")
    return devices


class GpuSlots:
    """Hands out device groups to trials and takes them back."""

    def __init__(
        self, devices: Sequence[str], *, per_gpu: int = 1, gpus_per_trial: int = 1
    ) -> None:
        if per_gpu < 1 or gpus_per_trial < 1:
            raise ConfigError(
                f"--per-gpu and --gpus-per-trial must be >= 1, got "
                f"per_gpu={per_gpu}, gpus_per_trial={gpus_per_trial}"
            )
        if per_gpu > 1 and gpus_per_trial > 1:
            raise ConfigError(
                "give --per-gpu (trials share a GPU) or --gpus-per-trial (a trial "
                "spans GPUs), not both"
            )
        if gpus_per_trial > len(devices):
            raise ConfigError(
                f"--gpus-per-trial {gpus_per_trial} needs at least that many GPUs, "
                f"but only {len(devices)} are given ({','.join(devices) or 'none'})"
            )
        groups = [
            tuple(devices[i : i + gpus_per_trial])
            for i in range(0, len(devices) - gpus_per_trial + 1, gpus_per_trial)
        ]
        # Interleave so that with per_gpu=2 on 2 GPUs the first two trials land on different GPUs.
        self._free: list[tuple[str, ...]] = [g for _ in range(per_gpu) for g in groups]
        self._held: dict[int, tuple[str, ...]] = {}

    @property
    def capacity(self) -> int:
        return len(self._free) + len(self._held)

    def acquire(self, number: int) -> dict[str, str]:
        """The environment that pins trial ``number`` to its devices."""
        if not self._free:
            raise RuntimeError("no free GPU slot; the controller launches only into free slots")
        group = self._free.pop(0)
        self._held[number] = group
        devices = ",".join(group)
        return {"CUDA_VISIBLE_DEVICES": devices, "HPSWEEP_GPUS": devices}

    def release(self, number: int) -> None:
        group = self._held.pop(number, None)
        if group is not None:
            self._free.append(group)
