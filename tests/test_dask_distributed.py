"""Linear FERM on dask arrays that no process holds: the distributed interior point on a local cluster.

The cluster (``LocalCluster(processes=True)``: 2 worker processes, 1 thread each, loopback only, a
memory limit per worker) runs in a subprocess started by the test, so the test process is only a
*client*, as on a real cluster: its traced memory is the client's, not the scheduler's. The data are
generated chunk by chunk on the workers (:func:`fairerm.datasets.make_synthetic_dask`); the oracle is
the in-memory :class:`~fairerm.FairLinearSVC` on the same rows, computed here.
"""

import os
import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")
pytestmark = pytest.mark.slow  # a cluster of worker processes: seconds to start, ~0.1 s a pass on 2 shared cores

import dask.array as da  # noqa: E402

from fairerm import FairLinearSVC  # noqa: E402
from fairerm.datasets import make_synthetic_dask  # noqa: E402
from fairerm.exceptions import SolverError  # noqa: E402
from fairerm.problem_dask import DaskLinearFermProblem  # noqa: E402
from fairerm.solvers.dask_ipm import solve_distributed  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
_SERVE = """
import sys, distributed
cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                   dashboard_address=None, memory_limit="400MiB", silence_logs=50)
print(cluster.scheduler_address, flush=True)
sys.stdin.read()
cluster.close()
"""


@pytest.fixture(scope="module")
def client():
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    server = subprocess.Popen([sys.executable, "-c", _SERVE], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True, env=env)
    address = server.stdout.readline().strip()
    assert address.startswith("tcp://127.0.0.1:"), address
    client = distributed.Client(address)
    try:
        yield client
    finally:
        client.close()
        server.stdin.close()
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:  # pragma: no cover
            server.kill()


def _reference(X, y, s, **params):
    """The in-memory fit on the same rows (the oracle), and the rows."""
    Xl, yl, sl = (np.asarray(a.compute()) for a in (X, y, s))
    return FairLinearSVC(tol=1e-9, **params).fit(Xl, yl, sensitive_features=sl), Xl


def _assert_same(model_or_solution, reference, Xl):
    objective = getattr(model_or_solution, "objective_", None)
    if objective is None:
        objective = model_or_solution.primal_objective
        scores = Xl @ model_or_solution.coef + model_or_solution.intercept
    else:
        scores = model_or_solution.decision_function(Xl)
    assert abs(objective - reference.objective_) <= 1e-6 * abs(reference.objective_)
    np.testing.assert_allclose(scores, reference.decision_function(Xl), atol=1e-5)


def test_distributed_fit_equals_in_memory(client):
    X, y, s = make_synthetic_dask(20_000, 6, chunk_rows=5_000, random_state=3)
    model = FairLinearSVC(C=1.0).fit(X, y, sensitive_features=s)
    reference, Xl = _reference(X, y, s, C=1.0)
    assert model.solver_ == "dask_ipm" and model.status_ == "optimal" and model.converged_
    assert model.solution_.certificate.holds and model.solution_.alpha.size == 0
    _assert_same(model, reference, Xl)
    np.testing.assert_allclose(model.constraint_vectors_, reference.constraint_vectors_, atol=1e-12)
    assert np.all(np.abs(model.constraint_value_) <= 1e-9)
    prefixes = client.run_on_scheduler(lambda dask_scheduler: list(dask_scheduler.task_prefixes))
    assert any("pass_a" in prefix for prefix in prefixes), prefixes
    scores = model.decision_function(X)  # lazy on dask input
    assert isinstance(scores, da.Array)
    np.testing.assert_allclose(scores.compute(), model.decision_function(Xl), atol=1e-12)
    assert np.array_equal(model.predict(X).compute(), reference.predict(Xl))


@pytest.mark.parametrize("epsilon, constraint, n_groups", [
    (0.05, "equal_opportunity", 2), (0.0, "demographic_parity", 3), (0.03, "demographic_parity", 3),
    (0.0, "equal_opportunity", 3), (0.02, "equalized_odds", 2)])
def test_every_notion_and_epsilon_equals_in_memory(client, epsilon, constraint, n_groups):
    X, y, s = make_synthetic_dask(16_000, 5, chunk_rows=4_000, n_groups=n_groups, random_state=n_groups)
    model = FairLinearSVC(C=0.5, epsilon=epsilon, constraint=constraint).fit(X, y, sensitive_features=s)
    reference, Xl = _reference(X, y, s, C=0.5, epsilon=epsilon, constraint=constraint)
    assert model.solver_ == "dask_ipm" and model.status_ == "optimal"
    _assert_same(model, reference, Xl)
    assert np.all(np.abs(model.constraint_value_) <= epsilon + 1e-9)


@pytest.mark.extended  # 400,000 rows: about a minute on an idle 2-core machine, ten on a loaded one
def test_client_memory_below_a_tenth_of_the_data(client):
    n, d = 400_000, 10
    X, y, s = make_synthetic_dask(n, d, chunk_rows=50_000, random_state=5)
    tracemalloc.start()
    try:
        model = FairLinearSVC(C=1.0, epsilon=0.02).fit(X, y, sensitive_features=s)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert model.status_ == "optimal"
    assert peak < 0.1 * n * d * 8, f"client traced peak {peak / 1e6:.2f} MB against {n * d * 8 / 1e6:.0f} MB of data"
    reference, _ = _reference(X, y, s, C=1.0, epsilon=0.02)
    # the objective only: at this size the interior point may stop (rolled back to its best iterate after
    # a late round-off jump) at a relative gap of ~1e-8, which leaves decision values ~1e-3 apart (seen once;
    # the 1e-5 agreement is asserted on the smaller problems above)
    assert abs(model.objective_ - reference.objective_) <= 1e-6 * abs(reference.objective_)


def test_weights_and_numpy_labels(client):
    X, y, s = make_synthetic_dask(12_000, 4, chunk_rows=3_000, random_state=7)
    weights = da.random.RandomState(0).uniform(0.0, 2.0, size=12_000, chunks=3_000)
    model = FairLinearSVC(C=1.0).fit(X, y.compute(), sensitive_features=s, sample_weight=weights)
    Xl, yl, sl, wl = (np.asarray(a.compute()) for a in (X, y, s, weights))
    reference = FairLinearSVC(C=1.0, tol=1e-9).fit(Xl, yl, sensitive_features=sl, sample_weight=wl)
    assert model.status_ == "optimal"
    _assert_same(model, reference, Xl)


def test_worker_restarted_mid_fit_gives_the_same_model(client):
    """A worker restarted by its nanny mid-fit loses its chunks' state: dask recomputes it from the lineage."""
    X, y, s = make_synthetic_dask(16_000, 5, chunk_rows=4_000, random_state=11)
    problem = DaskLinearFermProblem(X, y, s, 1.0, 0.0)
    victim = sorted(client.scheduler_info()["workers"])[0]
    restarted = []

    def kill(iteration, info):
        if iteration == 3:
            client.restart_workers([victim])
            restarted.append(iteration)

    solution = solve_distributed(problem, callback=kill)
    assert restarted == [3]
    reference, Xl = _reference(X, y, s, C=1.0)
    assert solution.status == "optimal"
    _assert_same(solution, reference, Xl)


def test_a_task_that_fails_for_good_raises_and_fits_nothing(client, tmp_path):
    X, y, s = make_synthetic_dask(8_000, 4, chunk_rows=2_000, random_state=13)
    marker = str(tmp_path / "gone")

    def failing_block(block, marker):  # local: pickled by value (tests/ is not importable on the workers)
        import os

        if os.path.exists(marker):
            raise OSError(f"chunk storage went away ({marker})")
        return block

    X = X.map_blocks(failing_block, marker, dtype=X.dtype)
    problem = DaskLinearFermProblem(X, y, s, 1.0, 0.0)

    def break_storage(iteration, info):
        if iteration == 2:
            Path(marker).touch()

    with pytest.raises(SolverError, match="distributed fit failed.*chunk storage went away"):
        solve_distributed(problem, callback=break_storage)
    Path(marker).unlink()
    model = FairLinearSVC()
    Path(marker).touch()
    with pytest.raises(SolverError, match="No model was fitted"):
        model.fit(X, y, sensitive_features=s)
    assert not hasattr(model, "coef_") and not hasattr(model, "solution_")
