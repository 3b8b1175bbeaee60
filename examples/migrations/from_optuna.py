"""An Optuna objective moved to hpsweep: the same search, with hpsweep's store, budgets and
pruning. Run it: `python examples/migrations/from_optuna.py` (docs/coming-from-optuna.md)."""

from __future__ import annotations

import math

import hpsweep


# Optuna:
#   def objective(trial):
#       lr = trial.suggest_float("lr", 1e-4, 1e-1, log=True)
#       layers = trial.suggest_int("layers", 1, 4)
#       for epoch in range(10):
#           loss = ...
#           trial.report(loss, epoch)
#           if trial.should_prune():
#               raise optuna.TrialPruned()
#       return loss
#   optuna.create_study(storage="sqlite:///x.db").optimize(objective, n_trials=40)
def objective(p: dict[str, float]) -> float:
    loss = 1.0
    for epoch in range(10):
        loss = (math.log10(p["lr"]) + 2) ** 2 / 4 + (p["layers"] - 3) ** 2 / 10 + 1 / (epoch + 1)
        hpsweep.report(loss, step=epoch)
        if hpsweep.should_prune():
            raise hpsweep.TrialPruned()
    return loss


def main() -> None:
    result = hpsweep.run(
        objective,
        space={"lr": hpsweep.Float(1e-4, 1e-1, log=True), "layers": hpsweep.Int(1, 4)},
        n_trials=40,  # the study's total: running this again adds nothing
        study="from-optuna",
        seed=0,
    )
    print(f"best {result.best_value:.4f} with {result.best_params}")


if __name__ == "__main__":
    main()
