"""FairRepresentation: fairness effect, scikit-learn contract, determinism, pickling, errors.

The synthetic data: two groups, the first three features shifted by the group; two training
tasks (binary, regression) and a held-out binary task whose label depends on a shifted feature,
so a model on the raw features has a large demographic-parity gap. Every fairness quantity is
recomputed here with numpy / fairlearn, not read from the estimator.
"""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import cdist, pdist

torch = pytest.importorskip("torch")

from sklearn.base import clone  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

from fairerm.exceptions import (  # noqa: E402
    ConvergenceWarning,
    FairermTypeError,
    FairermValueError,
    NotFittedError,
)
from fairerm.representation import FairRepresentation  # noqa: E402

pytestmark = [pytest.mark.torch, pytest.mark.filterwarnings("ignore::fairerm.exceptions.ConvergenceWarning")]


def make_multitask(n: int, seed: int):
    rng = np.random.default_rng(seed)
    s = rng.integers(0, 2, n)
    X = rng.normal(size=(n, 8))
    X[:, :3] += 1.0 * s[:, None]
    y_binary = (X[:, 0] + X[:, 3] + 0.3 * rng.normal(size=n) > 0.5).astype(int)
    y_regression = X[:, 1] + X[:, 4] + 0.3 * rng.normal(size=n)
    y_new_task = (X[:, 0] + X[:, 1] - X[:, 4] + 0.3 * rng.normal(size=n) > 0.5).astype(int)
    return X, np.column_stack([y_binary, y_regression]), y_new_task, s


@pytest.fixture(scope="module")
def data():
    return make_multitask(500, 0), make_multitask(500, 1)


def small_model(**params) -> FairRepresentation:
    options = dict(hidden_layer_sizes=(32,), representation_dim=8, max_epochs=25, batch_size=125, learning_rate=3e-3, random_state=0)
    options.update(params)
    return FairRepresentation(**options)


def numpy_group_mmd2(Z: np.ndarray, s: np.ndarray, sigma: float | None = None) -> float:
    """Unbiased MMD^2 between the two groups of Z (median-heuristic bandwidth by default), in numpy."""
    sigma = np.median(pdist(Z)) if sigma is None else sigma
    first, second = Z[s == 0], Z[s == 1]

    def mean_kernel(u, v, same):
        k = np.exp(-cdist(u, v, "sqeuclidean") / (2 * sigma**2))
        return (k.sum() - np.trace(k)) / (len(u) * (len(u) - 1)) if same else k.mean()

    return mean_kernel(first, first, True) + mean_kernel(second, second, True) - 2 * mean_kernel(first, second, False)


def downstream_ddp(model, train, test) -> tuple[float, float]:
    """Accuracy and demographic-parity gap of a logistic regression on the held-out task."""
    (X, _, y, s), (X_test, _, y_test, s_test) = train, test
    clf = LogisticRegression().fit(model.transform(X), y)
    prediction = clf.predict(model.transform(X_test))
    gap = abs(prediction[s_test == 0].mean() - prediction[s_test == 1].mean())
    return float(np.mean(prediction == y_test)), float(gap)


@pytest.mark.parametrize(
    "penalty, weight, epochs",
    [("mmd", 10.0, 25), pytest.param("sinkhorn", 10.0, 15, marks=pytest.mark.slow)],
)
def test_penalty_lowers_group_mmd_and_downstream_ddp(data, penalty, weight, epochs):
    train, test = data
    X, Y, _, s = train
    plain = small_model(penalty=penalty, penalty_weight=0.0, max_epochs=epochs).fit(X, Y, sensitive_features=s)
    fair = small_model(penalty=penalty, penalty_weight=weight, max_epochs=epochs).fit(X, Y, sensitive_features=s)
    X_test, s_test = test[0], test[3]
    mmd_plain = numpy_group_mmd2(plain.transform(X_test), s_test)
    mmd_fair = numpy_group_mmd2(fair.transform(X_test), s_test)
    assert mmd_fair < 0.3 * mmd_plain
    _, ddp_plain = downstream_ddp(plain, train, test)
    _, ddp_fair = downstream_ddp(fair, train, test)
    assert ddp_plain > 0.2  # the raw problem is unfair ...
    assert ddp_fair < 0.5 * ddp_plain  # ... and the penalised representation removes most of it


def test_sinkhorn_penalty_lowers_group_mmd_quickly(data):
    (X, Y, _, s), test = data
    kwargs = dict(penalty="sinkhorn", max_epochs=6, sinkhorn_max_iter=30)
    plain = small_model(penalty_weight=0.0, **kwargs).fit(X[:300], Y[:300], sensitive_features=s[:300])
    fair = small_model(penalty_weight=10.0, **kwargs).fit(X[:300], Y[:300], sensitive_features=s[:300])
    assert numpy_group_mmd2(fair.transform(test[0]), test[3]) < 0.5 * numpy_group_mmd2(plain.transform(test[0]), test[3])


def test_zero_penalty_learns_the_tasks(data):
    (X, Y, _, s), (X_test, Y_test, _, _) = data
    model = small_model(penalty_weight=0.0, max_epochs=40).fit(X, Y, sensitive_features=s)
    prediction = model.predict(X_test)
    assert prediction.shape == (500, 2)
    accuracy = np.mean(prediction[:, 0] == Y_test[:, 0])
    residual = np.mean((prediction[:, 1] - Y_test[:, 1]) ** 2) / np.var(Y_test[:, 1])
    assert accuracy > 0.85 and residual < 0.2
    assert model.score(X_test, Y_test) == pytest.approx(np.mean([accuracy, 1 - residual]), rel=1e-9)


def test_outputs_shapes_labels_and_probabilities(data):
    (X, Y, _, s), _ = data
    labels = np.where(Y[:, 0] == 1, "yes", "no")
    model = small_model(max_epochs=3).fit(X, labels, sensitive_features=s)
    assert model.transform(X).shape == (500, 8)
    predicted = model.predict(X)
    assert predicted.shape == (500,) and set(predicted) <= {"yes", "no"}
    np.testing.assert_array_equal(model.classes_, ["no", "yes"])
    proba = model.predict_proba(X)
    assert proba.shape == (500, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(np.where(proba[:, 1] > 0.5, "yes", "no"), predicted)
    logits = model.decision_function(X)
    np.testing.assert_allclose(proba[:, 1], 1 / (1 + np.exp(-logits)), rtol=1e-6)
    multitask = small_model(max_epochs=2).fit(X, Y, sensitive_features=s)
    assert [spec.kind for spec in multitask.tasks_] == ["binary", "regression"]
    # no probabilities for a regression task: the method is hidden (scikit-learn's available_if)
    assert hasattr(model, "predict_proba") and not hasattr(multitask, "predict_proba")
    with pytest.raises(AttributeError, match="predict_proba"):
        multitask.predict_proba(X)
    assert hasattr(small_model(), "predict_proba")  # offered before fit; calling it says 'not fitted'
    with pytest.raises(NotFittedError):
        small_model().predict_proba(X)
    # scikit-learn's keyword for the targets works in fit_transform, and passing both is refused
    np.testing.assert_allclose(small_model(max_epochs=2).fit_transform(X, y=labels, sensitive_features=s),
                               small_model(max_epochs=2).fit(X, labels, sensitive_features=s).transform(X), rtol=1e-6)
    with pytest.raises(FairermValueError, match="once"):
        small_model().fit_transform(X, labels, y=labels, sensitive_features=s)


def test_explicit_task_types_and_dataframes(data):
    (X, Y, _, s), _ = data
    frame = pd.DataFrame(X, columns=[f"f{j}" for j in range(8)])
    targets = pd.DataFrame({"approved": Y[:, 0], "income": Y[:, 0] * 2.0})  # two values, forced to regression
    model = small_model(max_epochs=2, task_types=["binary", "regression"]).fit(frame, targets, sensitive_features=pd.Series(s))
    assert [spec.kind for spec in model.tasks_] == ["binary", "regression"]
    np.testing.assert_array_equal(model.feature_names_in_, frame.columns)
    assert model.predict(frame).shape == (500, 2)


def test_more_than_two_groups(data):
    (X, Y, _, _), _ = data
    groups = np.random.default_rng(2).choice(["a", "b", "c"], size=500)
    model = small_model(max_epochs=2).fit(X, Y, sensitive_features=groups)
    np.testing.assert_array_equal(model.groups_, ["a", "b", "c"])
    assert np.isfinite(model.history_["penalty"]).all()


def test_same_seed_gives_identical_outputs_and_different_seeds_differ(data):
    (X, Y, _, s), _ = data
    first = small_model(max_epochs=3).fit(X, Y, sensitive_features=s)
    second = small_model(max_epochs=3).fit(X, Y, sensitive_features=s)
    np.testing.assert_array_equal(first.transform(X), second.transform(X))
    assert first.history_ == second.history_
    other = small_model(max_epochs=3, random_state=1).fit(X, Y, sensitive_features=s)
    assert not np.allclose(first.transform(X), other.transform(X))


def test_fit_leaves_torch_thread_setting_and_global_rng_alone(data):
    (X, Y, _, s), _ = data
    threads = torch.get_num_threads()
    state = torch.random.get_rng_state().clone()
    small_model(max_epochs=1, n_threads=1).fit(X, Y, sensitive_features=s)
    assert torch.get_num_threads() == threads
    assert torch.equal(torch.random.get_rng_state(), state)


def test_pickle_round_trip_of_a_fitted_model(data):
    (X, Y, _, s), _ = data
    model = small_model(max_epochs=2).fit(X, Y, sensitive_features=s)
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.transform(X), model.transform(X))
    np.testing.assert_array_equal(restored.predict(X), model.predict(X))


def test_sklearn_contract_params_clone_and_not_fitted(data):
    model = small_model(penalty="sinkhorn", penalty_weight=0.5)
    assert model.get_params()["penalty"] == "sinkhorn"
    copy = clone(model)
    assert copy.get_params() == model.get_params()
    for method in ("transform", "predict", "decision_function", "predict_proba"):
        with pytest.raises(NotFittedError, match="not fitted"):
            getattr(copy, method)(data[0][0])
    assert not hasattr(copy, "network_")


def test_early_stopping_restores_best_epoch_and_records_validation(data):
    (X, Y, _, s), _ = data
    model = small_model(max_epochs=200, early_stopping=True, n_iter_no_change=3, tol=1e-2).fit(X, Y, sensitive_features=s)
    assert model.stopped_early_ and model.n_epochs_ < 200
    history = model.history_
    assert len(history["loss"]) == len(history["val_loss"]) == model.n_epochs_
    best = int(np.argmin(history["val_loss"])) + 1
    assert model.best_epoch_ == best  # the epoch with the lowest validation loss, whatever tol (as sklearn's MLP)
    # tol governs the patience only: the run stops 3 epochs after the last epoch that beat the running minimum
    # by more than tol (recomputed here from the history).
    running, last_significant = np.inf, 0
    for epoch, value in enumerate(history["val_loss"], start=1):
        if value < running - 1e-2:
            last_significant = epoch
        running = min(running, value)
    assert model.n_epochs_ - last_significant == 3


def test_max_epochs_reached_warns_with_status(data):
    (X, Y, _, s), _ = data
    with pytest.warns(ConvergenceWarning, match="max_epochs=2 reached"):
        model = small_model(max_epochs=2, tol=0.0).fit(X, Y, sensitive_features=s)
    assert "max_epochs=2" in model.status_ and not model.stopped_early_


def test_verbose_is_silent_when_not_a_terminal(data, capsys):
    (X, Y, _, s), _ = data
    small_model(max_epochs=2, verbose=1).fit(X, Y, sensitive_features=s)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_stratified_batches_hold_every_group_in_proportion():
    from fairerm.representation._training import stratified_batches

    codes = np.repeat([0, 1, 2], [600, 300, 100])
    batches = stratified_batches(codes, 100, np.random.default_rng(0))
    assert sorted(np.concatenate(batches)) == list(range(1000))
    for batch in batches:
        counts = np.bincount(codes[batch], minlength=3)
        np.testing.assert_allclose(counts, [60, 30, 10], atol=1)


def test_cuda_request_without_cuda_is_a_clear_error(data):
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    (X, Y, _, s), _ = data
    with pytest.raises(FairermValueError, match="device='cuda'.*torch.cuda.is_available"):
        small_model(device="cuda").fit(X, Y, sensitive_features=s)
    with pytest.raises(FairermValueError, match="device must be"):
        small_model(device="tpu").fit(X, Y, sensitive_features=s)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_training_matches_cpu_training(data):
    (X, Y, _, s), _ = data
    cpu = small_model(max_epochs=3).fit(X, Y, sensitive_features=s)
    gpu = small_model(max_epochs=3, device="cuda").fit(X, Y, sensitive_features=s)
    assert gpu.device_.startswith("cuda")
    np.testing.assert_allclose(gpu.transform(X), cpu.transform(X), rtol=1e-3, atol=1e-3)


def bad(X, Y, s, **params):
    def call():
        small_model(max_epochs=1, **params).fit(X, Y, sensitive_features=s)

    return call


@pytest.mark.parametrize(
    "case, error, match",
    [
        ("nan_X", FairermValueError, "X"),
        ("nan_Y", FairermValueError, "Y column 'task 1' has 1 missing"),
        ("one_class", FairermValueError, "Y column 'task 0' has a single value"),
        ("Y_rows", FairermValueError, "Y has 499 rows but X has 500"),
        ("Y_3d", FairermValueError, "Y must have shape"),
        ("X_1d", FairermValueError, "X"),
        ("s_length", FairermValueError, "sensitive_features has 499 entries"),
        ("one_group", FairermValueError, "at least 2"),
        ("penalty", FairermValueError, "penalty must be one of \\['mmd', 'sinkhorn'\\]; got 'wasserstein'"),
        ("weight", FairermValueError, "penalty_weight must be >= 0.0; got -1.0"),
        ("task_types", FairermValueError, "task_types must be one of"),
        ("multiclass_strings", FairermValueError, "one-vs-rest"),
        ("hidden", FairermTypeError, "hidden_layer_sizes"),
        ("batch", FairermTypeError, "batch_size must be a Integral"),
        ("fraction", FairermValueError, "validation_fraction must be < 1.0"),
    ],
)
def test_bad_input_raises_errors_naming_the_argument(data, case, error, match):
    (X, Y, _, s), _ = data
    X_nan = X.copy()
    X_nan[3, 2] = np.nan
    Y_nan = Y.copy()
    Y_nan[7, 1] = np.nan
    Y_one_class = Y.copy()
    Y_one_class[:, 0] = 1
    calls = {
        "nan_X": bad(X_nan, Y, s),
        "nan_Y": bad(X, Y_nan, s),
        "one_class": bad(X, Y_one_class, s),
        "Y_rows": bad(X, Y[:-1], s),
        "Y_3d": bad(X, Y[:, :, None], s),
        "X_1d": bad(X[:, 0], Y, s),
        "s_length": bad(X, Y, s[:-1]),
        "one_group": bad(X, Y, np.zeros(500)),
        "penalty": bad(X, Y, s, penalty="wasserstein"),
        "weight": bad(X, Y, s, penalty_weight=-1.0),
        "task_types": bad(X, Y, s, task_types="multiclass"),
        "multiclass_strings": bad(X, np.array(["a", "b", "c", "d"] * 125), s),
        "hidden": bad(X, Y, s, hidden_layer_sizes="64"),
        "batch": bad(X, Y, s, batch_size=12.5),
        "fraction": bad(X, Y, s, early_stopping=True, validation_fraction=1.0),
    }
    with pytest.raises(error, match=match):
        calls[case]()


def test_transform_checks_the_number_of_features(data):
    (X, Y, _, s), _ = data
    model = small_model(max_epochs=1).fit(X, Y, sensitive_features=s)
    with pytest.raises(FairermValueError, match="X has 7 features, but this FairRepresentation was fitted with 8"):
        model.transform(X[:, :7])
    with pytest.raises(FairermValueError, match="X"):
        model.predict(np.full((2, 8), np.inf))


def test_warnings_other_than_convergence_are_absent(data):
    (X, Y, _, s), _ = data
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.simplefilter("ignore", ConvergenceWarning)
        small_model(max_epochs=1, penalty="sinkhorn").fit(X, Y, sensitive_features=s).transform(X)


def test_pipeline_routes_sensitive_features_with_metadata_routing(data):
    sklearn = pytest.importorskip("sklearn")
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    (X, Y, _, s), _ = data
    with sklearn.config_context(enable_metadata_routing=True):
        representation = small_model(max_epochs=2).set_fit_request(sensitive_features=True)
        pipeline = make_pipeline(StandardScaler(), representation).fit(X, Y, sensitive_features=s)
        direct = small_model(max_epochs=2).fit(StandardScaler().fit_transform(X), Y, sensitive_features=s)
        np.testing.assert_allclose(pipeline.transform(X), direct.transform(StandardScaler().fit(X).transform(X)), rtol=1e-6)


def test_batch_penalty_is_the_numpy_group_mmd_with_the_batch_median_bandwidth():
    from fairerm.representation._training import TrainingConfig, make_penalty

    rng = np.random.default_rng(4)
    H = rng.normal(size=(60, 3))
    codes = np.repeat([0, 1, 2], 20)
    H[codes == 2] += 0.8
    config = TrainingConfig(
        penalty="mmd", penalty_weight=1.0, bandwidth=None, epsilon=None, sinkhorn_max_iter=10, batch_size=60,
        max_epochs=1, learning_rate=1e-3, weight_decay=0.0, early_stopping=False, n_iter_no_change=1, tol=0.0,
        verbose=0, device=torch.device("cpu"),
    )
    value, n_pairs = make_penalty(config)(torch.tensor(H), torch.tensor(codes))
    sigma = np.median(pdist(H))
    pairs = [(0, 1), (0, 2), (1, 2)]
    expected = np.mean([numpy_group_mmd2(np.vstack([H[codes == a], H[codes == b]]), np.repeat([0, 1], 20), sigma) for a, b in pairs])
    assert n_pairs == 3
    assert float(value) == pytest.approx(expected, rel=1e-9)
    # A group with a single point in the batch is left out of the pairs.
    value, n_pairs = make_penalty(config)(torch.tensor(H[:41]), torch.tensor(codes[:41]))
    assert n_pairs == 1


def test_history_loss_is_task_loss_plus_weighted_penalty(data):
    (X, Y, _, s), _ = data
    model = small_model(max_epochs=3, penalty_weight=2.5, bandwidth=1.0).fit(X, Y, sensitive_features=s)
    history = model.history_
    np.testing.assert_allclose(history["loss"], np.add(history["task_loss"], 2.5 * np.asarray(history["penalty"])), rtol=1e-5)
    fixed_eps = small_model(max_epochs=2, penalty="sinkhorn", epsilon=0.5).fit(X, Y, sensitive_features=s)
    assert np.isfinite(fixed_eps.history_["penalty"]).all()


@pytest.mark.parametrize(
    "check",
    ["check_no_attributes_set_in_init", "check_parameters_default_constructible", "check_get_params_invariance", "check_set_params"],
)
def test_sklearn_parameter_checks(check):
    """The fit-based estimator checks call fit(X, y) without sensitive_features, so only these apply."""
    from sklearn.utils import estimator_checks

    getattr(estimator_checks, check)("FairRepresentation", FairRepresentation())
