"""Seeds and the per-row pseudo-random draws of the barycenter post-processing.

At predict time every row gets its uniforms from a hash of its *values* (SplitMix64 over a
canonical float64 encoding of its nonzero cells), its group, the seed and its rank among identical
rows of the call: the same row gives the same output alone or in a batch, and whatever the
container (dense float64 or float32 array, DataFrame, CSR/CSC matrix) that holds the same values.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..exceptions import FairermTypeError

__all__ = ["seed_entropy", "prediction_uniforms"]


def seed_entropy(random_state: Any) -> int:
    """A non-negative integer from which every random draw of a fit and its predictions derives."""
    if random_state is None:
        return int(np.random.SeedSequence().entropy)
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool) and random_state >= 0:
        return int(random_state)
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(0, np.iinfo(np.int64).max, dtype=np.int64))
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(0, np.iinfo(np.int64).max))
    raise FairermTypeError(
        "random_state must be None, a non-negative int, a numpy RandomState or a numpy Generator; "
        f"got {random_state!r}."
    )


_GOLDEN_GAMMA = np.uint64(0x9E3779B97F4A7C15)


def _splitmix64(z: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser (Steele, Lea, Flood 2014): a bijective mixing of 64-bit words."""
    z = np.asarray(z, dtype=np.uint64) + _GOLDEN_GAMMA
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


_CHUNK_CELLS = 1 << 20


def _cell_keys(columns: np.ndarray, cell_hashes: np.ndarray) -> np.ndarray:
    """Mix each cell's column index with the hash of its value (one 64-bit word per cell)."""
    return _splitmix64(pd.util.hash_array(columns.astype(np.int64)) ^ cell_hashes)


def _accumulate(keys: np.ndarray, rows: np.ndarray, columns: np.ndarray, values: np.ndarray) -> None:
    """Add the keys of the nonzero numeric cells ``(rows, columns, values)`` to their rows' keys."""
    values = np.asarray(values, dtype=np.float64)
    nonzero = values != 0.0  # a zero is an absent cell, so dense and sparse encodings agree (also -0.0)
    np.add.at(keys, rows[nonzero], _cell_keys(columns[nonzero], pd.util.hash_array(values[nonzero])))


def _dense_numeric_keys(keys: np.ndarray, values: np.ndarray, column_offset: int) -> None:
    """Keys of the numeric block ``values`` (n, d), by chunks of rows (memory O(chunk), not n d)."""
    n, d = values.shape
    step = max(1, _CHUNK_CELLS // max(d, 1))
    for start in range(0, n, step):
        block = np.asarray(values[start:start + step], dtype=np.float64)
        rows, columns = np.nonzero(block)
        _accumulate(keys, rows + start, columns + column_offset, block[rows, columns])


def _row_keys(X: Any) -> np.ndarray:
    """A 64-bit key per row that depends on the row's values only, not on the container.

    Numeric cells are encoded as float64 and only the nonzero ones enter (sum of per-cell SplitMix64
    words), so a dense float64 array, a float32 array holding the same values, a DataFrame and a
    CSR/CSC matrix give the same keys; other cells (strings, categories) enter by the hash of the
    value, in every container.
    """
    n = X.shape[0] if hasattr(X, "shape") else len(X)
    keys = np.zeros(n, dtype=np.uint64)
    if sp.issparse(X):
        cells = sp.coo_matrix(X)
        if cells.dtype.kind in "biuf":
            _accumulate(keys, cells.row, cells.col, cells.data)
            return keys
        X = cells.toarray()
    frame = X if isinstance(X, pd.DataFrame) else None
    if frame is None:
        values = np.asarray(X)
        if values.ndim == 1:
            values = values.reshape(-1, 1)
        if values.dtype.kind in "biuf":
            _dense_numeric_keys(keys, values, 0)
            return keys
        frame = pd.DataFrame(values)
    all_rows = np.arange(n)
    for column, (_, series) in enumerate(frame.items()):
        if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
            _dense_numeric_keys(keys, series.to_numpy(dtype=np.float64).reshape(-1, 1), column)
        else:  # an object column: its numbers by the float64 route, like a numeric column's; the rest by value
            cells = series.astype(object).to_numpy()
            numeric = np.fromiter((_is_real_number(v) for v in cells), dtype=bool, count=n)
            if numeric.any():
                values = np.asarray(cells[numeric].tolist(), dtype=np.float64)
                _accumulate(keys, all_rows[numeric], np.full(int(numeric.sum()), column), values)
            other = ~numeric
            if other.any():
                keys[other] += _cell_keys(np.full(int(other.sum()), column), pd.util.hash_array(cells[other]))
    return keys


def _is_real_number(value: Any) -> bool:
    """Whether an object cell holds a real number (bools included, as in a numeric column; NaN too)."""
    return isinstance(value, (numbers.Real, np.bool_)) and not isinstance(value, (np.datetime64, np.timedelta64))


def prediction_uniforms(X: Any, codes: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two U[0, 1) draws per row, a deterministic function of (row content, group, seed, rank of
    the row among identical rows of ``X``)."""
    keys = _row_keys(X) ^ _splitmix64(codes.astype(np.uint64))
    rank = pd.Series(keys).groupby(keys).cumcount().to_numpy(dtype=np.uint64)
    state = _splitmix64(keys ^ _splitmix64(np.uint64(seed & 0xFFFFFFFFFFFFFFFF) + rank * _GOLDEN_GAMMA))
    first = _splitmix64(state)
    second = _splitmix64(first)
    return (first >> np.uint64(11)) * 2.0**-53, (second >> np.uint64(11)) * 2.0**-53
