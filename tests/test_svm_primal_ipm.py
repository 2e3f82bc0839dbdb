"""The primal-form interior-point method of the exact working-set step, against the cvxpy statement."""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pytest

from fairerm.solvers._svm_ipm import svm_ipm
from fairerm.solvers._svm_primal_ipm import reduced_gap_holds, svm_primal_ipm


def _problem(m, d, scale, seed, with_pull):
    r"""Rows; with a pull, the working-set problem of a solved one, as the exact step forms it.

    The whole problem's points strictly inside the margin at its optimum (:math:`y_if_i < 0.9`) are
    held at their box: their hinge terms are linear, :math:`c_i(1 - y_i(\langle w,x_i\rangle + b + o_i))`,
    i.e. the pull :math:`p = \sum c_iy_ix_i`, :math:`p_b = \sum c_iy_i`; the other rows are the working set.
    """
    rng = np.random.default_rng(seed)
    X = (rng.normal(size=(m, d)) + 0.5 * rng.integers(0, 2, m)[:, None]) * scale
    y = np.where(X[:, 0] / scale + 0.5 * rng.normal(size=m) > 0.2, 1.0, -1.0)
    upper = rng.uniform(0.5, 2.0, m)
    if not with_pull:
        return X, y, upper, None, None, 0.0
    offsets = rng.normal(scale=0.3, size=m)
    whole = svm_primal_ipm(X, y, upper, offsets=offsets)
    assert whole.status == "optimal"
    bound = y * (X @ whole.w + whole.b + offsets) < 0.9
    pull, pull_b = X[bound].T @ (upper[bound] * y[bound]), float(upper[bound] @ y[bound])
    keep = ~bound
    return X[keep], y[keep], upper[keep], offsets[keep], pull, pull_b


def _cvxpy_value(X, y, upper, offsets, pull, pull_b):
    m, d = X.shape
    w, b = cp.Variable(d), cp.Variable()
    o = np.zeros(m) if offsets is None else offsets
    p = np.zeros(d) if pull is None else pull
    objective = 0.5 * cp.sum_squares(w) - p @ w - pull_b * b + upper @ cp.pos(1 - cp.multiply(y, X @ w + b + o))
    problem = cp.Problem(cp.Minimize(objective))
    problem.solve(solver="CLARABEL")
    return problem.value


def _value(X, y, upper, offsets, pull, pull_b, w, b):
    o = np.zeros(len(y)) if offsets is None else offsets
    p = np.zeros(X.shape[1]) if pull is None else pull
    return 0.5 * w @ w - p @ w - pull_b * b + upper @ np.maximum(0.0, 1.0 - y * (X @ w + b + o))


@pytest.mark.parametrize("scale", [1e-6, 1.0, 1e3, 1e6])
@pytest.mark.parametrize("with_pull", [False, True])
def test_primal_ipm_matches_the_cvxpy_statement_at_every_scale(scale, with_pull):
    X, y, upper, offsets, pull, pull_b = _problem(1500, 5, scale, seed=int(np.log10(scale) + 7), with_pull=with_pull)
    result = svm_primal_ipm(X, y, upper, offsets=offsets, pull=pull, pull_intercept=pull_b)
    assert result.status == "optimal" and result.gap <= 1e-10
    value = _value(X, y, upper, offsets, pull, pull_b, result.w, result.b)
    reference = _cvxpy_value(X, y, upper, offsets, pull, pull_b)
    assert value <= reference + 1e-7 * (1.0 + abs(reference))
    assert value == pytest.approx(reference, rel=1e-6, abs=1e-6)
    assert reduced_gap_holds(result, X, y, upper, offsets=offsets, pull=pull, pull_intercept=pull_b)
    assert np.all((result.alpha >= 0.0) & (result.alpha <= upper))


def test_an_alpha_form_result_that_cancels_is_not_accepted():
    """At feature scale 1e6 the alpha-form method's w = p + A'alpha cancels; the recomputed gap says so."""
    X, y, upper, offsets, pull, pull_b = _problem(1500, 5, 1e6, seed=3, with_pull=True)
    dual_form = svm_ipm(X, y, upper, offsets=offsets, pull=pull, pull_intercept=pull_b)
    primal_form = svm_primal_ipm(X, y, upper, offsets=offsets, pull=pull, pull_intercept=pull_b)
    assert primal_form.status == "optimal"
    assert not reduced_gap_holds(dual_form, X, y, upper, offsets=offsets, pull=pull, pull_intercept=pull_b)
    assert (_value(X, y, upper, offsets, pull, pull_b, dual_form.w, dual_form.b)
            > _value(X, y, upper, offsets, pull, pull_b, primal_form.w, primal_form.b))


def test_an_unbounded_problem_is_reported():
    X, y, upper, *_ = _problem(50, 3, 1.0, seed=0, with_pull=False)
    result = svm_primal_ipm(X, y, upper, pull_intercept=10.0 * float(upper.sum()))
    assert result.status == "infeasible_dual"
