"""MMD and Sinkhorn divergences of fairerm.representation against independent references.

References: a direct numpy MMD U-statistic (scipy distances), POT's Sinkhorn plans and
``empirical_sinkhorn_divergence`` (those tests skip when POT is absent), a closed form for
translations, finite differences / autograd through unrolled iterations.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.spatial.distance import cdist, pdist

torch = pytest.importorskip("torch")

from fairerm.exceptions import ConvergenceWarning, FairermTypeError, FairermValueError  # noqa: E402
from fairerm.representation import (  # noqa: E402
    entropic_ot,
    group_divergence,
    median_bandwidth,
    mmd2_unbiased,
    sinkhorn_divergence,
)

pytestmark = pytest.mark.torch


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Small tensors run fastest on one thread (and a busy CI machine makes two much slower)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def numpy_mmd2_unbiased(x: np.ndarray, z: np.ndarray, sigma: float) -> float:
    """The U-statistic written out with explicit loops over i != j (the definition)."""
    k_xx = np.exp(-cdist(x, x, "sqeuclidean") / (2 * sigma**2))
    k_zz = np.exp(-cdist(z, z, "sqeuclidean") / (2 * sigma**2))
    k_xz = np.exp(-cdist(x, z, "sqeuclidean") / (2 * sigma**2))
    m, n = len(x), len(z)
    off_x = sum(k_xx[i, j] for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    off_z = sum(k_zz[i, j] for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    return off_x + off_z - 2.0 * k_xz.sum() / (m * n)


@pytest.fixture
def samples():
    rng = np.random.default_rng(7)
    return rng.normal(size=(25, 3)), rng.normal(size=(31, 3)) + np.array([0.7, 0.0, -0.3])


@pytest.mark.parametrize("sigma", [0.5, 1.3, None])
def test_mmd_matches_direct_numpy_computation(samples, sigma):
    x, z = samples
    reference_sigma = np.median(pdist(np.vstack([x, z]))) if sigma is None else sigma
    expected = numpy_mmd2_unbiased(x, z, reference_sigma)
    got = mmd2_unbiased(torch.tensor(x), torch.tensor(z), bandwidth=sigma)
    assert got.dtype == torch.float64
    assert float(got) == pytest.approx(expected, rel=1e-10, abs=1e-12)


def test_median_bandwidth_is_the_median_pairwise_distance(samples):
    x, z = samples
    assert median_bandwidth(x, z) == pytest.approx(np.median(pdist(np.vstack([x, z]))), rel=1e-12)


def test_mmd_is_unbiased_on_average_for_equal_distributions():
    rng = np.random.default_rng(0)
    values = [float(mmd2_unbiased(rng.normal(size=(20, 2)), rng.normal(size=(20, 2)), bandwidth=1.0)) for _ in range(300)]
    # Mean zero up to Monte-Carlo error; individual draws take both signs.
    assert abs(np.mean(values)) < 4 * np.std(values) / np.sqrt(len(values))
    assert min(values) < 0 < max(values)


def test_mmd_gradient_matches_finite_differences(samples):
    x, z = samples
    x_t = torch.tensor(x, requires_grad=True)
    mmd2_unbiased(x_t, torch.tensor(z), bandwidth=0.9).backward()
    step, (i, j) = 1e-6, (3, 1)
    plus, minus = x.copy(), x.copy()
    plus[i, j] += step
    minus[i, j] -= step
    numeric = (numpy_mmd2_unbiased(plus, z, 0.9) - numpy_mmd2_unbiased(minus, z, 0.9)) / (2 * step)
    assert float(x_t.grad[i, j]) == pytest.approx(numeric, rel=1e-5, abs=1e-9)


def kl_regularised_cost(a, b, cost, epsilon):
    """<P, C> + eps KL(P | a b^T) for POT's plan P: the primal value of entropic OT."""
    ot = pytest.importorskip("ot")
    plan = ot.sinkhorn(a, b, cost, epsilon, numItermax=200000, stopThr=1e-13)
    positive = plan > 0
    kl = np.sum(plan[positive] * np.log(plan[positive] / np.outer(a, b)[positive]))
    return float(np.sum(plan * cost) + epsilon * kl), plan


@pytest.mark.parametrize("epsilon", [0.3, 1.0, 4.0])
def test_entropic_ot_matches_pot_primal_value_and_plan(samples, epsilon):
    ot = pytest.importorskip("ot")  # POT is a test-only reference, never a runtime dependency
    x, z = samples
    a, b = np.full(len(x), 1 / len(x)), np.full(len(z), 1 / len(z))
    cost = ot.dist(x, z)
    primal, plan = kl_regularised_cost(a, b, cost, epsilon)
    result = entropic_ot(torch.tensor(x), torch.tensor(z), epsilon, tol=1e-11, max_iter=100000)
    assert result.converged
    assert float(result.value) == pytest.approx(primal, rel=1e-7)
    assert float(result.transport_cost) == pytest.approx(float(np.sum(plan * cost)), rel=1e-6)


def test_transport_cost_divergence_agrees_with_pot_empirical_sinkhorn_divergence(samples):
    """POT's divergence is built from <P, C> terms; rebuild it from our plans and compare."""
    ot = pytest.importorskip("ot")  # POT is a test-only reference, never a runtime dependency
    x, z = samples
    epsilon = 1.0

    def cost(u, v):
        return float(entropic_ot(torch.tensor(u), torch.tensor(v), epsilon, tol=1e-11, max_iter=100000).transport_cost)

    ours = cost(x, z) - 0.5 * (cost(x, x) + cost(z, z))
    reference = ot.bregman.empirical_sinkhorn_divergence(x, z, epsilon, numIterMax=100000, stopThr=1e-13)
    assert ours == pytest.approx(float(reference), rel=1e-5)


def test_sinkhorn_divergence_agrees_with_pot_built_kl_divergence(samples):
    ot = pytest.importorskip("ot")  # POT is a test-only reference, never a runtime dependency
    x, z = samples
    epsilon = 0.8

    def primal(u, v):
        return kl_regularised_cost(np.full(len(u), 1 / len(u)), np.full(len(v), 1 / len(v)), ot.dist(u, v), epsilon)[0]

    reference = primal(x, z) - 0.5 * (primal(x, x) + primal(z, z))
    got = float(sinkhorn_divergence(torch.tensor(x), torch.tensor(z), epsilon, tol=1e-10, max_iter=100000))
    assert got == pytest.approx(reference, rel=1e-6)


def test_sinkhorn_divergence_is_zero_for_identical_samples_and_positive_otherwise(samples):
    x, z = samples
    x_t = torch.tensor(x)
    assert abs(float(sinkhorn_divergence(x_t, x_t, 0.5))) < 1e-12
    assert abs(float(sinkhorn_divergence(x_t, x_t.clone(), 0.5, tol=1e-8, max_iter=20000))) < 1e-6
    permuted = torch.tensor(x[np.random.default_rng(1).permutation(len(x))])
    assert abs(float(sinkhorn_divergence(x_t, permuted, 0.5, tol=1e-8, max_iter=20000))) < 1e-6
    for shift in (0.1, 0.5, 2.0):
        assert float(sinkhorn_divergence(x_t, x_t + shift, 0.5)) > 1e-4
    assert float(sinkhorn_divergence(x, z)) > 0.05


@pytest.mark.parametrize("epsilon", [0.5, 5.0])
def test_sinkhorn_divergence_of_a_translation_is_the_squared_shift(epsilon):
    """Closed form: |x_i - x_j - t|^2 differs from |x_i - x_j|^2 by terms separable in i and j,
    which the marginal constraints turn into the constant |t|^2, so S_eps(x, x + t) = |t|^2
    for every eps."""
    x = np.random.default_rng(3).normal(size=(30, 2))
    shift = np.array([1.5, -0.5])
    # The value settles long before the marginal error reaches a tight tol at small eps.
    value = float(sinkhorn_divergence(x, x + shift, epsilon, tol=1e-7, max_iter=5000, warn=False))
    assert value == pytest.approx(np.sum(shift**2), rel=1e-4)


def test_envelope_gradient_matches_autograd_through_unrolled_iterations(samples):
    x, z = samples
    epsilon = 0.7
    x_t = torch.tensor(x, requires_grad=True)
    entropic_ot(x_t, torch.tensor(z), epsilon, tol=1e-12, max_iter=100000).value.backward()
    envelope = x_t.grad.clone()

    x_u = torch.tensor(x, requires_grad=True)
    cost = torch.cdist(x_u, torch.tensor(z)) ** 2
    log_a = torch.full((len(x),), -np.log(len(x)), dtype=torch.float64)
    log_b = torch.full((len(z),), -np.log(len(z)), dtype=torch.float64)
    g = torch.zeros(len(z), dtype=torch.float64)
    for _ in range(3000):
        f = -epsilon * torch.logsumexp(log_b[None, :] + (g[None, :] - cost) / epsilon, dim=1)
        g = -epsilon * torch.logsumexp(log_a[:, None] + (f[:, None] - cost) / epsilon, dim=0)
    (log_a.exp() @ f + log_b.exp() @ g).backward()
    np.testing.assert_allclose(envelope.numpy(), x_u.grad.numpy(), rtol=1e-6, atol=1e-10)


def test_symmetric_self_transport_gradient_matches_finite_differences():
    x = np.random.default_rng(5).normal(size=(12, 2))
    x_t = torch.tensor(x, requires_grad=True)
    epsilon = 0.5
    entropic_ot(x_t, x_t, epsilon, tol=1e-13, max_iter=100000).value.backward()
    step, (i, j) = 1e-5, (4, 0)
    values = []
    for sign in (1, -1):
        moved = x.copy()
        moved[i, j] += sign * step
        values.append(float(entropic_ot(moved, moved, epsilon, tol=1e-13, max_iter=100000).value))
    assert float(x_t.grad[i, j]) == pytest.approx((values[0] - values[1]) / (2 * step), rel=1e-4)


def test_sinkhorn_warns_when_iterations_run_out(samples):
    x, z = samples
    with pytest.warns(ConvergenceWarning, match="max_iter=2"):
        result = entropic_ot(x, z, 0.05, max_iter=2)
    assert not result.converged and result.n_iter == 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        entropic_ot(x, z, 0.05, max_iter=2, warn=False)


def test_group_divergence_averages_over_pairs_of_groups():
    rng = np.random.default_rng(11)
    Z = rng.normal(size=(90, 2))
    groups = np.repeat(["a", "b", "c"], 30)
    Z[groups == "c"] += 1.0
    sigma = np.median(pdist(Z))
    parts = [Z[groups == g] for g in "abc"]
    expected = np.mean(
        [numpy_mmd2_unbiased(parts[0], parts[1], sigma), numpy_mmd2_unbiased(parts[0], parts[2], sigma), numpy_mmd2_unbiased(parts[1], parts[2], sigma)]
    )
    assert group_divergence(Z, groups) == pytest.approx(expected, rel=1e-9)
    assert group_divergence(Z, groups, divergence="sinkhorn") > 0


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: mmd2_unbiased(np.zeros((1, 2)), np.zeros((3, 2))), "x has 1 point"),
        (lambda: mmd2_unbiased(np.zeros((3, 2)), np.zeros((3, 3))), "same dimension"),
        (lambda: mmd2_unbiased(np.ones((3, 2)), np.zeros((3, 2)), bandwidth=-1.0), "bandwidth"),
        (lambda: sinkhorn_divergence(np.ones((3, 2)), np.zeros((3, 2)), epsilon=0.0), "epsilon"),
        (lambda: group_divergence(np.zeros((4, 2)), [0, 0, 1, 1], divergence="wasserstein"), "divergence"),
    ],
)
def test_divergence_bad_input_raises_clear_errors(call, match):
    with pytest.raises(FairermValueError, match=match):
        call()


@pytest.mark.parametrize("options, error, match", [
    (dict(bandwidth="a"), FairermTypeError, r"bandwidth must be a Real; got 'a' of type str"),
    (dict(bandwidth=np.array([1.0, 2.0])), FairermTypeError, "bandwidth must be a Real"),
    (dict(divergence="sinkhorn", epsilon="0.1"), FairermTypeError, "epsilon must be a Real"),
    (dict(divergence="sinkhorn", epsilon=-1.0), FairermValueError, r"epsilon must be > 0.0; got -1.0"),
])
def test_group_divergence_checks_its_bandwidth_and_epsilon(options, error, match):
    with pytest.raises(error, match=match):
        group_divergence(np.random.default_rng(0).normal(size=(20, 2)), [0] * 10 + [1] * 10, **options)
