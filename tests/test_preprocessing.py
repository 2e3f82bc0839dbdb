import numpy as np
import pandas as pd
import pytest
import sklearn
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from fairerm import FairProjection


def test_projection_is_orthogonal_and_idempotent(make_problem):
    X, y, s = make_problem(n=300, d=6, n_groups=3)
    proj = FairProjection().fit(X, y, sensitive_features=s)
    P = proj.projection_
    np.testing.assert_allclose(P, P.T, atol=1e-12)
    np.testing.assert_allclose(P @ P, P, atol=1e-12)
    assert proj.removed_directions_.shape == (2, 6)  # 3 groups: 3 dependent rows span 2 dimensions
    np.testing.assert_allclose(proj.constraint_vectors_ @ P, 0.0, atol=1e-12)
    np.testing.assert_allclose(proj.transform(X), X @ P, atol=1e-12)


@pytest.mark.parametrize("constraint", ["equal_opportunity", "demographic_parity", "equalized_odds"])
def test_logistic_regression_after_projection_satisfies_the_constraint(make_problem, constraint):
    X, y, s = make_problem(n=400, d=5)
    pipe = make_pipeline(FairProjection(constraint), LogisticRegression())
    pipe.fit(X, y, fairprojection__sensitive_features=s)
    w = pipe[0].projection_ @ pipe[1].coef_[0]
    assert np.max(np.abs(pipe[0].constraint_vectors_ @ w)) < 1e-10


def test_demographic_parity_accepts_a_continuous_target(make_problem):
    X, _, s = make_problem(n=200, d=3)
    y = X @ np.array([1.0, -2.0, 0.5])
    pipe = make_pipeline(FairProjection("demographic_parity"), Ridge(alpha=1.0))
    pipe.fit(X, y, fairprojection__sensitive_features=s)
    pred = pipe.predict(X)
    assert abs(pred[s == 0].mean() - pred[s == 1].mean()) < 1e-10
    FairProjection("demographic_parity").fit(X, None, sensitive_features=s)


def test_metadata_routing_in_a_pipeline(make_problem):
    X, y, s = make_problem(n=200, d=3)
    with sklearn.config_context(enable_metadata_routing=True):
        pipe = Pipeline([("scale", StandardScaler()),
                         ("fair", FairProjection().set_fit_request(sensitive_features=True)),
                         ("clf", LogisticRegression())])
        pipe.fit(X, y, sensitive_features=s)
        Xs = pipe[0].transform(X)
        w = pipe[1].projection_ @ pipe[2].coef_[0]
        assert abs(pipe[1].constraint_vectors_[0] @ w) < 1e-10
        assert np.allclose(pipe[1].constraint_vectors_[0],
                           Xs[(y == 1) & (s == 0)].mean(0) - Xs[(y == 1) & (s == 1)].mean(0))


def test_feature_names_and_pandas(make_problem):
    X, y, s = make_problem(n=100, d=3)
    frame = pd.DataFrame(X, columns=["age", "hours", "score"])
    proj = FairProjection().fit(frame, y, sensitive_features=pd.Series(s))
    assert list(proj.get_feature_names_out()) == ["age", "hours", "score"]


def test_zero_u_removes_nothing():
    X = np.array([[1.0, 2.0], [1.0, 2.0], [0.0, 1.0], [0.0, 1.0]])
    y = np.array([1, 1, 0, 0])
    s = np.array([0, 1, 0, 1])
    proj = FairProjection().fit(X, y, sensitive_features=s)
    assert proj.removed_directions_.shape == (0, 2)
    np.testing.assert_allclose(proj.transform(X), X)


def test_errors(make_problem):
    X, y, s = make_problem(n=50, d=2)
    with pytest.raises(ValueError, match="needs sensitive_features"):
        FairProjection().fit(X, y)
    with pytest.raises(ValueError, match="y is required"):
        FairProjection().fit(X, None, sensitive_features=s)
    with pytest.raises(ValueError, match="constraint must be one of"):
        FairProjection("parity").fit(X, y, sensitive_features=s)
    with pytest.raises(ValueError, match="X has 3 features"):
        FairProjection().fit(X, y, sensitive_features=s).transform(np.ones((2, 3)))
