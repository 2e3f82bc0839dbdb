"""Sample weights in FairRepresentation and in the divergences, against independent references.

Weights are frequency weights (scikit-learn's convention). References: the unweighted estimators
on the sample with repeated rows (numpy U-statistic, numpy median of scipy's pdist), POT's
Sinkhorn plans on the weighted marginals, and fits on repeated / dropped rows.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import cdist, pdist

torch = pytest.importorskip("torch")

from fairerm.exceptions import FairermTypeError, FairermValueError  # noqa: E402
from fairerm.representation import FairRepresentation, median_bandwidth, mmd2_unbiased, sinkhorn_divergence  # noqa: E402

pytestmark = [pytest.mark.torch, pytest.mark.filterwarnings("ignore::fairerm.exceptions.ConvergenceWarning")]


@pytest.fixture(autouse=True)
def one_torch_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def numpy_mmd2_unbiased(x, z, sigma):
    """The U-statistic written out with loops over i != j (the definition)."""
    def mean_kernel(u, v, same):
        k = np.exp(-cdist(u, v, "sqeuclidean") / (2 * sigma**2))
        if not same:
            return k.mean()
        return sum(k[i, j] for i in range(len(u)) for j in range(len(u)) if i != j) / (len(u) * (len(u) - 1))

    return mean_kernel(x, x, True) + mean_kernel(z, z, True) - 2 * mean_kernel(x, z, False)


@pytest.fixture
def weighted_samples():
    rng = np.random.default_rng(5)
    x, z = rng.normal(size=(12, 3)), rng.normal(size=(15, 3)) + 0.6
    wx, wz = rng.integers(0, 4, 12), rng.integers(0, 4, 15)
    wx[0], wz[0] = 2, 3  # at least some weight in each
    return x, z, wx, wz


@pytest.mark.parametrize("sigma", [0.8, None])
def test_weighted_mmd_equals_the_u_statistic_of_repeated_rows(weighted_samples, sigma):
    x, z, wx, wz = weighted_samples
    x_rep, z_rep = np.repeat(x, wx, axis=0), np.repeat(z, wz, axis=0)
    reference_sigma = np.median(pdist(np.vstack([x_rep, z_rep]))) if sigma is None else sigma
    expected = numpy_mmd2_unbiased(x_rep, z_rep, reference_sigma)
    got = mmd2_unbiased(x, z, sigma, x_weights=wx, z_weights=wz)
    assert float(got) == pytest.approx(expected, rel=1e-10, abs=1e-13)
    assert median_bandwidth(x, z, weights=[wx, wz]) == pytest.approx(np.median(pdist(np.vstack([x_rep, z_rep]))), rel=1e-12)
    # unit weights are no weights; zero weights are dropped rows (the explicit bandwidth keeps the kernel fixed)
    assert float(mmd2_unbiased(x, z, 0.8, x_weights=np.ones(12), z_weights=np.ones(15))) == pytest.approx(
        float(mmd2_unbiased(x, z, 0.8)), rel=1e-12)
    keep_x, keep_z = wx > 0, wz > 0
    assert float(mmd2_unbiased(x, z, 0.8, x_weights=keep_x * 1.0, z_weights=keep_z * 1.0)) == pytest.approx(
        numpy_mmd2_unbiased(x[keep_x], z[keep_z], 0.8), rel=1e-10)


def test_weighted_mmd_with_real_weights_matches_a_loop_over_the_definition():
    """Non-integer weights: (sum_ij w_i w_j k_ij - sum_i w_i) / (W (W - 1)) within, w'Kv / (W V) across."""
    rng = np.random.default_rng(8)
    x, z = rng.normal(size=(9, 2)), rng.normal(size=(7, 2))
    wx, wz = rng.uniform(0.2, 2.5, 9), rng.uniform(0.2, 2.5, 7)
    sigma = 1.1
    k = lambda u, v: np.exp(-np.sum((u - v) ** 2) / (2 * sigma**2))  # noqa: E731

    def within(points, w):
        total = w.sum()
        pairs = sum(w[i] * w[j] * k(points[i], points[j]) for i in range(len(points)) for j in range(len(points)))
        return (pairs - total) / (total * (total - 1))

    cross = sum(wx[i] * wz[j] * k(x[i], z[j]) for i in range(9) for j in range(7)) / (wx.sum() * wz.sum())
    expected = within(x, wx) + within(z, wz) - 2 * cross
    assert float(mmd2_unbiased(x, z, sigma, x_weights=wx, z_weights=wz)) == pytest.approx(expected, rel=1e-10)
    # a gradient flows to the points (the weights are data, not parameters)
    x_t = torch.tensor(x, requires_grad=True)
    mmd2_unbiased(x_t, z, sigma, x_weights=wx, z_weights=wz).backward()
    assert torch.isfinite(x_t.grad).all() and float(x_t.grad.abs().sum()) > 0


def pot_primal(a, b, x, z, epsilon):
    ot = pytest.importorskip("ot")
    cost = ot.dist(x, z)
    plan = ot.sinkhorn(a, b, cost, epsilon, numItermax=200000, stopThr=1e-13)
    positive = plan > 0
    kl = np.sum(plan[positive] * np.log(plan[positive] / np.outer(a, b)[positive]))
    return float(np.sum(plan * cost) + epsilon * kl)


def test_weighted_sinkhorn_divergence_matches_pot_on_the_weighted_marginals(weighted_samples):
    pytest.importorskip("ot")  # POT is a test-only reference
    x, z, wx, wz = weighted_samples
    keep_x, keep_z = wx > 0, wz > 0
    a, b = wx[keep_x] / wx.sum(), wz[keep_z] / wz.sum()
    xs, zs = x[keep_x], z[keep_z]
    epsilon = 0.7
    reference = pot_primal(a, b, xs, zs, epsilon) - 0.5 * (pot_primal(a, a, xs, xs, epsilon) + pot_primal(b, b, zs, zs, epsilon))
    got = float(sinkhorn_divergence(x, z, epsilon, x_weights=wx, z_weights=wz, tol=1e-10, max_iter=100000))
    assert got == pytest.approx(reference, rel=1e-6)
    # integer weights are repeated rows, also for the default (weighted median) epsilon
    repeated = float(sinkhorn_divergence(np.repeat(x, wx, axis=0), np.repeat(z, wz, axis=0), tol=1e-10, max_iter=100000))
    assert float(sinkhorn_divergence(x, z, x_weights=wx, z_weights=wz, tol=1e-10, max_iter=100000)) == pytest.approx(repeated, rel=1e-6)
    same = torch.tensor(x)
    assert abs(float(sinkhorn_divergence(same, same, 0.5, x_weights=wx, z_weights=wx))) < 1e-12


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda x: mmd2_unbiased(x, x + 1, 1.0, x_weights=np.ones(5)), "x_weights must have shape \\(6,\\)"),
        (lambda x: mmd2_unbiased(x, x + 1, 1.0, x_weights=-np.ones(6)), "non-negative"),
        (lambda x: mmd2_unbiased(x, x + 1, 1.0, z_weights=np.full(6, np.nan)), "finite"),
        (lambda x: mmd2_unbiased(x, x + 1, 1.0, x_weights=np.full(6, 0.1)), "total weight above 1"),
        (lambda x: sinkhorn_divergence(x, x + 1, 1.0, x_weights=np.zeros(6)), "sum to 0"),
    ],
)
def test_weighted_divergences_refuse_bad_weights(call, match):
    with pytest.raises(FairermValueError, match=match):
        call(np.random.default_rng(0).normal(size=(6, 2)))


# ------------------------------------------------------------------ the estimator
def make_data(n=120, seed=0):
    rng = np.random.default_rng(seed)
    s = rng.integers(0, 2, n)
    X = rng.normal(size=(n, 5)) + 0.8 * s[:, None]
    Y = np.column_stack([(X[:, 0] + 0.5 * rng.normal(size=n) > 0.5).astype(int), X[:, 1] + X[:, 2] + 0.3 * rng.normal(size=n)])
    return X, Y, s


def model(**params):
    options = dict(hidden_layer_sizes=(16,), representation_dim=4, max_epochs=6, learning_rate=5e-3, random_state=0, tol=0.0)
    options.update(params)
    return FairRepresentation(**options)


@pytest.mark.parametrize("penalty", ["mmd", "sinkhorn"])
def test_training_objective_with_integer_weights_equals_repeated_rows(penalty):
    """Same parameters, same loss terms: the weighted full-sample objective and the repeated-rows one."""
    from fairerm.representation._network import MultiTaskNetwork
    from fairerm.representation._training import TrainingConfig, TrainingData, batch_objective, make_penalty

    X, Y, s = make_data()
    w = np.random.default_rng(1).integers(1, 4, len(s))
    config = TrainingConfig(penalty=penalty, penalty_weight=3.0, bandwidth=None, epsilon=None, sinkhorn_max_iter=500,
                            batch_size=1000, max_epochs=1, learning_rate=1e-3, weight_decay=0.0, early_stopping=False,
                            n_iter_no_change=1, tol=0.0, verbose=0, device=torch.device("cpu"), reconstruction_weight=0.5)
    network = MultiTaskNetwork(5, (16,), 4, 2, "relu", np.random.default_rng(0), reconstruct=True).double()

    def data(rows, weights):
        t = lambda a: torch.as_tensor(a, dtype=torch.float64)  # noqa: E731
        return TrainingData(t(X[rows]), t(Y[rows]), torch.as_tensor(s[rows]), torch.tensor([True, False]),
                            None if weights is None else t(weights), t(X[rows]))

    repeated = np.repeat(np.arange(len(s)), w)
    weighted_terms = batch_objective(network, data(np.arange(len(s)), w * 1.0), torch.arange(len(s)), make_penalty(config), config)
    repeated_terms = batch_objective(network, data(repeated, None), torch.arange(len(repeated)), make_penalty(config), config)
    for key in ("loss", "task_loss", "reconstruction", "penalty"):
        assert float(weighted_terms[key].detach()) == pytest.approx(float(repeated_terms[key].detach()), rel=1e-7, abs=1e-10), key


@pytest.mark.parametrize("penalty", ["mmd", "sinkhorn"])
def test_fit_with_integer_weights_equals_fit_on_repeated_rows(penalty):
    """One batch per epoch (batch_size above the repeated sample), so both fits see the same batches;
    they differ only by float32 rounding of the sums."""
    X, Y, s = make_data()
    w = np.random.default_rng(2).integers(1, 4, len(s))
    repeated = np.repeat(np.arange(len(s)), w)
    options = dict(penalty=penalty, penalty_weight=2.0, batch_size=1000, reconstruction_weight=0.5, sinkhorn_max_iter=300)
    weighted = model(**options).fit(X, Y, sensitive_features=s, sample_weight=w)
    plain = model(**options).fit(X[repeated], Y[repeated], sensitive_features=s[repeated])
    np.testing.assert_allclose(weighted.transform(X), plain.transform(X), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(weighted.history_["loss"], plain.history_["loss"], rtol=1e-4)
    assert weighted.tasks_[1].mean == pytest.approx(Y[repeated, 1].mean()) and weighted.tasks_[1].scale == pytest.approx(Y[repeated, 1].std())


def test_zero_weight_is_a_dropped_row_also_with_mini_batches_and_early_stopping():
    X, Y, s = make_data(200)
    w = np.ones(len(s))
    w[::7] = 0.0
    keep = w > 0
    options = dict(batch_size=32, early_stopping=True, validation_fraction=0.2, n_iter_no_change=3, penalty_weight=5.0)
    zero = model(**options).fit(X, Y, sensitive_features=s, sample_weight=w)
    dropped = model(**options).fit(X[keep], Y[keep], sensitive_features=s[keep], sample_weight=np.ones(keep.sum()))
    np.testing.assert_array_equal(zero.transform(X), dropped.transform(X))
    assert zero.history_ == dropped.history_
    unweighted = model(**options).fit(X[keep], Y[keep], sensitive_features=s[keep])
    np.testing.assert_allclose(zero.transform(X), unweighted.transform(X), rtol=1e-4, atol=1e-5)


def test_weights_change_the_fit():
    X, Y, s = make_data()
    w = np.where(Y[:, 0] == 1, 5.0, 1.0)
    assert not np.allclose(model().fit(X, Y, sensitive_features=s, sample_weight=w).transform(X),
                           model().fit(X, Y, sensitive_features=s).transform(X))


@pytest.mark.parametrize(
    "weights, error, match",
    [
        (np.ones(119), FairermValueError, "sample_weight must have shape \\(120,\\)"),
        (np.ones((120, 1)), FairermValueError, "sample_weight must have shape \\(120,\\)"),
        (np.r_[np.nan, np.ones(119)], FairermValueError, "NaN or infinite"),
        (np.r_[np.inf, np.ones(119)], FairermValueError, "NaN or infinite"),
        (np.r_[-1.0, np.ones(119)], FairermValueError, "negative"),
        (np.zeros(120), FairermValueError, "zero for every row"),
        (np.array(["a"] * 120), FairermTypeError, "sample_weight must hold numbers"),
        (np.full(120, 1e37), FairermValueError, "beyond the network's float32 range"),
        (np.full(120, 1e-3), FairermValueError, "total weight .* per batch"),
    ],
)
def test_bad_sample_weight_is_refused_with_a_clear_error(weights, error, match):
    X, Y, s = make_data()
    with pytest.raises(error, match=match):
        model(max_epochs=1).fit(X, Y, sensitive_features=s, sample_weight=weights)


def test_a_group_with_only_zero_weights_is_refused():
    X, Y, s = make_data()
    with pytest.raises(FairermValueError, match="two groups"):
        model(max_epochs=1).fit(X, Y, sensitive_features=s, sample_weight=(s == 1) * 1.0)


def test_metadata_routing_requests_sample_weight_like_sensitive_features():
    sklearn = pytest.importorskip("sklearn")
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, Y, s = make_data()
    w = np.random.default_rng(3).integers(1, 3, len(s)) * 1.0
    scaled = StandardScaler().fit_transform(X)
    with sklearn.config_context(enable_metadata_routing=True):
        step = model().set_fit_request(sensitive_features=True, sample_weight=True)
        pipeline = make_pipeline(StandardScaler().set_fit_request(sample_weight=False), step)
        pipeline.fit(X, Y, sensitive_features=s, sample_weight=w)
    direct = model().fit(scaled, Y, sensitive_features=s, sample_weight=w)
    np.testing.assert_allclose(pipeline.transform(X), direct.transform(StandardScaler().fit(X).transform(X)), rtol=1e-6)
    unweighted = model().fit(scaled, Y, sensitive_features=s)
    assert not np.allclose(pipeline.transform(X), unweighted.transform(StandardScaler().fit(X).transform(X)))
    # fit_transform passes it on too
    np.testing.assert_array_equal(model().fit_transform(scaled, Y, sensitive_features=s, sample_weight=w), direct.transform(scaled))


def _labelled_frame(X, Y, s):
    """A binary 0/1 column, a binary "no"/"yes" column and a regression column, as a DataFrame."""
    import pandas as pd

    return pd.DataFrame({"click": Y[:, 0], "answer": np.where(X[:, 3] > 0, "yes", "no"), "amount": Y[:, 1]})


def test_zero_weight_rows_do_not_decide_task_types_or_classes():
    """Labels seen only in zero-weight rows (a 2 in a 0/1 column, a third string label) are no classes: the fit
    is the fit without those rows (was: the 0/1 column became a regression task, the string column an error)."""
    X, Y, s = make_data()
    frame = _labelled_frame(X, Y, s)
    frame.loc[0, "click"], frame.loc[1, "answer"] = 2, "maybe"
    w = np.ones(len(s))
    w[[0, 1]] = 0.0
    keep = w > 0
    options = dict(batch_size=1000, penalty_weight=2.0)
    zero = model(**options).fit(X, frame, sensitive_features=s, sample_weight=w)
    dropped = model(**options).fit(X[keep], frame[keep], sensitive_features=s[keep], sample_weight=w[keep])
    plain = model(**options).fit(X[keep], frame[keep], sensitive_features=s[keep])
    assert [t.kind for t in zero.tasks_] == [t.kind for t in plain.tasks_] == ["binary", "binary", "regression"]
    np.testing.assert_array_equal(zero.classes_[0], [0, 1])
    np.testing.assert_array_equal(zero.classes_[1], ["no", "yes"])
    assert zero.tasks_[2].mean == dropped.tasks_[2].mean and zero.tasks_[2].scale == dropped.tasks_[2].scale
    np.testing.assert_array_equal(zero.transform(X), dropped.transform(X))
    np.testing.assert_array_equal(zero.predict(X), dropped.predict(X))
    assert zero.history_ == dropped.history_
    # and the unweighted fit without the rows, up to float32 rounding of the weighted means
    np.testing.assert_allclose(zero.transform(X), plain.transform(X), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(zero.decision_function(X), plain.decision_function(X), rtol=1e-6, atol=1e-6)


def test_a_class_present_only_in_zero_weight_rows_is_refused_as_for_dropped_rows():
    X, Y, s = make_data()
    y = np.zeros(len(s), dtype=int)
    y[:3] = 1
    w = np.ones(len(s))
    w[:3] = 0.0
    with pytest.raises(FairermValueError, match="single value"):
        model(max_epochs=1).fit(X[3:], y[3:], sensitive_features=s[3:])
    with pytest.raises(FairermValueError, match="single value"):
        model(max_epochs=1).fit(X, y, sensitive_features=s, sample_weight=w)
    with pytest.raises(FairermValueError, match="exactly two classes"):
        model(max_epochs=1, task_types="binary").fit(X, y, sensitive_features=s, sample_weight=w)
