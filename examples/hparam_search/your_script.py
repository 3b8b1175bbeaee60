"""The @hparam_search README's script, with the dummy training made instant. The only change for
hpsweep is the import.

    cd examples/hparam_search && python your_script.py [--set n_trials=8 tag=second_sweep]
"""

from __future__ import annotations

from typing import Any

from hpsweep.compat import hparam_search  # was: from hparam_search import hparam_search


def train_model(config: dict[str, Any]) -> float:
    """A dummy training function: receives the trial's config, returns the loss to minimize."""
    print("\n--- Starting Trial ---")
    print(f"  - Learning Rate: {config['learning_rate']}")
    print(f"  - Optimizer: {config['optimizer']}")
    print(f"  - Epochs: {config['num_epochs']}")
    print(f"  - Hidden Layers: {config['hidden_layers']}")
    if config["optimizer"] == "SGD" and not config["model"]["first_layer"]["bias"]:
        raise ValueError("SGD needs the bias")  # a failing configuration: the study goes on
    loss = 1.0 / config["learning_rate"] + (5 - config["hidden_layers"]) ** 2
    loss += 1000.0 / config["num_epochs"]
    print(f"  - Final Loss: {loss:.4f}")
    print("--- Finished Trial ---\n")
    return float(loss)


@hparam_search(config_path="config.yaml", save_db_directory="./optuna_studies")
def train(config: dict[str, Any]) -> float:
    return train_model(config)


if __name__ == "__main__":
    train()
