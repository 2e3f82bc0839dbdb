"""Bad input on the dask routes is refused as on the numpy path: same checks, same wording.

The routes: ``FairLinearSVC.fit`` with ``solver="auto"`` (the distributed fit), with a named in-memory solver,
``FairKernelSVC`` with an approximation, and the lazy ``decision_function`` / ``predict``.
"""

import warnings

import numpy as np
import pytest

dask = pytest.importorskip("dask")

import dask.array as da  # noqa: E402
from sklearn.exceptions import DataConversionWarning  # noqa: E402

from fairerm import FairKernelSVC, FairLinearSVC  # noqa: E402
from fairerm.exceptions import FairermTypeError, FairermValueError  # noqa: E402


@pytest.fixture(autouse=True)
def synchronous():
    with dask.config.set(scheduler="synchronous"):
        yield


def _data(n=1_200, d=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    s = rng.integers(0, 2, n)
    X[:, 0] += s
    y = (X[:, 0] + X[:, 1] + 0.5 * rng.standard_normal(n) > 0.5).astype(int)
    return X, y, s


def _message(fit):
    with pytest.raises(ValueError) as info:
        fit()
    return str(info.value)


ROUTES = {
    "auto": lambda X, y, s, **kw: FairLinearSVC().fit(X, y, sensitive_features=s, **kw),
    "dcd": lambda X, y, s, **kw: FairLinearSVC(solver="dcd").fit(X, y, sensitive_features=s, **kw),
    "rff": lambda X, y, s, **kw: FairKernelSVC(approximation="rff", n_components=10, random_state=0).fit(
        X, y, sensitive_features=s, **kw),
}


@pytest.mark.parametrize("route", list(ROUTES))
def test_complex_X_is_refused_as_for_numpy(route):
    X, y, s = _data(400, 3)
    Xc = X + 1j * X[:, ::-1]
    numpy_message = _message(lambda: ROUTES[route](Xc, y, s))
    with pytest.raises(FairermValueError, match="Complex data not supported") as info:
        ROUTES[route](da.from_array(Xc, chunks=(100, 3)), y, s)
    assert numpy_message.startswith("Complex data not supported") and "complex128" in str(info.value)
    with pytest.raises(FairermTypeError, match="X must hold real numbers; got a dask array of dtype <U"):
        ROUTES[route](da.from_array(X.astype(str), chunks=(100, 3)), y, s)


@pytest.mark.parametrize("route", list(ROUTES))
def test_too_few_features_or_samples_are_refused_with_the_numpy_message(route):
    X, y, s = _data(400, 3)
    for Xb, yb, sb in ((X[:, :0], y, s), (X[:1], y[:1], s[:1])):
        expected = _message(lambda: ROUTES[route](Xb, yb, sb))
        with pytest.raises(FairermValueError) as info:
            ROUTES[route](da.from_array(Xb, chunks=(100, max(Xb.shape[1], 1))), yb, sb)
        assert str(info.value) == expected


@pytest.mark.parametrize("route", list(ROUTES))
@pytest.mark.parametrize("argument", ["y", "sensitive_features", "sample_weight"])
def test_a_wrong_length_array_next_to_a_dask_X_gets_fairerms_message(route, argument):
    X, y, s = _data()
    inputs = {"y": y, "sensitive_features": s, "sample_weight": np.ones(len(y))}
    inputs[argument] = inputs[argument][:-1]
    expected = _message(lambda: ROUTES[route](X, inputs["y"], inputs["sensitive_features"],
                                              sample_weight=inputs["sample_weight"]))
    assert f"{argument} has 1199 entries but X has 1200 samples" in expected
    with pytest.raises(FairermValueError) as info:
        ROUTES[route](da.from_array(X, chunks=(300, 4)), inputs["y"], inputs["sensitive_features"],
                      sample_weight=inputs["sample_weight"])
    assert str(info.value) == expected


def test_a_scalar_weight_and_a_column_vector_y_behave_as_on_the_numpy_path():
    X, y, s = _data()
    Xd = da.from_array(X, chunks=(300, 4))
    reference = FairLinearSVC(tol=1e-9).fit(X, y, sensitive_features=s, sample_weight=2.0)
    model = FairLinearSVC().fit(Xd, y, sensitive_features=s, sample_weight=2.0)
    assert model.status_ == "optimal"
    assert abs(model.objective_ - reference.objective_) <= 1e-6 * reference.objective_
    for bad, kind in ((-1.0, FairermValueError), (np.nan, FairermValueError), (True, FairermTypeError)):
        with pytest.raises(kind) as numpy_error:
            FairLinearSVC().fit(X, y, sensitive_features=s, sample_weight=bad)
        with pytest.raises(kind) as dask_error:
            FairLinearSVC().fit(Xd, y, sensitive_features=s, sample_weight=bad)
        assert str(dask_error.value) == str(numpy_error.value)
    for column in (y[:, None], da.from_array(y[:, None], chunks=(300, 1))):
        with pytest.warns(DataConversionWarning, match="column-vector y"):
            fitted = FairLinearSVC().fit(Xd, column, sensitive_features=s)
        assert fitted.status_ == "optimal"
    np.testing.assert_allclose(fitted.coef_, FairLinearSVC().fit(Xd, y, sensitive_features=s).coef_, atol=1e-12)


def test_nan_labels_and_groups_are_reported_at_their_rows():
    X, y, s = _data()
    Xd = da.from_array(X, chunks=(300, 4))
    labels = y.astype(float)
    labels[1198] = np.nan
    groups = s.astype(float)
    groups[[5, 1198]] = np.nan
    names = np.array(["no", "yes"], dtype=object)[y]
    names[1198] = None  # object labels: "missing values (NaN/None)"
    cases = [(labels, s), (y, groups), (names, s)]
    for yy, ss in cases:
        expected = _message(lambda: FairLinearSVC().fit(X, yy, sensitive_features=ss))
        assert "at rows [1198]" in expected or "at rows [5, 1198]" in expected
        for yd, sd in ((da.from_array(yy, chunks=300), ss), (yy, da.from_array(ss, chunks=300)),
                       (da.from_array(yy, chunks=250), da.from_array(ss, chunks=400))):
            if not (hasattr(yd, "dask") or hasattr(sd, "dask")):
                continue
            with pytest.raises(FairermValueError) as info:
                FairLinearSVC().fit(Xd, yd, sensitive_features=sd)
            assert str(info.value) == expected
    # several columns: the column and the rows are named
    two = np.column_stack([s, groups]).astype(float)
    expected = _message(lambda: FairLinearSVC().fit(X, y, sensitive_features=two))
    with pytest.raises(FairermValueError) as info:
        FairLinearSVC().fit(Xd, y, sensitive_features=da.from_array(two, chunks=(300, 2)))
    assert str(info.value) == expected and "column 1" in expected and "[5, 1198]" in expected
    # more than five: the first five and "..."
    many = y.astype(float)
    many[::100] = np.nan
    expected = _message(lambda: FairLinearSVC().fit(X, many, sensitive_features=s))
    with pytest.raises(FairermValueError) as info:
        FairLinearSVC().fit(Xd, da.from_array(many, chunks=300), sensitive_features=s)
    assert str(info.value) == expected and expected.count("...") == 1


@pytest.mark.parametrize("route", list(ROUTES))
def test_unknown_chunk_sizes_say_how_to_fix_them(route):
    X, y, s = _data()
    keep = da.from_array(np.ones(len(y), dtype=bool), chunks=300)
    Xu = da.from_array(X, chunks=(300, 4))[keep]
    yu, su = da.from_array(y, chunks=300)[keep], da.from_array(s, chunks=300)[keep]
    assert np.isnan(Xu.shape[0])
    with pytest.raises(FairermValueError, match=r"X has unknown chunk sizes \(nan\).*X\.compute_chunk_sizes\(\).*"
                                                r"to_dask_array\(lengths=True\)"):
        ROUTES[route](Xu, yu, su)
    if route != "dcd":  # a named in-memory solver collects y, whatever its chunks
        with pytest.raises(FairermValueError, match=r"y has unknown chunk sizes.*y\.compute_chunk_sizes\(\)"):
            ROUTES[route](da.from_array(X, chunks=(300, 4)), yu, s)


def _refused_when_computed(method, rows):
    """``method`` on a dask copy of ``rows`` is lazy, and computing it raises the numpy path's message."""
    with pytest.raises(ValueError) as numpy_error:
        method(rows)
    result = method(da.from_array(rows, chunks=3))  # lazy: nothing computed yet
    assert isinstance(result, da.Array)
    with pytest.raises(FairermValueError) as info:
        result.compute()
    assert str(info.value) == str(numpy_error.value)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_predict_on_a_dask_array_refuses_non_finite_rows_lazily(bad):
    X, y, s = _data(600)
    model = FairLinearSVC().fit(X, y, sensitive_features=s)
    rows = X[:6].copy()
    rows[2, 1] = bad
    for method in (model.predict, model.decision_function):
        _refused_when_computed(method, rows)
    clean = da.from_array(X[:50], chunks=(20, 2))
    np.testing.assert_allclose(model.decision_function(clean).compute(), model.decision_function(X[:50]),
                               atol=1e-12)
    np.testing.assert_array_equal(model.predict(clean).compute(), model.predict(X[:50]))
    with pytest.raises(ValueError) as numpy_error:
        model.predict(X[:6, :3])
    with pytest.raises(FairermValueError) as info:
        model.predict(da.from_array(X[:6, :3], chunks=3))
    assert str(info.value) == str(numpy_error.value)
    with pytest.raises(FairermValueError, match="Complex data not supported"):
        model.decision_function(da.from_array(X[:6] + 1j, chunks=3))


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_fair_projection_transform_of_a_dask_array_refuses_non_finite_rows_lazily(bad):
    from fairerm import FairProjection

    X, y, s = _data(600)
    projection = FairProjection().fit(X, y, sensitive_features=s)
    rows = X[:6].copy()
    rows[4, 0] = bad
    _refused_when_computed(projection.transform, rows)
    np.testing.assert_allclose(projection.transform(da.from_array(X, chunks=(250, 2))).compute(),
                               projection.transform(X), atol=1e-12)
    with pytest.raises(FairermValueError, match="Complex data not supported"):
        projection.transform(da.from_array(X[:6] + 1j, chunks=3))
