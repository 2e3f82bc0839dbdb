"""Early stopping keeps the epoch with the lowest validation loss (as scikit-learn's MLP: tol governs the
patience counter only), and best_epoch_ / status_ say what happened.

The rule is tested on scripted loss sequences (``_run_epoch`` replaced; each training epoch stamps its
number into the network's weights, so the restored weights say which epoch they are), then on a seeded tiny
fit whose returned network is re-evaluated on the validation split."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from fairerm.representation import FairRepresentation, _training  # noqa: E402
from fairerm.representation._training import TrainingConfig, TrainingData, train_network  # noqa: E402

pytestmark = [pytest.mark.torch]


def config(**params) -> TrainingConfig:
    options = dict(penalty="mmd", penalty_weight=0.0, bandwidth=None, epsilon=None, sinkhorn_max_iter=10,
                   batch_size=4, max_epochs=50, learning_rate=1e-3, weight_decay=0.0, early_stopping=True,
                   n_iter_no_change=3, tol=0.05, verbose=0, device=torch.device("cpu"))
    options.update(params)
    return TrainingConfig(**options)


def tiny_data() -> TrainingData:
    return TrainingData(features=torch.zeros(4, 1), targets=torch.zeros(4, 1), codes=torch.tensor([0, 0, 1, 1]),
                        binary=torch.tensor([False]))


def scripted_run(monkeypatch, val_losses, train_losses=None, validation=True, **params):
    """Train a 1-weight network on scripted losses; return (result, the epoch stamped in the final weights)."""
    train_losses = list(val_losses) if train_losses is None else train_losses
    epoch = {"n": 0}

    def fake_epoch(network, optimiser, data, batches, penalty, cfg, train):
        if train:
            epoch["n"] += 1
            with torch.no_grad():
                network.weight.fill_(float(epoch["n"]))
            loss = train_losses[epoch["n"] - 1]
        else:
            loss = val_losses[epoch["n"] - 1]
        return {"loss": loss, "task_loss": loss, "penalty": math.nan}

    monkeypatch.setattr(_training, "_run_epoch", fake_epoch)
    network = torch.nn.Linear(1, 1, bias=False)
    result = train_network(network, tiny_data(), tiny_data() if validation else None, config(**params),
                           np.random.default_rng(0))
    return result, int(network.weight.item())


def test_improvements_smaller_than_tol_still_make_the_best_epoch(monkeypatch):
    # epoch 2 beats epoch 1 by more than tol; epochs 3-5 each improve by 0.01 < tol: the patience runs out at
    # epoch 5, whose loss is the lowest, so its weights are kept.
    result, stamped = scripted_run(monkeypatch, [1.0, 0.9, 0.89, 0.88, 0.87, 0.95, 0.96])
    assert result.stopped_early and result.n_epochs == 5
    assert result.best_epoch == 5 and stamped == 5
    assert "stopped at epoch 5" in result.status and "last such improvement at epoch 2" in result.status
    assert "lowest 0.87 at epoch 5" in result.status and "weights of epoch 5 restored" in result.status


def test_a_worse_epoch_is_not_kept(monkeypatch):
    result, stamped = scripted_run(monkeypatch, [1.0, 0.5, 0.7, 0.6, 0.55, 0.4])
    assert result.stopped_early and result.n_epochs == 5
    assert result.best_epoch == 2 and stamped == 2


def test_max_epochs_status_does_not_claim_improvement_by_more_than_tol(monkeypatch):
    # Small steady improvements: never more than tol after epoch 1, never n_iter_no_change stale epochs either.
    result, stamped = scripted_run(monkeypatch, [1.0, 0.99, 0.98, 0.97], max_epochs=4, n_iter_no_change=10)
    assert not result.stopped_early and result.n_epochs == 4
    assert result.best_epoch == 4 and stamped == 4
    assert "still improving" not in result.status
    assert "max_epochs=4 reached before the stopping rule was met" in result.status
    assert "by more than tol=0.05 was at epoch 1, 3 epoch(s) before the end" in result.status


def test_without_validation_the_training_loss_is_monitored_and_the_last_weights_kept(monkeypatch):
    result, stamped = scripted_run(monkeypatch, None, train_losses=[1.0, 0.9, 0.89, 0.95, 0.97, 0.98],
                                   validation=False, early_stopping=False)
    assert result.stopped_early and result.n_epochs == 5
    assert result.best_epoch == 3 and stamped == 5
    assert "training loss" in result.status and "weights of the last epoch (5) kept" in result.status


def test_fitted_model_has_the_lowest_validation_loss_of_its_history(monkeypatch):
    """A seeded tiny fit: the returned network, re-evaluated on the validation split, has min(val_loss)."""
    captured = {}
    original = _training.train_network

    def spy(network, data, validation, cfg, rng):
        captured["validation"], captured["config"] = validation, cfg
        return original(network, data, validation, cfg, rng)

    monkeypatch.setattr(_training, "train_network", spy)
    rng = np.random.default_rng(0)
    n = 400
    s = rng.integers(0, 2, n)
    X = rng.normal(size=(n, 4)) + s[:, None]
    Y = (X[:, 0] + rng.normal(size=n) > 0.5).astype(int)
    model = FairRepresentation(representation_dim=3, hidden_layer_sizes=(8,), batch_size=64, max_epochs=15,
                               early_stopping=True, n_iter_no_change=20, tol=0.05, learning_rate=1e-2, random_state=0,
                               validation_fraction=0.25)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, Y, sensitive_features=s)
    validation, cfg = captured["validation"], captured["config"]
    batches = _training.stratified_batches(validation.codes.numpy(), cfg.batch_size, np.random.default_rng(0))
    with torch.no_grad():
        kept = _training._run_epoch(model.network_, None, validation, batches, _training.make_penalty(cfg), cfg,
                                    train=False)["loss"]
    history = np.asarray(model.history_["val_loss"])
    assert model.best_epoch_ == int(np.argmin(history)) + 1
    assert kept == pytest.approx(history.min(), rel=1e-6)
    assert f"at epoch {model.best_epoch_}" in model.status_ and "still improving" not in model.status_
