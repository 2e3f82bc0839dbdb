r"""A synthetic FERM problem as lazy dask arrays, generated chunk by chunk where it is computed.

Row :math:`i` of chunk :math:`k` comes from the generator seeded by ``(random_state, k)``, so the data
exist only while a task computes a chunk (nothing is held by the client, which is what the
out-of-core tests and ``benchmarks/dask_scaling.py`` need), and every computation of the same chunk
gives the same rows. The process: group :math:`s_i` uniform on :math:`\{0..G-1\}`, features
:math:`x_i \sim N(0, I_d)` with :math:`x_{i1} \mathrel{+}= \beta s_i`, label
:math:`y_i = 1[x_{i1} + x_{i2} + 0.5\,\xi_i > 0.5]` with :math:`\xi_i\sim N(0,1)`.
"""

from __future__ import annotations

import numpy as np

from ..exceptions import FairermValueError

__all__ = ["make_synthetic_dask"]


def _block(block_id, rows, n_features, n_groups, bias, seed, dtype):
    rng = np.random.default_rng([seed, block_id])
    s = rng.integers(0, n_groups, size=rows)
    X = rng.standard_normal((rows, n_features))
    X[:, 0] += bias * s
    y = (X[:, 0] + X[:, 1] + 0.5 * rng.standard_normal(rows) > 0.5).astype(np.float64)
    return np.column_stack([X, s, y]).astype(dtype, copy=False)


def make_synthetic_dask(n_samples: int, n_features: int = 10, *, chunk_rows: int = 100_000, n_groups: int = 2,
                        bias: float = 1.0, dtype=np.float64, random_state: int = 0):
    """``(X, y, s)``: lazy dask arrays of a synthetic two-class problem with ``n_groups`` groups.

    Parameters
    ----------
    n_samples, n_features : int
    chunk_rows : int
        Rows per chunk (the last chunk may be shorter).
    n_groups : int, >= 2
    bias : float
        Shift of the first feature per group code (0: the groups look alike).
    dtype : numpy dtype of ``X`` (float32 halves the memory of a chunk)
    random_state : int

    Returns
    -------
    X : dask array (n_samples, n_features); y : dask array of 0/1 (n_samples,); s : dask array of group codes
    """
    import dask
    import dask.array as da

    if n_samples < 2 or n_features < 2 or n_groups < 2 or chunk_rows < 1:
        raise FairermValueError(f"need n_samples >= 2, n_features >= 2, n_groups >= 2, chunk_rows >= 1; got "
                                f"{n_samples}, {n_features}, {n_groups}, {chunk_rows}.")
    sizes = [min(chunk_rows, n_samples - start) for start in range(0, n_samples, chunk_rows)]
    make = dask.delayed(_block, pure=True)
    blocks = [da.from_delayed(make(k, rows, n_features, n_groups, float(bias), int(random_state), np.dtype(dtype)),
                              shape=(rows, n_features + 2), dtype=dtype) for k, rows in enumerate(sizes)]
    table = da.concatenate(blocks, axis=0)
    return table[:, :n_features], table[:, n_features + 1].astype(np.int8), table[:, n_features].astype(np.int16)
