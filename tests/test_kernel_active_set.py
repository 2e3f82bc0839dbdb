"""Kernel FERM with eps > 0 from a cold start: the guessed active set (issue 18).

A cold fit first solves the unconstrained SVM to a loose tolerance to learn which constraints it
violates (``fairerm.solvers.kernel_smo._guess_active_set``), then the active set starts from that
guess. The guess must only change where the active set starts: every fit below is compared with the
same fit without a guess (``GUESS_TOL_FACTOR = 0``), with the plain cvxpy statement, and its constraint
is recomputed from the fitted attributes.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics.pairwise import rbf_kernel

import fairerm.solvers.kernel_smo as kernel_smo
from fairerm import FairKernelSVC
from fairerm.constraints import constraint_weights
from fairerm.datasets import make_synthetic

GAMMA, TOL = 0.2, 1e-5


def _data(n: int, n_groups: int = 2, seed: int = 3):
    d = make_synthetic(n_samples=n, include_sensitive=False, bias=1.5, random_state=seed)
    X, y, s = np.asarray(d.data, dtype=float), np.asarray(d.target), np.asarray(d.sensitive)
    if n_groups > 2:  # intersectional-style groups: each group split by a random attribute
        other = np.random.default_rng(seed).integers(0, n_groups // 2, size=n)
        s = np.array([f"{g}{o}" for g, o in zip(s, other)])
    return X, y, s


def _constraint_values(model, X, y, s):
    """<w, u_j> recomputed from the fitted attributes and an independent kernel (sklearn's)."""
    weights = constraint_weights(y, s).weights
    f = model.decision_function(X) - float(model.intercept_[0])
    return weights @ f


def _fit(X, y, s, epsilon, **kwargs):
    return FairKernelSVC(C=1.0, gamma=GAMMA, epsilon=epsilon, tol=TOL, **kwargs).fit(X, y, sensitive_features=s)


def _unguessed(monkeypatch, X, y, s, epsilon):
    with monkeypatch.context() as patch:
        patch.setattr(kernel_smo, "GUESS_TOL_FACTOR", 0.0)
        return _fit(X, y, s, epsilon)


def _same_fit(model, reference, X, y, s, epsilon):
    assert model.status_ == "optimal" and reference.status_ == "optimal"
    assert model.solution_.dual_objective == pytest.approx(reference.solution_.dual_objective, rel=1e-6)
    np.testing.assert_allclose(model.decision_function(X), reference.decision_function(X), atol=1e-3)
    values = _constraint_values(model, X, y, s)
    assert np.max(np.abs(values)) <= epsilon + 1e-6
    np.testing.assert_allclose(values, model.constraint_value_, atol=1e-8)


def test_a_cold_fit_guesses_the_active_constraint_and_solves_once_with_it(monkeypatch):
    X, y, s = _data(1500)
    calls = []
    real = kernel_smo.solve_svm_dual

    def recording(*args, **kwargs):
        result = real(*args, **kwargs)
        calls.append((kwargs["tol"], kwargs["low_rank"] is not None))
        return result

    monkeypatch.setattr(kernel_smo, "solve_svm_dual", recording)
    model = _fit(X, y, s, 0.02)
    # the loose unconstrained solve, then the constrained one (no unconstrained solve to TOL)
    assert calls[:2] == [(kernel_smo.GUESS_TOL_FACTOR * TOL, False), (TOL, True)]
    assert all(low_rank for _, low_rank in calls[1:])
    reference = _unguessed(monkeypatch, X, y, s, 0.02)
    _same_fit(model, reference, X, y, s, 0.02)
    assert abs(model.constraint_value_[0]) == pytest.approx(0.02, rel=1e-6)  # active
    assert model.n_iter_ < reference.n_iter_


@pytest.mark.parametrize("forced", ["wrong_sign", "missed", "needless"])
def test_a_wrong_guess_costs_a_solve_and_changes_no_result(monkeypatch, forced):
    """Guessed with the wrong sign, guessed inactive although active, guessed active although the unconstrained
    optimum is feasible: the active set corrects each, and the fit equals the unguessed one."""
    X, y, s = _data(1200)
    unconstrained = abs(float(_fit(X, y, s, 1e6).constraint_value_[0]))
    epsilon = 2.0 * unconstrained if forced == "needless" else 0.3 * unconstrained
    real = kernel_smo._guess_active_set

    def forced_guess(*args, **kwargs):
        guess = real(*args, **kwargs)
        if forced == "wrong_sign":
            assert guess, "the constraint is active: the real guess holds it"
            return {j: -sign for j, sign in guess.items()}
        if forced == "missed":
            return {}
        assert not guess, "the unconstrained optimum is feasible: the real guess is empty"
        return {0: 1.0}

    monkeypatch.setattr(kernel_smo, "_guess_active_set", forced_guess)
    model = _fit(X, y, s, epsilon)
    monkeypatch.undo()
    _same_fit(model, _unguessed(monkeypatch, X, y, s, epsilon), X, y, s, epsilon)
    assert model.solution_.info["n_svm_solves"] >= 3  # the guess, the wrong set, the right one


def test_several_constraints_guessed_match_cvxpy(monkeypatch):
    """Four groups, three constraint rows: the guess holds the violated ones it can hold together; the fit
    matches the unguessed one and the plain cvxpy statement of the same problem."""
    X, y, s = _data(240, n_groups=4, seed=5)
    epsilon = 0.01
    model = _fit(X, y, s, epsilon)
    _same_fit(model, _unguessed(monkeypatch, X, y, s, epsilon), X, y, s, epsilon)
    qp = _fit(X, y, s, epsilon, solver="cvxpy")
    assert model.solution_.dual_objective == pytest.approx(qp.solution_.dual_objective, rel=1e-5)
    # the interior-point QP solver's own accuracy: 1.5e-3 and 1.7e-3 at 2 of the 240 points, 3e-5 at the median
    np.testing.assert_allclose(model.decision_function(X), qp.decision_function(X), atol=5e-3)
    assert np.median(np.abs(model.decision_function(X) - qp.decision_function(X))) <= 1e-4
    K = rbf_kernel(X, X, gamma=GAMMA)  # the constraint from an independent kernel, too
    weights = constraint_weights(y, s).weights
    expansion = np.zeros(X.shape[0])
    expansion[model.expansion_indices_] = model.expansion_coef_
    assert np.max(np.abs(weights @ K @ expansion)) <= epsilon + 1e-6
