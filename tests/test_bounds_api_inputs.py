"""generalization_report on bad sample_weight, and how report.events adds up to delta for every method."""

import numpy as np
import pytest

from fairerm import FairLinearSVC
from fairerm.bounds import GeneralizationReport, generalization_report
from fairerm.exceptions import FairermTypeError, FairermValueError


def _data(n=300, seed=0):
    rng = np.random.default_rng(seed)
    s = rng.integers(0, 2, size=n)
    X = rng.uniform(-1.0, 1.0, size=(n, 3))
    X[:, 0] -= 0.5 * s
    y = (X @ np.array([2.0, 1.0, 0.5]) + 0.5 * rng.standard_normal(n) > -0.2).astype(int)
    return X, y, np.array(["a", "b"])[s]


@pytest.fixture(scope="module")
def fitted():
    X, y, s = _data()
    return FairLinearSVC(C=1.0, epsilon=0.05).fit(X, y, sensitive_features=s), X, y, s


# ------------------------------------------------------------------ sample_weight
@pytest.mark.parametrize("bad, error, match", [
    (["a"] * 300, FairermTypeError, r"^sample_weight must hold real numbers; got dtype <U1\.$"),
    (["1"] * 300, FairermTypeError, r"^sample_weight must hold real numbers"),
    ([object()] * 300, FairermTypeError, r"^sample_weight must hold real numbers; got dtype object"),
    (True, FairermTypeError, r"^sample_weight must be a number or one weight per sample; got the boolean True"),
    (np.r_[np.nan, np.ones(299)], FairermValueError, r"sample_weight contains NaN or infinite values at rows \[0\]"),
    (-np.ones(300), FairermValueError, r"sample_weight must be non-negative; got -1.0 at row 0"),
    (np.zeros(300), FairermValueError, r"sample_weight is zero for every sample"),
    (np.ones(3), FairermValueError, r"sample_weight must be None, a number or 300 weights \(one per row of X\); "
                                    r"got shape \(3,\)"),
    (np.ones((300, 1)), FairermValueError, r"sample_weight must be None, a number or 300 weights .*got shape "
                                           r"\(300, 1\)"),
])
def test_bad_weights_get_the_package_messages(fitted, bad, error, match):
    model, X, y, s = fitted
    with pytest.raises(error, match=match):
        generalization_report(model, X, y, sensitive_features=s, sample_weight=bad)


def test_constant_weights_including_a_number_change_nothing(fitted):
    model, X, y, s = fitted
    plain = generalization_report(model, X, y, sensitive_features=s, holdout=True).to_dict()
    for weights in (np.full(300, 2.5), 2.5, [1] * 300):
        same = generalization_report(model, X, y, sensitive_features=s, holdout=True, sample_weight=weights)
        assert same.to_dict() == plain
    with pytest.raises(FairermValueError, match="non-uniform weights"):
        generalization_report(model, X, y, sensitive_features=s, sample_weight=np.r_[2.0, np.ones(299)])


# ------------------------------------------------------------------ report.events adds up to delta as documented
@pytest.mark.parametrize("kwargs", [dict(), dict(method="rademacher"), dict(holdout=True),
                                    dict(notion="equalized_odds", method="rademacher")])
def test_events_sum_to_delta_as_the_docstring_says(fitted, kwargs):
    """The documented rule: every listed share once, and the shares of the entries labelled ``(each)``
    (an upper and a lower rate bound, two events) once more; the total is delta."""
    model, X, y, s = fitted
    report = generalization_report(model, X, y, sensitive_features=s, delta=0.05, **kwargs)
    doubled = [share for name, share in report.events if name.endswith("(each)")]
    total = sum(share for _, share in report.events) + sum(doubled)
    assert total == pytest.approx(0.05)
    assert bool(doubled) == (report.method in ("rademacher", "holdout"))
    doc = GeneralizationReport.__doc__
    assert "sum to ``delta``)" not in doc and "(each)" in doc and "counts twice" in doc
    said = "an entry marked (each) is the share of each of its two events"
    assert (said in " ".join(str(report).split())) == bool(doubled)
