"""Bad inputs of :func:`fairerm.datasets.make_synthetic` and :func:`fairerm.datasets.make_preprocessor`: refused
up front with a message that names the argument, what was received and what is allowed."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

import fairerm._memory
from fairerm.datasets import make_preprocessor, make_synthetic
from fairerm.exceptions import FairermTypeError, FairermValueError, MemoryBudgetError


# ---------------------------------------------------------------- make_synthetic: memory and random_state

def test_make_synthetic_refuses_an_allocation_larger_than_the_memory_up_front(monkeypatch):
    monkeypatch.setattr(fairerm._memory, "available_memory_bytes", lambda: 2**30)
    with pytest.raises(MemoryBudgetError, match=r"make_synthetic\(n_samples=1000, n_features=1000000000000\) needs "
                                                r".* but only 1\.0 GiB of memory is available"):
        make_synthetic(1000, n_features=10**12)
    with pytest.raises(MemoryBudgetError, match=r"n_samples=100000000"):
        make_synthetic(10**8, n_features=10, random_state=0)
    assert make_synthetic(1000, n_features=10, random_state=0).data.shape == (1000, 11)  # 80 kB: fine


def test_make_synthetic_memory_error_is_also_a_memory_error_and_a_value_error():
    with pytest.raises(MemoryError):
        make_synthetic(1000, n_features=10**12)
    with pytest.raises(ValueError, match="make_synthetic"):
        make_synthetic(1000, n_features=10**12)


@pytest.mark.parametrize("random_state, error", [
    ("x", FairermTypeError), (1.5, FairermTypeError), ([0, 1], FairermTypeError), (object(), FairermTypeError),
    (-1, FairermValueError), (2**32, FairermValueError),
])
def test_make_synthetic_names_random_state(random_state, error):
    message = (r"random_state must be None, an integer in \[0, 4294967295\], a numpy Generator or RandomState; "
               rf"got {re.escape(repr(random_state))}")
    with pytest.raises(error, match=message):
        make_synthetic(50, random_state=random_state)


def test_make_synthetic_streams_of_valid_random_states_are_unchanged():
    reference = make_synthetic(40, n_features=3, random_state=np.random.RandomState(7))
    for state in (7, np.int64(7), np.random.RandomState(7)):
        pd.testing.assert_frame_equal(make_synthetic(40, n_features=3, random_state=state).frame, reference.frame)
    pd.testing.assert_frame_equal(make_synthetic(40, n_features=3, random_state=np.random.default_rng(3)).frame,
                                  make_synthetic(40, n_features=3, random_state=np.random.default_rng(3)).frame)
    assert make_synthetic(40, random_state=None).data.shape == (40, 6)
    assert make_synthetic(40, random_state=2**32 - 1).data.shape == (40, 6)
    # the first rows of seed 0, as drawn before these checks existed
    first = make_synthetic(5, n_features=2, random_state=0).frame
    rng = np.random.RandomState(0)
    in_b = np.zeros(5, dtype=bool)
    in_b[:2] = True
    in_b = in_b[rng.permutation(5)]
    x = rng.standard_normal((5, 2)) - np.outer(in_b, [1.0, 1.0])
    np.testing.assert_array_equal(first[["x0", "x1"]].to_numpy(), x)


# ---------------------------------------------------------------- make_preprocessor: categorical_features

def test_make_preprocessor_takes_a_string_as_one_column_name():
    data = make_synthetic(50, random_state=0)
    one = make_preprocessor(data, categorical_features="group").fit_transform(data.data)
    listed = make_preprocessor(data, categorical_features=["group"]).fit_transform(data.data)
    np.testing.assert_array_equal(one, listed)
    assert one.shape == (50, 7)  # x0 ... x4 and group a / b
    with pytest.raises(FairermValueError, match=r"categorical_features names columns that are not in the data: "
                                                r"\['grp'\]"):
        make_preprocessor(data, categorical_features="grp")


def test_make_preprocessor_refuses_repeated_categorical_features():
    data = make_synthetic(50, random_state=0)
    with pytest.raises(FairermValueError, match=r"categorical_features must name each column once; got "
                                                r"\['group', 'x0', 'group'\] \(repeated: \['group'\]\)"):
        make_preprocessor(data, categorical_features=["group", "x0", "group"])


@pytest.mark.parametrize("bad", [5, 1.5, b"group", True])
def test_make_preprocessor_refuses_a_categorical_features_that_is_not_names(bad):
    data = make_synthetic(50, random_state=0)
    with pytest.raises(FairermTypeError, match=r"categorical_features must be a column name or a sequence of column "
                                               r"names; got "):
        make_preprocessor(data, categorical_features=bad)
