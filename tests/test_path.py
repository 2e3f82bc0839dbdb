import copy
import warnings

import numpy as np
import pandas as pd
import pytest

from fairerm import FairKernelSVC, FairLinearSVC, fair_path
from fairerm.datasets import make_synthetic
from fairerm.exceptions import FairermValueError, FairermWarning


@pytest.fixture(scope="module")
def data():
    d = make_synthetic(n_samples=400, include_sensitive=False, bias=1.5, random_state=1)
    return d.data.to_numpy(), d.target.to_numpy(), d.sensitive.to_numpy()


def test_kernel_epsilon_path_warm_equals_cold(data):
    X, y, s = data
    eps = [0.0, 0.02, 0.05, 0.1, 0.5]
    warm = fair_path(FairKernelSVC(tol=1e-6), X, y, sensitive_features=s, epsilons=eps[::-1])
    cold = fair_path(FairKernelSVC(tol=1e-6), X, y, sensitive_features=s, epsilons=eps, warm_start=False)
    assert list(warm.results["epsilon"]) == eps  # visited in increasing order
    for a, b in zip(warm.estimators, cold.estimators):
        np.testing.assert_allclose(a.decision_function(X), b.decision_function(X), atol=1e-3)
        assert a.objective_ == pytest.approx(b.objective_, rel=1e-5)
    assert np.all(warm.results["max_abs_constraint"] <= warm.results["epsilon"] + 1e-6)
    # looser constraints never increase the optimal objective
    objectives = [m.objective_ for m in warm.estimators]
    assert all(b <= a + 1e-6 * abs(a) for a, b in zip(objectives, objectives[1:]))


def test_linear_osqp_path_with_test_set_and_pareto_front(data):
    X, y, s = data
    path = fair_path(FairLinearSVC(solver="osqp"), X[:300], y[:300], sensitive_features=s[:300],
                     epsilons=[0.0, 0.05, 0.2, 1.0], X_test=X[300:], y_test=y[300:],
                     sensitive_features_test=s[300:])
    frame = path.to_frame()
    for column in ("test_accuracy", "test_deo", "test_ddp", "train_deo", "fit_seconds", "n_iter", "converged"):
        assert column in frame
    assert frame["converged"].all()
    front = path.pareto_front()
    assert 1 <= len(front) <= len(frame)


def test_pareto_front_without_test_columns_warns_and_checks_its_arguments(data):
    X, y, s = data
    path = fair_path(FairLinearSVC(), X[:300], y[:300], sensitive_features=s[:300], epsilons=[0.0, 0.1, 1.0])
    with pytest.warns(FairermWarning, match="no test columns"):
        front = path.pareto_front()  # split="test" by default: the training split, said so
    assert len(front) >= 1 and set(front.index) <= set(path.results.index)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        train = path.pareto_front(split="train")
    pd.testing.assert_frame_equal(front, train)
    for kwargs, name in ((dict(split="validation"), "split"), (dict(fairness="eod"), "fairness"),
                         (dict(accuracy="balanced"), "accuracy")):
        with pytest.raises(FairermValueError, match=rf"{name} must be one of"):
            path.pareto_front(**kwargs)


def test_c_path(data):
    X, y, s = data
    path = fair_path(FairLinearSVC(), X, y, sensitive_features=s, Cs=[0.01, 0.1, 1.0])
    assert list(path.results["C"]) == [0.01, 0.1, 1.0]
    assert [m.C for m in path.estimators] == [0.01, 0.1, 1.0]


def test_parallel_path_equals_serial(data):
    X, y, s = data
    serial = fair_path(FairKernelSVC(tol=1e-6), X, y, sensitive_features=s, epsilons=[0.0, 0.1], warm_start=False)
    parallel = fair_path(FairKernelSVC(tol=1e-6), X, y, sensitive_features=s, epsilons=[0.0, 0.1], n_jobs=2)
    for a, b in zip(serial.estimators, parallel.estimators):
        np.testing.assert_allclose(a.decision_function(X), b.decision_function(X), atol=1e-8)


def test_path_errors(data):
    X, y, s = data
    with pytest.raises(ValueError, match="exactly one of"):
        fair_path(FairLinearSVC(), X, y, sensitive_features=s)
    with pytest.raises(ValueError, match="epsilon values must be >= 0"):
        fair_path(FairLinearSVC(), X, y, sensitive_features=s, epsilons=[-1.0])
    with pytest.raises(TypeError, match="FairLinearSVC or FairKernelSVC"):
        from sklearn.svm import SVC

        fair_path(SVC(), X, y, sensitive_features=s, epsilons=[0.0])
    with pytest.raises(ValueError, match="X_test needs"):
        fair_path(FairLinearSVC(), X, y, sensitive_features=s, epsilons=[0.0], X_test=X)


def test_warm_kernel_refit_scores_from_changed_rows_match_the_model():
    """A warm refit on the same data reuses the last scores K(y alpha) and adds the rows of the changed
    alphas only (issue 18); the certificate's training scores still equal the fitted model's own."""
    from fairerm import FairKernelSVC
    from fairerm.datasets import make_synthetic

    d = make_synthetic(n_samples=300, include_sensitive=False, random_state=3)
    model = FairKernelSVC(C=1.0, epsilon=0.0, warm_start=True).fit(d.data, d.target, sensitive_features=d.sensitive)
    for epsilon in (0.02, 0.05, 0.2):
        model.set_params(epsilon=epsilon).fit(d.data, d.target, sensitive_features=d.sensitive)
        assert model.status_ == "optimal"
        direct = model.decision_function(d.data)
        np.testing.assert_allclose(model.solution_.training_decision_values, direct, rtol=1e-9,
                                   atol=1e-9 * np.abs(direct).max())


def test_path_keeps_the_row_cache_between_fits_and_no_model_holds_it(data):
    """Along a warm path the SMO row cache and the certificate's kernel rows pass from one fit to the next
    (issue 18: each kernel row of Q once while the active constraints stay the same); the fitted copies
    never hold them, and the block's end releases them. The path's answers equal separate cold fits."""
    import copy
    import pickle

    from fairerm.solvers import keep_working_memory

    X, y, s = data
    eps = np.linspace(0.0, 0.2, 8)
    warm = fair_path(FairKernelSVC(tol=1e-6), X, y, sensitive_features=s, epsilons=eps)
    cold = fair_path(FairKernelSVC(tol=1e-6), X, y, sensitive_features=s, epsilons=eps, warm_start=False)
    for a, b in zip(warm.estimators, cold.estimators):
        assert a.status_ == b.status_ == "optimal"
        assert a.objective_ == pytest.approx(b.objective_, rel=1e-6)
        assert np.all(np.abs(a.constraint_value_) <= a.epsilon + 1e-9)
        state = a.solution_.warm_state
        assert state.result.row_cache is None and len(state.data.get("rows", ())) == 0
    # later fits on the same active set computed no kernel row of Q: every row came from the kept cache
    misses = [m.solution_.warm_state.result.cache_misses for m in warm.estimators]
    active = [bool(np.any(m.solution_.mu)) for m in warm.estimators]
    assert any(a and b and m == 0 for a, b, m in zip(active, active[1:], misses[1:]))

    model = FairKernelSVC(tol=1e-6, warm_start=True)
    with keep_working_memory():
        model.fit(X, y, sensitive_features=s)
        state = model.solution_.warm_state
        assert state.result.row_cache is not None  # kept inside the block ...
        assert copy.deepcopy(state.result).row_cache is None  # ... but never copied or pickled
        assert pickle.loads(pickle.dumps(state.result)).row_cache is None
        with keep_working_memory():  # nested: the outer block releases
            model.set_params(epsilon=0.05).fit(X, y, sensitive_features=s)
        assert model.solution_.warm_state.result.row_cache is not None
    assert model.solution_.warm_state.result.row_cache is None
    model.set_params(epsilon=0.1).fit(X, y, sensitive_features=s)  # outside a block: released at once
    assert model.solution_.warm_state.result.row_cache is None


@pytest.mark.parametrize("weighted", [False, True])
def test_path_training_scores_equal_the_public_metrics(data, weighted):
    """The path validates the training labels and groups once; its train_* columns are still exactly the
    public metrics of each fitted model's predictions (with sample_weight too)."""
    from fairerm.metrics import demographic_parity_difference, equal_opportunity_difference

    X, y, s = data
    labels = np.where(y > 0, "yes", "no")
    weights = np.random.default_rng(0).uniform(0.2, 2.0, len(y)) if weighted else None
    path = fair_path(FairKernelSVC(), X, labels, sensitive_features=s, epsilons=[0.0, 0.05, 0.3],
                     sample_weight=weights)
    for model, row in zip(path.estimators, path.results.itertuples()):
        pred = model.predict(X)
        assert row.train_accuracy == pytest.approx(np.average(pred == labels, weights=weights), abs=1e-12)
        assert row.train_deo == pytest.approx(
            equal_opportunity_difference(labels, pred, sensitive_features=s, sample_weight=weights), abs=1e-12)
        assert row.train_ddp == pytest.approx(
            demographic_parity_difference(labels, pred, sensitive_features=s, sample_weight=weights), abs=1e-12)


def _recomputed_constraint(model, X):
    """<w, u_j> from the fitted attributes and the data: the expansion's kernel values on the constraint's points."""
    if isinstance(model, FairKernelSVC):
        support = model.constraint_support_
        scores = model.kernel_matrix(X[support], model.expansion_vectors_) @ model.expansion_coef_
        return model.constraint_weights_ @ scores
    return model.constraint_vectors_ @ model.coef_[0]


@pytest.mark.parametrize("estimator, grid, weighted", [
    (FairKernelSVC(tol=1e-4), {"epsilons": [0.0, 0.03, 0.1, 0.4]}, False),
    (FairKernelSVC(epsilon=0.05, tol=1e-4), {"Cs": [0.1, 1.0, 10.0]}, True),
    (FairKernelSVC(fairness_loss="ramp"), {"epsilons": [0.02, 0.1]}, False),
    (FairLinearSVC(C=0.1), {"epsilons": [0.0, 0.01, 0.05]}, True),
    (FairLinearSVC(epsilon=0.01), {"Cs": [0.01, 0.1, 1.0]}, False),
])
def test_path_fits_equal_a_users_warm_started_refits(data, estimator, grid, weighted):
    """fair_path validates the data once and gives each value its own estimator, warm-started from the
    previous one's solution (issue 18: no validation, data hash or model copy per fit); the models are
    exactly those of a user refitting one warm-started estimator value by value (keeping the working memory
    between the fits, as the path does), and share no array."""
    from sklearn.base import clone

    from fairerm.solvers import keep_working_memory

    X, y, s = data
    weights = np.random.default_rng(0).integers(0, 3, size=y.size).astype(float) if weighted else None
    path = fair_path(estimator, X, y, sensitive_features=s, sample_weight=weights, **grid)
    (name, values), = grid.items()
    param = {"epsilons": "epsilon", "Cs": "C"}[name]
    user = clone(estimator).set_params(warm_start=True)
    users = []
    with keep_working_memory():
        for value in values:
            users.append(copy.deepcopy(user.set_params(**{param: value}).fit(X, y, sensitive_features=s,
                                                                              sample_weight=weights)))
    for value, fitted, user in zip(values, path.estimators, users):
        assert getattr(fitted, param) == value and fitted.warm_start is False
        assert fitted.status_ == user.status_ and fitted.n_iter_ == user.n_iter_
        np.testing.assert_array_equal(fitted.decision_function(X), user.decision_function(X))
        np.testing.assert_array_equal(fitted.constraint_value_, user.constraint_value_)
        assert sorted(vars(fitted)) == sorted(vars(user))  # the same fitted attributes
        if param == "epsilon" and estimator.fairness_loss == "linear":
            assert np.max(np.abs(_recomputed_constraint(fitted, X))) <= value + 1e-6
    first, second = path.estimators[:2]
    assert first.classes_ is not second.classes_ and first.groups_ is not second.groups_
    second.classes_[:] = second.classes_[::-1]  # a user's edit of one model leaves the others alone
    np.testing.assert_array_equal(first.classes_, user.classes_)


def test_an_epsilon_path_validates_and_hashes_the_data_once(data, monkeypatch):
    """The 20-point path of the speed table spent ~7 ms per warm fit validating the same data again, hashing it
    (sha256) and deep-copying the fitted model; now the validation and the hash run once per path."""
    import fairerm.problem as problem_module
    from fairerm.svm._base import BaseFairSVC

    X, y, s = data
    calls = {"validate": 0, "hash": 0}
    validate, sha256 = BaseFairSVC._validate_training_data, problem_module.hashlib.sha256

    def counting_validate(self, *args, **kwargs):
        calls["validate"] += 1
        return validate(self, *args, **kwargs)

    def counting_sha256(*args):
        calls["hash"] += 1
        return sha256(*args)

    monkeypatch.setattr(BaseFairSVC, "_validate_training_data", counting_validate)
    monkeypatch.setattr(problem_module.hashlib, "sha256", counting_sha256)
    path = fair_path(FairKernelSVC(), X, y, sensitive_features=s, epsilons=np.linspace(0.0, 0.2, 6))
    assert calls == {"validate": 1, "hash": 1}
    assert path.results["converged"].all()
    FairKernelSVC().fit(X, y, sensitive_features=s)  # a plain fit validates and hashes its data
    assert calls == {"validate": 2, "hash": 2}


@pytest.fixture(scope="module")
def thousands():
    rng = np.random.default_rng(0)
    s = rng.integers(0, 2, 2000)
    X = rng.normal(size=(2000, 5)) + s[:, None] * 0.8
    y = (X[:, 0] + 0.5 * rng.normal(size=2000) > 0.5).astype(int)
    return X, y, s


@pytest.mark.parametrize("n_jobs, weighted", [(None, False), (None, True), (2, False)])
def test_path_scores_a_column_vector_target_as_the_model_does(thousands, n_jobs, weighted):
    """A one-column y (``df[["label"]]``), which the estimators take as 1-D, was compared as an (n, 1) array
    with the 1-D predictions: an (n, n) comparison whose mean (0.50 for a model 0.84 accurate) filled
    train_accuracy and test_accuracy, and a TypeError with sample_weight."""
    import pandas as pd
    from sklearn.exceptions import DataConversionWarning

    X, y, s = thousands
    column = pd.DataFrame({"label": y})
    weights = np.random.default_rng(1).uniform(0.2, 2.0, y.size) if weighted else None
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        path = fair_path(FairLinearSVC(), X, column, sensitive_features=s, epsilons=[0.0, 0.05],
                         X_test=X[:500], y_test=column.to_numpy()[:500], sensitive_features_test=s[:500],
                         sample_weight=weights, n_jobs=n_jobs)
    for model, row in zip(path.estimators, path.results.itertuples()):
        pred = model.predict(X)
        assert row.train_accuracy == pytest.approx(np.average(pred == y, weights=weights), abs=1e-12)
        assert row.test_accuracy == pytest.approx(np.mean(pred[:500] == y[:500]), abs=1e-12)
        assert row.train_accuracy > 0.7
    said = sorted(str(w.message) for w in record if issubclass(w.category, DataConversionWarning))
    # said once for each, by fair_path (the estimators get 1-D labels)
    assert [message.split()[2] for message in said] == ["y", "y_test"]
    reference = fair_path(FairLinearSVC(), X, y, sensitive_features=s, epsilons=[0.0, 0.05], sample_weight=weights,
                          n_jobs=n_jobs)
    for column_name in ("train_accuracy", "train_deo", "train_ddp", "max_abs_constraint"):
        np.testing.assert_array_equal(path.results[column_name], reference.results[column_name])


def test_path_refuses_test_labels_or_groups_without_X_test(thousands):
    """y_test and sensitive_features_test were dropped without a word when X_test was missing (no test
    columns, and pareto_front(split="test") ranked on the training split), as X_test without them and
    sample_weight_test without X_test are refused."""
    from fairerm.exceptions import FairermValueError

    X, y, s = thousands
    for given, kwargs in [("y_test", {"y_test": y}), ("sensitive_features_test", {"sensitive_features_test": s}),
                          ("y_test and sensitive_features_test", {"y_test": y, "sensitive_features_test": s})]:
        with pytest.raises(FairermValueError, match=f"^{given} without X_test: .*give X_test, y_test and "
                                                    "sensitive_features_test together"):
            fair_path(FairLinearSVC(), X, y, sensitive_features=s, epsilons=[0.0, 0.1], **kwargs)


def test_path_refuses_repeated_grid_values(thousands):
    """Repeated values were fitted once per copy, each with its row of results, without a word (deduplicating
    them would shorten the results against the user's grid)."""
    from fairerm.exceptions import FairermValueError

    X, y, s = thousands
    with pytest.raises(FairermValueError, match=r"epsilon values must be distinct; got \[0\.1\] more than once in "
                                                r"\[0\.1, 0\.1, 0\.0, 0\.1\]"):
        fair_path(FairLinearSVC(), X, y, sensitive_features=s, epsilons=[0.1, 0.1, 0.0, 0.1])
    with pytest.raises(FairermValueError, match=r"C values must be distinct; got \[1\.0, 2\.0\]"):
        fair_path(FairLinearSVC(), X, y, sensitive_features=s, Cs=np.array([2.0, 1, 0.5, 1.0, 2]))


@pytest.mark.parametrize("warm_start", ["False", 0, 1, None, np.array([True])])
def test_path_refuses_a_warm_start_that_is_not_a_bool(thousands, warm_start):
    """bool(warm_start) made "False" (any non-empty string) warm-start; the estimators refuse it."""
    from fairerm.exceptions import FairermTypeError

    X, y, s = thousands
    message = f"warm_start must be True or False; got {warm_start!r}."
    with pytest.raises(FairermTypeError) as error:
        fair_path(FairLinearSVC(), X, y, sensitive_features=s, epsilons=[0.1], warm_start=warm_start)
    assert str(error.value) == message
    with pytest.raises(FairermTypeError) as error:  # the estimators' own message
        FairLinearSVC(warm_start=warm_start).fit(X, y, sensitive_features=s)
    assert str(error.value) == message


def test_path_takes_a_numpy_bool_warm_start(thousands):
    X, y, s = thousands
    warm = fair_path(FairLinearSVC(), X, y, sensitive_features=s, epsilons=[0.0, 0.1], warm_start=np.True_)
    cold = fair_path(FairLinearSVC(), X, y, sensitive_features=s, epsilons=[0.0, 0.1], warm_start=np.False_)
    assert warm.results["converged"].all() and cold.results["converged"].all()
    for a, b in zip(warm.estimators, cold.estimators):
        assert a.objective_ == pytest.approx(b.objective_, rel=1e-6)
