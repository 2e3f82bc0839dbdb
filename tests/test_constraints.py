import numpy as np
import pandas as pd
import pytest

from fairerm.constraints import (
    DemographicParity,
    EqualizedOdds,
    EqualOpportunity,
    constraint_vectors,
    constraint_weights,
    make_constraint,
)


def test_equal_opportunity_two_groups_is_difference_of_positive_means(make_problem):
    X, y, s = make_problem(n=300, d=5)
    U = constraint_vectors(X, y, s)
    expected = X[(y == 1) & (s == 0)].mean(axis=0) - X[(y == 1) & (s == 1)].mean(axis=0)
    assert U.shape == (1, 5)
    np.testing.assert_allclose(U[0], expected, atol=1e-12)


def test_several_groups_give_one_row_per_group_against_pooled_positives(make_problem):
    X, y, s = make_problem(n=400, d=3, n_groups=3)
    U = constraint_vectors(X, y, s)
    pooled = X[y == 1].mean(axis=0)
    assert U.shape == (3, 3)
    for g in range(3):
        np.testing.assert_allclose(U[g], X[(y == 1) & (s == g)].mean(axis=0) - pooled, atol=1e-12)
    # the rows are dependent: weighted by the group sizes they sum to zero
    counts = np.array([np.sum((y == 1) & (s == g)) for g in range(3)])
    np.testing.assert_allclose(counts @ U, 0.0, atol=1e-9)


def test_demographic_parity_uses_all_examples_and_ignores_labels(make_problem):
    X, y, s = make_problem(n=200, d=2)
    U = constraint_vectors(X, y, s, "demographic_parity")
    np.testing.assert_allclose(U[0], X[s == 0].mean(axis=0) - X[s == 1].mean(axis=0), atol=1e-12)


def test_equalized_odds_has_a_row_per_label(make_problem):
    X, y, s = make_problem(n=200, d=2)
    U = constraint_vectors(X, y, s, "equalized_odds")
    assert U.shape == (2, 2)
    np.testing.assert_allclose(U[1], X[(y == -1) & (s == 0)].mean(0) - X[(y == -1) & (s == 1)].mean(0), atol=1e-12)


def test_any_two_labels_and_pandas_input(make_problem):
    X, y, s = make_problem(n=100)
    labels = np.where(y == 1, "hired", "rejected")  # "rejected" > "hired": the positive class is "rejected"
    cw = constraint_weights(pd.Series(labels), pd.Series(np.where(s == 0, "f", "m")))
    mask = (labels == "rejected") & (s == 0)
    np.testing.assert_allclose(cw.weights[0, mask], 1.0 / mask.sum())


@pytest.mark.parametrize("constraint", ["equal_opportunity", "equalized_odds"])
def test_group_without_positives_is_a_clear_error(constraint):
    y = np.array([1, 1, -1, -1, 1, -1])
    s = np.array(["a", "a", "b", "b", "a", "b"])
    with pytest.raises(ValueError, match=r"sensitive_features.*\['b'\].*positive"):
        constraint_weights(y, s, constraint)


def test_bad_inputs():
    with pytest.raises(ValueError, match="sensitive_features has 1 distinct group"):
        constraint_weights([1, -1, 1], ["a", "a", "a"])
    with pytest.raises(ValueError, match="y must have exactly two classes"):
        constraint_weights([1, 2, 3], ["a", "b", "a"])
    with pytest.raises(ValueError, match="same length"):
        constraint_weights([1, -1, 1], ["a", "b"])
    with pytest.raises(ValueError, match="constraint must be one of"):
        make_constraint("equal_odds")
    with pytest.raises(TypeError, match="constraint must be"):
        make_constraint(3)
    with pytest.raises(ValueError, match="missing values"):
        constraint_weights([1, -1, 1], pd.Series(["a", None, "b"]))


def test_instances_are_accepted_and_compare_equal():
    assert make_constraint(EqualOpportunity()) == EqualOpportunity()
    assert make_constraint("demographic_parity") == DemographicParity()
    assert EqualizedOdds() != EqualOpportunity()
