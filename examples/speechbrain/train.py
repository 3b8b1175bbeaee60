#!/usr/bin/env python3
"""A speaker-id recipe in the shape of SpeechBrain's hyperparameter-optimization template.

The "model" is a formula, so a trial takes milliseconds on a CPU; everything around it is the
template's: the hpopt context, ``parse_arguments``, HyperPyYAML overrides, one ``report_result``
per validation epoch, the checkpoint guarded by ``ckpt_enable`` and the output folder named after
the trial id. The only change for hpsweep is the import.
"""

import math
import sys
from pathlib import Path

from hyperpyyaml import load_hyperpyyaml

from hpsweep.compat import speechbrain as hp  # was: from speechbrain.utils import hpopt as hp


def fit(hparams):
    """One validation per epoch: the error falls with training, fastest near emb_dim=256 and
    lr=3e-3."""
    save_folder = Path(hparams["save_folder"])
    for epoch in range(1, hparams["number_of_epochs"] + 1):
        gap = abs(math.log2(hparams["emb_dim"] / 256)) / 4 + abs(math.log10(hparams["lr"] / 3e-3))
        error = 0.05 + 0.5 * gap + 0.2 / epoch + hparams["tdnn_channels"] / 1e5
        stats = {"loss": 2 * error, "error": error}
        hp.report_result(stats)  # in the template: on_stage_end(sb.Stage.VALID)
        if hparams["ckpt_enable"]:
            save_folder.mkdir(parents=True, exist_ok=True)
            (save_folder / f"CKPT-epoch-{epoch}.txt").write_text(f"{stats}\n")
    return stats


if __name__ == "__main__":
    with hp.hyperparameter_optimization(objective_key="error") as hp_ctx:
        hparams_file, run_opts, overrides = hp_ctx.parse_arguments(
            sys.argv[1:], pass_trial_id=False
        )
        with open(hparams_file) as fin:
            hparams = load_hyperpyyaml(fin, overrides)
        output_folder = Path(hparams["output_folder"])  # sb.create_experiment_directory
        output_folder.mkdir(parents=True, exist_ok=True)
        (output_folder / "hyperparams.txt").write_text(f"{hparams}\n")
        stats = fit(hparams)
        if not hp_ctx.enabled:
            print(f"Test error: {stats['error']:.4f}", file=sys.stderr)
