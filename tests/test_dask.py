"""fair_path on a local Dask cluster (joblib's "dask" backend) gives the serial results.

The cluster uses worker *processes* (2 workers, 1 thread each, loopback only, no dashboard), so
the estimators, the data and the fitted models really travel by pickle, as on a remote cluster.
"""

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")

import joblib  # noqa: E402

from fairerm import FairKernelSVC, FairLinearSVC, fair_path  # noqa: E402
from fairerm.datasets import make_synthetic  # noqa: E402


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                       dashboard_address=None, silence_logs=40)
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


@pytest.fixture(scope="module")
def data():
    train = make_synthetic(200, bias=1.5, include_sensitive=False, random_state=0)
    test = make_synthetic(200, bias=1.5, include_sensitive=False, random_state=1)
    return dict(X=train.data, y=train.target, sensitive_features=train.sensitive, X_test=test.data,
                y_test=test.target, sensitive_features_test=test.sensitive)


COLUMNS = ["epsilon", "train_accuracy", "train_deo", "train_ddp", "test_accuracy", "test_deo", "test_ddp",
           "max_abs_constraint"]


@pytest.mark.parametrize("estimator", [FairLinearSVC(C=1.0, tol=1e-9), FairKernelSVC(C=1.0, gamma=0.3, tol=1e-6)],
                         ids=["linear", "kernel"])
def test_fair_path_on_dask_equals_serial(client, data, estimator):
    epsilons = [0.0, 0.02, 0.1, 0.5]
    serial = fair_path(estimator, **data, epsilons=epsilons, warm_start=False)
    with joblib.parallel_backend("dask"):
        remote = fair_path(estimator, **data, epsilons=epsilons, n_jobs=-1)
    assert len(client.scheduler_info()["workers"]) == 2
    np.testing.assert_allclose(remote.results[COLUMNS].to_numpy(float), serial.results[COLUMNS].to_numpy(float),
                               atol=1e-6)
    X_test = data["X_test"]
    for here, there in zip(serial.estimators, remote.estimators):
        np.testing.assert_allclose(there.decision_function(X_test), here.decision_function(X_test), atol=1e-5)
    assert np.all(remote.results["max_abs_constraint"] <= np.asarray(epsilons) + 1e-6)


def test_work_ran_on_the_workers(client, data):
    """The dask backend sent the fits to the cluster's scheduler (joblib batches of _fit_one)."""
    with joblib.parallel_backend("dask"):
        path = fair_path(FairLinearSVC(), **data, epsilons=[0.0, 0.1], n_jobs=-1)
    assert list(path.results["epsilon"]) == [0.0, 0.1]
    prefixes = client.run_on_scheduler(lambda dask_scheduler: list(dask_scheduler.task_prefixes))
    assert any("_fit_one" in prefix for prefix in prefixes), prefixes
    workers = client.scheduler_info()["workers"].values()
    assert [w["nthreads"] for w in workers] == [1, 1]
    assert all(w["host"] == "127.0.0.1" for w in workers)
