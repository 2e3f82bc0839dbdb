"""The distributed interior point (fairerm.solvers.dask_ipm) in one process: dask's synchronous scheduler.

Same algorithm and graph as on a cluster (tests/test_dask_distributed.py runs it on worker processes);
here fast, against the in-memory FairLinearSVC (an independent solver: DCD and its exact step) and the
cvxpy statement of the same problem.
"""

import numpy as np
import pytest

dask = pytest.importorskip("dask")

import dask.array as da  # noqa: E402

from fairerm import FairKernelSVC, FairLinearSVC, FairProjection  # noqa: E402
from fairerm.constraints import FairnessConstraint, constraint_vectors  # noqa: E402
from fairerm.datasets import make_synthetic_dask  # noqa: E402
from fairerm.exceptions import FairermTypeError, FairermValueError  # noqa: E402
from fairerm.problem_dask import DaskLinearFermProblem  # noqa: E402


@pytest.fixture(autouse=True)
def synchronous():
    with dask.config.set(scheduler="synchronous"):
        yield


def _check(X, y, s, *, C=1.0, epsilon=0.0, constraint="equal_opportunity", solver="cvxpy", **fit):
    Xl, yl, sl = (np.asarray(a.compute() if hasattr(a, "compute") else a) for a in (X, y, s))
    model = FairLinearSVC(C=C, epsilon=epsilon, constraint=constraint).fit(X, y, sensitive_features=s, **fit)
    local = {key: (value.compute() if hasattr(value, "compute") else value) for key, value in fit.items()}
    reference = FairLinearSVC(C=C, epsilon=epsilon, constraint=constraint, solver=solver, tol=1e-9).fit(
        Xl, yl, sensitive_features=sl, **local)
    assert model.solver_ == "dask_ipm" and model.status_ == "optimal"
    assert abs(model.objective_ - reference.objective_) <= 1e-6 * abs(reference.objective_)
    np.testing.assert_allclose(model.decision_function(Xl), reference.decision_function(Xl), atol=1e-5)
    np.testing.assert_allclose(model.constraint_vectors_, constraint_vectors(Xl, yl, sl, constraint, **local),
                               atol=1e-12)
    assert np.all(np.abs(model.constraint_value_) <= epsilon + 1e-9)
    return model


@pytest.mark.parametrize("epsilon", [0.0, 0.05])
def test_equals_cvxpy_two_groups(epsilon):
    X, y, s = make_synthetic_dask(600, 4, chunk_rows=150, random_state=1)
    _check(X, y, s, epsilon=epsilon)


@pytest.mark.parametrize("constraint, epsilon", [("demographic_parity", 0.0), ("demographic_parity", 0.02),
                                                 pytest.param("equalized_odds", 0.02, marks=pytest.mark.slow)])
def test_equals_in_memory_three_groups(constraint, epsilon):
    X, y, s = make_synthetic_dask(3_000, 5, chunk_rows=700, n_groups=3, random_state=2)
    _check(X, y, s, C=0.5, epsilon=epsilon, constraint=constraint, solver="dcd")


def test_string_labels_weights_and_float32():
    X, y, s = make_synthetic_dask(2_000, 4, chunk_rows=500, dtype=np.float32, random_state=3)
    labels = da.where(y > 0, "yes", "no")
    groups = da.where(s > 0, "b", "a")
    weights = da.random.RandomState(1).uniform(0.0, 2.0, size=2_000, chunks=500)
    model = _check(X, labels, groups, solver="dcd", sample_weight=weights)
    assert list(model.classes_) == ["no", "yes"] and list(model.groups_) == ["a", "b"]
    assert model.predict(X).compute().dtype.kind == "U"


def test_certificate_is_recomputed_and_a_short_budget_warns():
    X, y, s = make_synthetic_dask(1_000, 3, chunk_rows=250, random_state=4)
    with pytest.warns(Warning, match="dask_ipm"):
        model = FairLinearSVC(max_iter=3).fit(X, y, sensitive_features=s)
    assert model.status_ == "max_iter_reached" and not model.converged_
    assert model.solution_.certificate.relative_gap > model.solution_.certificate.gap_tol


def test_refusals_name_the_argument():
    X, y, s = make_synthetic_dask(400, 3, chunk_rows=100, random_state=5)
    with pytest.raises(FairermValueError, match="sensitive_features"):
        FairLinearSVC().fit(X, y)
    with pytest.raises(FairermValueError, match="sensitive_features must have 400 rows"):
        FairLinearSVC().fit(X, y, sensitive_features=s[:300])
    bad = da.where(da.arange(400)[:, None] == 7, np.nan, X)
    with pytest.raises(FairermValueError, match="NaN"):
        FairLinearSVC().fit(bad, y, sensitive_features=s)

    class Custom(FairnessConstraint):
        def weights(self, y_signed, sens, sample_weight=None):  # pragma: no cover - refused before
            raise AssertionError

    with pytest.raises(FairermTypeError, match="built-in notions"):
        DaskLinearFermProblem(X, y, s, 1.0, 0.0, Custom())
    with pytest.raises(FairermValueError, match="two classes"):
        FairLinearSVC().fit(X, da.zeros(400, chunks=100), sensitive_features=s)


def test_named_in_memory_solver_still_collects():
    X, y, s = make_synthetic_dask(500, 3, chunk_rows=100, random_state=6)
    model = FairLinearSVC(solver="dcd").fit(X, y, sensitive_features=s)
    assert model.solver_ == "dcd" and model.status_ == "optimal"


@pytest.mark.parametrize("constraint, n_groups", [("equal_opportunity", 2), ("demographic_parity", 3)])
def test_fair_projection_fits_on_chunks_and_transforms_lazily(constraint, n_groups):
    X, y, s = make_synthetic_dask(900, 4, chunk_rows=200, n_groups=n_groups, dtype=np.float32, random_state=7)
    Xl, yl, sl = (np.asarray(a.compute()) for a in (X, y, s))
    chunked = FairProjection(constraint).fit(X, y if constraint != "demographic_parity" else None,
                                             sensitive_features=s)
    local = FairProjection(constraint).fit(Xl, yl, sensitive_features=sl)
    np.testing.assert_allclose(chunked.constraint_vectors_, local.constraint_vectors_, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(np.abs(chunked.removed_directions_ @ local.removed_directions_.T),
                               np.eye(n_groups - 1), atol=1e-6)
    projected = chunked.transform(X)
    assert isinstance(projected, da.Array) and projected.dtype == np.float32 and projected.chunks[0] == X.chunks[0]
    np.testing.assert_allclose(projected.compute(), local.transform(Xl), atol=1e-5)
    assert np.abs(projected.compute().astype(float) @ local.constraint_vectors_.T).max() < 1e-4


@pytest.mark.parametrize("approximation", ["nystroem", "rff"])
def test_approximate_kernel_on_chunks_equals_linear_ferm_on_the_features(approximation):
    X, y, s = make_synthetic_dask(1_200, 3, chunk_rows=300, random_state=8)
    model = FairKernelSVC(C=1.0, epsilon=0.01, approximation=approximation, n_components=20,
                          random_state=0).fit(X, y, sensitive_features=s)
    assert model.solver_ == "dask_ipm" and model.status_ == "optimal" and model.n_components_ == 20
    Xl, yl, sl = (np.asarray(a.compute()) for a in (X, y, s))
    assert model.gamma_ == pytest.approx(1.0 / (3 * Xl.var()))
    Z = model.feature_map_.transform(Xl)
    reference = FairLinearSVC(C=1.0, epsilon=0.01, tol=1e-9).fit(Z, yl, sensitive_features=sl)
    assert abs(model.objective_ - reference.objective_) <= 1e-6 * reference.objective_
    np.testing.assert_allclose(model.decision_function(Xl), reference.decision_function(Z), atol=1e-5)
    lazy = model.decision_function(X)
    assert isinstance(lazy, da.Array)
    np.testing.assert_allclose(lazy.compute(), model.decision_function(Xl), atol=1e-10)
    with pytest.raises(FairermValueError, match="approximation"):
        FairKernelSVC().fit(X, y, sensitive_features=s)


def test_front_door_routes_a_dask_problem_and_refuses_in_memory_backends():
    from fairerm.solvers import solve

    X, y, s = make_synthetic_dask(400, 3, chunk_rows=100, random_state=9)
    problem = DaskLinearFermProblem(X, y, s, 1.0, 0.0)
    with pytest.raises(FairermValueError, match="needs the data in memory"):
        solve(problem, "dcd")
    with pytest.raises(FairermValueError, match="not options of the distributed solver"):
        solve(problem, "auto", options={"dask_ipm": {"shrinking": True}})
    seen = []
    solution = solve(problem, "auto", options={"dask_ipm": {"callback": lambda i, info: seen.append(i)}})
    assert solution.solver == "dask_ipm" and solution.converged and seen == list(range(len(seen)))
    assert solution.info["passes"] == 3 * solution.n_iter + 2  # A, B, C per iteration; the last A; the certificate


def test_intersectional_groups_from_a_dataframe():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    n = 1_200
    X = rng.standard_normal((n, 3))
    groups = pd.DataFrame({"sex": rng.integers(0, 2, n), "race": rng.choice(["u", "v"], n)})
    y = (X[:, 0] + 0.3 * groups["sex"].to_numpy() + rng.standard_normal(n) > 0).astype(int)
    reference = FairLinearSVC(tol=1e-9).fit(X, y, sensitive_features=groups)
    model = FairLinearSVC().fit(da.from_array(X, chunks=(300, 3)), y, sensitive_features=groups)
    assert model.status_ == "optimal"
    assert list(model.groups_) == list(reference.groups_) and model.constraint_labels_ == reference.constraint_labels_
    assert model.sensitive_feature_names_ == ["sex", "race"]
    assert abs(model.objective_ - reference.objective_) <= 1e-6 * reference.objective_
    np.testing.assert_allclose(model.decision_function(X), reference.decision_function(X), atol=1e-5)


def _one_large_column(scale, seed=5, n=2_000, column=1):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 4))
    s = rng.integers(0, 2, n)
    X[:, 0] += s
    y = (X[:, 0] + X[:, 1] + 0.5 * rng.standard_normal(n) > 0.5).astype(int)
    X[:, column] *= scale  # e.g. an amount in dollars next to standardised features
    return X, y, s


@pytest.mark.parametrize("scale", [1e-4, 1e4, 1e6])
@pytest.mark.parametrize("epsilon", [0.0, 0.1, 1.0])
def test_one_column_on_another_scale_gives_the_in_memory_model(scale, epsilon):
    """The distributed fit of rows with one column x1e4 (or x1e6, x1e-4) is the cvxpy fit of the same rows, and its
    certificate (duality gap and constraint recomputed from the chunks) holds."""
    X, y, s = _one_large_column(scale)
    reference = FairLinearSVC(epsilon=epsilon, solver="cvxpy", tol=1e-10).fit(X, y, sensitive_features=s)
    model = FairLinearSVC(epsilon=epsilon).fit(da.from_array(X, chunks=(400, 4)), y, sensitive_features=s)
    assert model.solver_ == "dask_ipm" and model.status_ == "optimal" and model.n_iter_ <= 30
    assert abs(model.objective_ - reference.objective_) <= 1e-6 * reference.objective_
    w, b = model.coef_[0], model.intercept_[0]
    signed = np.where(y == 1, 1.0, -1.0)
    recomputed = 0.5 * w @ w + np.maximum(0.0, 1.0 - signed * (X @ w + b)).sum()
    assert abs(recomputed - reference.objective_) <= 1e-6 * reference.objective_
    U = constraint_vectors(X, y, s, "equal_opportunity")
    assert np.max(np.abs(U @ w)) <= epsilon + 1e-9 * max(1.0, np.abs(U).max() * np.linalg.norm(w))
    assert model.solution_.certificate.holds


def test_a_step_of_length_zero_stops_the_iteration(monkeypatch):
    """When the step length stays 0 the iterate no longer moves: stop, honestly not converged, without more passes."""
    import fairerm.solvers.dask_ipm as ipm

    X, y, s = make_synthetic_dask(600, 3, chunk_rows=150, random_state=11)
    problem = DaskLinearFermProblem(X, y, s, 1.0, 0.1)
    monkeypatch.setattr(ipm, "_pass_c", lambda *args: {"min_ratio": 0.0})
    solution = ipm.solve_distributed(problem, max_iter=50)
    assert solution.backend_status == "stalled" and not solution.converged and solution.status == "stalled"
    assert solution.n_iter == ipm.STALL_STEPS - 1
    assert solution.info["passes"] == 3 * ipm.STALL_STEPS + 1  # A, B, C per iteration; the certificate
    assert np.isfinite(solution.certificate.relative_gap) and solution.certificate.relative_gap > 0


@pytest.mark.parametrize("scale, epsilon", [(1.0, 1e6), (1e4, 1e9)])
def test_an_inactive_constraint_with_a_large_epsilon(scale, epsilon):
    """epsilon far above |<w, u>|: the fairness rows start at their slack (z = epsilon), the fit is the plain SVM."""
    X, y, s = _one_large_column(scale)
    reference = FairLinearSVC(epsilon=epsilon, solver="cvxpy", tol=1e-10).fit(X, y, sensitive_features=s)
    model = FairLinearSVC(epsilon=epsilon).fit(da.from_array(X, chunks=(500, 4)), y, sensitive_features=s)
    assert model.status_ == "optimal" and model.n_iter_ <= 30
    assert abs(model.objective_ - reference.objective_) <= 1e-6 * reference.objective_
