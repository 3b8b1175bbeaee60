"""The template's ``main.py`` (optimization mode), as a project built from it keeps it: Optuna
drives the study, ``OptimizeConfig`` builds it, ``PFLPruner`` prunes from inside the training
loop. The only changes for hpsweep are the imports marked ``# was:`` below (the run config is
a dict here, where the template has its ``RunConfig`` class).

    python main.py --run_config run_template.yaml --optimize_config optimize_template.yaml
"""

from __future__ import annotations

import argparse
import copy
from typing import Any

import optuna
import yaml
from train import val_losses

from hpsweep.compat.axect import OptimizeConfig  # was: from config import OptimizeConfig
from hpsweep.compat.axect import PFLPruner  # was: from pruner import PFLPruner
from hpsweep.compat.axect import gen_group_name  # was: RunConfig.gen_group_name


def run(
    run_config: dict[str, Any],
    group_name: str,
    trial: optuna.Trial | None = None,
    pruner: PFLPruner | None = None,
) -> float:
    """The template's ``util.run``: every seed in turn, the pruner asked after every validation
    epoch, any crash turned into a pruned trial; the mean final loss over the seeds."""
    if pruner is not None and trial is not None:
        pruner.register_trial(trial.number)
    finals = []
    try:
        for seed in run_config["seeds"]:
            loss = float("nan")
            for epoch, loss in enumerate(val_losses(run_config, seed)):
                if pruner is not None and trial is not None:
                    pruner.report(trial.number, seed, epoch, loss)
                    if pruner.should_prune():
                        raise optuna.TrialPruned()
            finals.append(loss)
    except optuna.TrialPruned:
        raise
    except Exception as e:
        print(f"Runtime error during training: {e}")
        raise optuna.TrialPruned() from e
    finally:
        if pruner is not None and trial is not None:
            pruner.complete_trial(trial.number)
    return sum(finals) / len(finals)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--run_config", type=str, required=True)
    parser.add_argument("--optimize_config", type=str)
    args = parser.parse_args()

    with open(args.run_config) as file:
        base_config = yaml.safe_load(file)

    if not args.optimize_config:
        run(base_config, gen_group_name(base_config))
        return

    optimize_config = OptimizeConfig.from_yaml(args.optimize_config)
    pruner = optimize_config.create_pruner()
    assert pruner is None or isinstance(pruner, PFLPruner)  # run() speaks PFLPruner's protocol

    def objective(trial: optuna.Trial) -> float:
        params = optimize_config.suggest_params(trial)
        config = copy.deepcopy(base_config)
        config["project"] = f"{base_config['project']}_Opt"
        for category, category_params in params.items():
            config[category].update(category_params)
        group_name = gen_group_name(config) + f"[{trial.number}]"
        trial.set_user_attr("group_name", group_name)
        return run(config, group_name, trial=trial, pruner=pruner)

    study = optimize_config.create_study(project=f"{base_config['project']}_Opt")
    study.optimize(objective, n_trials=optimize_config.trials)

    print("Best trial:")
    trial = study.best_trial
    print(f"  Value: {trial.value}")
    print("  Params: ")
    for key, value in trial.params.items():
        print(f"    {key}: {value}")
    print(f"  Path: runs/{base_config['project']}_Opt/{trial.user_attrs['group_name']}")


if __name__ == "__main__":
    main()
