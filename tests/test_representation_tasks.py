"""Task detection and encoding of multitask targets (numpy only; runs without torch)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fairerm.exceptions import FairermTypeError, FairermValueError
from fairerm.representation._tasks import decode_outputs, encode_targets


def test_auto_detection_and_encoding():
    rng = np.random.default_rng(0)
    values = rng.normal(3.0, 2.0, size=6)
    Y = pd.DataFrame({"label": ["no", "yes", "yes", "no", "yes", "no"], "flag": [True, False] * 3, "amount": values})
    specs, encoded, one_dimensional = encode_targets(Y, 6)
    assert [s.kind for s in specs] == ["binary", "binary", "regression"]
    assert [s.name for s in specs] == ["label", "flag", "amount"]
    assert not one_dimensional
    np.testing.assert_array_equal(encoded[:, 0], [0, 1, 1, 0, 1, 0])  # "yes" > "no" is the positive class
    np.testing.assert_array_equal(encoded[:, 1], [1, 0] * 3)  # True > False
    np.testing.assert_allclose(encoded[:, 2], (values - values.mean()) / values.std())


def test_decode_inverts_encode():
    Y = np.column_stack([[2, 5, 5, 2], [0.5, -1.0, 3.0, 2.0]])
    specs, encoded, one_dimensional = encode_targets(Y, 4)
    logits = np.where(encoded[:, :1] == 1, 2.0, -2.0)
    decoded = decode_outputs(specs, np.column_stack([logits[:, 0], encoded[:, 1]]), one_dimensional)
    np.testing.assert_allclose(decoded, Y)


def test_one_dimensional_target_stays_one_dimensional():
    specs, encoded, one_dimensional = encode_targets(pd.Series(["a", "b", "a"], name="t"), 3)
    assert one_dimensional and encoded.shape == (3, 1) and specs[0].name == "t"
    assert decode_outputs(specs, np.array([[1.0], [-1.0], [0.5]]), True).tolist() == ["b", "a", "b"]


@pytest.mark.parametrize(
    "Y, task_types, error, match",
    [
        (np.ones(4), "auto", FairermValueError, "single value"),
        (np.array([1, 1, 1, 1]), "binary", FairermValueError, "exactly two classes"),
        (np.array([1.0, 2.0, 3.0, 4.0]), "binary", FairermValueError, "exactly two classes"),
        (np.array(["a", "b", "c", "a"]), "auto", FairermValueError, "one-vs-rest"),
        (np.array(["a", "b", "c", "a"]), "regression", FairermTypeError, "non-numeric"),
        (np.array([2.0, 2.0, 2.0, 2.0]), "regression", FairermValueError, "constant"),
        (np.array([1.0, np.nan, 0.0, 1.0]), "auto", FairermValueError, "missing or infinite"),
        (np.array([1, 0, 1, 0], dtype=object), ["binary", "binary"], FairermValueError, "2 entries but Y has 1"),
        (np.zeros((4, 2, 2)), "auto", FairermValueError, "shape"),
        (None, "auto", FairermValueError, "Y is required"),
        (np.array([0, 1, 0, 1]), 3, FairermTypeError, "task_types"),
        (np.array([0, 1, 0, 1]), ["classification"], FairermValueError, r"task_types\[0\]"),
    ],
)
def test_bad_targets(Y, task_types, error, match):
    with pytest.raises(error, match=match):
        encode_targets(Y, 4, task_types)
